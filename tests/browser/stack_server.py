"""The local stack for the browser tests, in its own process: `harness.demo.start` (moto's server, the handlers,
the Chalice app on 127.0.0.1:PORT), then one JSON command a line on stdin, one JSON answer a line on stdout.

Its own process because the stack sets AWS_ENDPOINT_URL and installs the moto shims process-wide, which the
in-process `stack` fixture of the other tests must not inherit. Commands (the scripted people of harness/driver.py):

- `{"op": "report", "employee": ..., "title": ..., "vendor": ..., "items": [[name, price], ...], "km": ...,
  "edits": {...}}`: a receipt uploaded and read, corrected by the employee with `edits` (PATCH /expenses/{id}
  fields, optional), put in a new claim with a mileage line (none when `km` is 0 or absent), submitted; answers
  the claim id and the level-1 approver's link from the approver inbox (the local stand-in for their e-mail).
- `{"op": "stop"}`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-port", type=int, required=True)
    args = parser.parse_args(argv)
    # stdout is the answers' channel only: the handlers' logs (Powertools writes to stdout) go to stderr
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("werkzeug", "hk-expense", "hk-expense-approval"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from harness.demo import start
    from harness.sample_receipts import receipt_png

    running = start(args.api_port)
    driver = running.driver
    answers.write(json.dumps({"ready": running.base}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "stop":
                break
            if command["op"] != "report":
                raise ValueError(f"unknown op {command['op']}")
            who = command["employee"]
            png = receipt_png(command["vendor"], date(2026, 11, 20), [tuple(x) for x in command["items"]])
            expense_id = driver.upload(who, png, "receipt.png", "image/png")
            driver.wait_expense(who, expense_id)
            if command.get("edits"):
                status, body = driver.edit_expense(who, expense_id, command["edits"])
                assert status == 200, body
            status, claim = driver.create_claim(who, command["title"], [expense_id], purpose="client visit 客戶拜訪")
            assert status == 201, claim
            if command.get("km"):
                status, body = driver.add_line(who, claim["claim_id"], {
                    "kind": "mileage", "vehicle": "private_car", "distance_km": str(command["km"]),
                    "date": "2026-11-20", "description": "Office → client 公司 → 客戶"})
                assert status == 201, body
            status, body = driver.submit(who, claim["claim_id"])
            assert status == 200, body
            message = driver.approval_message(claim["claim_id"], 1, seconds=60)
            answers.write(json.dumps({"claim_id": claim["claim_id"], "link": message["link"]}) + "\n")
        except Exception as exc:  # the test reads the failure as an answer, and the traceback on stderr
            traceback.print_exc()
            answers.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
