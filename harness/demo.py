"""`make demo`: the local stack on moto's server, sample receipts through every stage, the API and dashboard.

Everything runs in this process: moto's threaded server on 127.0.0.1 (so a browser can follow the presigned
upload URLs and approval links), the project's handlers invoked by moto through harness/lambda_shim.py, and the
Chalice app on Chalice's local server. Sample receipts are generated, uploaded, submitted and decided over HTTP,
as an employee and the approvers would.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_aws(moto_port: int):
    """moto's server in this process, Step Functions executing for real, Lambda handlers in-process."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 (moto accepts any) AWS_DEFAULT_REGION="ap-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}", MOTO_PORT=str(moto_port),
    )
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    from harness import dynamodb_shim, lambda_shim, s3_shim

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    lambda_shim.install()
    dynamodb_shim.install()
    s3_shim.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    server.start()
    return server


#: The local API's request log. Approval links (`/approvals/<token>`) are credentials: whoever holds one can
#: decide the claim, so the filter below rewrites every token to `{token}` before any handler sees the line.
request_log = logging.getLogger("hk-expense.local-api")
_APPROVAL_TOKEN = re.compile(r"(/approvals/)[^/\s\"'?#]+")


class RedactApprovalTokens(logging.Filter):
    """Redacts `/approvals/<token>` in a record's message, formatted with its arguments first."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _APPROVAL_TOKEN.sub(r"\1{token}", record.getMessage())
        record.args = None
        return True


request_log.addFilter(RedactApprovalTokens())
request_log.setLevel(logging.WARNING)  # `--verbose`: one line per request, as Chalice's server printed them


def _request_handler(app, config):
    """Chalice's request handler, its log lines (BaseHTTPRequestHandler writes them to stderr itself) sent to
    `request_log` instead, where the filter redacts approval tokens."""
    from chalice.local import ChaliceRequestHandler

    class Handler(ChaliceRequestHandler):
        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's signature)
            request_log.info("%s - %s", self.address_string(), format % args)

    return functools.partial(Handler, app_object=app, config=config)


def start_api(port: int):
    """Chalice's local server on 127.0.0.1:`port` in a daemon thread; returns it (`.server.shutdown()` stops)."""
    from chalice.config import Config
    from chalice.local import create_local_server

    from app import app

    config = Config.create(chalice_stage="local", app_name="hk-expense")
    server = create_local_server(app, config, "127.0.0.1", port)
    server.server.RequestHandlerClass = _request_handler(app, config)
    # `server.server` is the HTTP server itself: LocalDevServer.serve_forever would also print to stdout, which
    # the benchmarks keep for their `name: value unit` lines (the demo prints the dashboard URL itself)
    threading.Thread(target=server.server.serve_forever, daemon=True, name="chalice-local").start()
    return server


def http_call(base: str):
    session = requests.Session()

    def call(method: str, path: str, body: dict | None, headers: dict) -> tuple[int, dict]:
        resp = session.request(method, base + path, json=body, headers=headers, timeout=120)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, {"raw": resp.text}

    return call


@dataclass
class Running:
    """The whole local stack, up: moto's server, the resources, the sample organisation and the API."""

    server: object
    stack: object
    driver: object
    base: str
    moto_port: int

    def stop(self) -> None:
        from harness import lambda_shim

        lambda_shim.drain(30)
        self.server.stop()


def start(api_port: int) -> Running:
    moto_port = _free_port()
    base = f"http://127.0.0.1:{api_port}"
    server = start_local_aws(moto_port)

    from chalicelib import bootstrap
    from harness import sample_org
    from harness.driver import Driver
    from harness.local_stack import LocalStack

    stack = LocalStack(public_base_url=base).create()
    bootstrap.reset()
    sample_org.load(bootstrap.container().directory)
    start_api(api_port)
    return Running(server, stack, Driver(http_call(base), stack), base, moto_port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="run the sample receipts, print the summary, exit")
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("DEMO_API_PORT", "8000")))
    parser.add_argument("--verbose", action="store_true", help="print every request and the functions' INFO logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("werkzeug", "hk-expense", "hk-expense-approval"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.verbose:  # every request (approval tokens redacted) and the functions' INFO logs and metrics
        request_log.setLevel(logging.INFO)
    else:  # the demo prints its own summary
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

    from harness import sample_org
    from harness.sample_receipts import SCENARIOS, TRIP_TITLE, play, play_trip

    running = start(args.api_port)
    started = time.monotonic()
    results = play(running.driver, SCENARIOS)
    trip = play_trip(running.driver)
    summary = {"claims": results, "by_status": dict(Counter(results.values())),
               "trip": {k: trip[k] for k in ("claim_id", "status", "advance_id", "advance_status")}}
    print("Summary: " + json.dumps(summary, ensure_ascii=False))
    print(f"processed {len(results)} single-receipt claims and 1 trip claim in {time.monotonic() - started:.1f}s")
    _print_claims(running, results)
    print(f"  {trip['claim_id']}  {trip['status']:<9} {TRIP_TITLE}: {trip['expenses']} expenses, {trip['amounts']}"
          f" = HKD {trip['hkd_total']}; advance {trip['advance_id']} {trip['advance_status']}")
    print(f"Dashboard: {running.base}/   (sign in as E300, finance for HK Sales; E900 is admin)")
    print(f"Sign in:   {running.base}/signin   employee id (E201, E300, E900, ...) and the local password "
          f"{sample_org.LOCAL_PASSWORD}")
    print(f"API:       {running.base}/claims   local AWS (moto): http://127.0.0.1:{running.moto_port}")
    ok = all(results[cid] == expected for cid, expected in _expected(results, SCENARIOS).items())
    ok = ok and trip["status"] == "posted"
    if not ok:
        print("UNEXPECTED: some claims did not end as the scenarios expect", file=sys.stderr)
    if args.once:
        running.stop()
        return 0 if ok else 1
    print("Serving; Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()
    return 0


def _print_claims(running: Running, results: dict[str, str]) -> None:
    """One line per claim, as finance would read it (admin view)."""
    for claim_id in results:
        status, c = running.driver.call("GET", f"/claims/{claim_id}", None, running.driver.auth("E900"))
        if status != 200:  # a receipt that could not be read is an expense, never a claim
            print(f"  {claim_id}  {results[claim_id]:<9} (the receipt could not be read)")
            continue
        total = "-"
        if len(c["expenses"]) == 1 and c["expenses"][0].get("total"):
            receipt = c["expenses"][0]
            total = f"{receipt['total']['currency']} {receipt['total']['amount']}"
            cut = [li for li in receipt.get("line_items") or [] if li.get("disallowed_reason")]
            if cut:
                kept = Decimal(receipt["total"]["amount"]) - sum(Decimal(li["amount"]["amount"]) for li in cut)
                total += f" (pays {kept:.2f}: {len(cut)} line disallowed)"
        elif c["expenses"]:
            total = c["summary"]["amounts"]
        risk = "; ".join(r.split(" / ")[0] for r in c.get("risk_reasons") or []) or "no risk flags"
        signers = ",".join(f"L{d['level']}:{d['approver_id']}:{d['decision']}" for d in c.get("decisions", []))
        print(f"  {claim_id}  {c['status']:<9} {total:>14}  {(c['summary']['title'] or '')[:28]:<28} {signers}"
              f"  [{risk}]")


def _expected(results: dict[str, str], scenarios: list) -> dict[str, str]:
    return {cid: s.expected for cid, s in zip(results, scenarios, strict=True)}


if __name__ == "__main__":
    sys.exit(main())
