"""The local stack for the browser tests, in its own process: `harness.demo.start` (moto's server, the handlers,
the Chalice app on 127.0.0.1:PORT), then one JSON command a line on stdin, one JSON answer a line on stdout.

Its own process because the stack sets AWS_ENDPOINT_URL and installs the moto shims process-wide, which the
in-process `stack` fixture of the other tests must not inherit. Commands (the scripted people of harness/driver.py):

- `{"op": "report", "employee": ..., "title": ..., "vendor": ..., "items": [[name, price], ...], "km": ...,
  "edits": {...}}`: a receipt uploaded and read, corrected by the employee with `edits` (PATCH /expenses/{id}
  fields, optional), put in a new claim with a mileage line (none when `km` is 0 or absent), submitted; answers
  the claim id, the level-1 approver's link from the approver inbox (the local stand-in for their e-mail), and
  the receipt's expense id.
  With `"beside": {"vendor": ..., "items": [...]}` the upload is one photo of two receipts side by side: both
  become expenses of the claim (answers `expense_ids`, left one first).
- `{"op": "hosted_ui", "domain": ...}`: the stage's Hosted UI domain from now on ("" for none): the sign-in page
  and its CSP as a deployed stage's (the browser test stands in for the Hosted UI itself).
- `{"op": "decide", "link": ..., "decision": "approve" | "reject" | "return", "comment": ...,
  "fix_expenses": [expense id, ...], "disallow": [{"expense_id": ..., "line": n, "reason": ...}, ...]}`: the
  link's holder decides in their own signed-in session (as large or high-risk claims need); answers the status.
- `{"op": "draft", "employee": ..., "title": ..., "vendor": ..., "items": [[name, price], ...]}`: an empty draft
  claim and, outside it, a receipt uploaded and read; answers the claim id and the receipt's expense id.
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
from urllib.parse import urlparse


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
            if command["op"] == "hosted_ui":  # the stage's Hosted UI domain ("" for none), as a deployed stage has
                from chalicelib import bootstrap

                c = bootstrap.container()
                c.settings.auth_hosted_ui_domain = command["domain"]
                c.__dict__.pop("security_headers", None)  # its CSP names the domain
                answers.write(json.dumps({"hosted_ui": command["domain"]}) + "\n")
                continue
            if command["op"] == "decide":
                answers.write(json.dumps(decide(driver, command)) + "\n")
                continue
            if command["op"] not in ("report", "draft"):
                raise ValueError(f"unknown op {command['op']}")
            who = command["employee"]
            png = receipt_png(command["vendor"], date(2026, 11, 20), [tuple(x) for x in command["items"]])
            if command.get("beside"):
                other = command["beside"]
                png = side_by_side(png, receipt_png(other["vendor"], date(2026, 11, 21),
                                                    [tuple(x) for x in other["items"]]))
            expense_id = driver.upload(who, png, "receipt.png", "image/png")
            driver.wait_expense(who, expense_id)
            expense_ids = [expense_id]
            if command.get("beside"):  # the right-hand receipt was split off the same upload
                from chalicelib.services.extraction import part_expense_id

                expense_ids.append(part_expense_id(expense_id, 1))
            if command["op"] == "draft":
                status, claim = driver.create_claim(who, command["title"], [], purpose="site visit 實地考察")
                assert status == 201, claim
                answers.write(json.dumps({"claim_id": claim["claim_id"], "expense_id": expense_id}) + "\n")
                continue
            if command.get("edits"):
                status, body = driver.edit_expense(who, expense_id, command["edits"])
                assert status == 200, body
            status, claim = driver.create_claim(who, command["title"], expense_ids, purpose="client visit 客戶拜訪")
            assert status == 201, claim
            if command.get("km"):
                status, body = driver.add_line(who, claim["claim_id"], {
                    "kind": "mileage", "vehicle": "private_car", "distance_km": str(command["km"]),
                    "date": "2026-11-20", "description": "Office → client 公司 → 客戶"})
                assert status == 201, body
            status, body = driver.submit(who, claim["claim_id"])
            assert status == 200, body
            message = driver.approval_message(claim["claim_id"], 1, seconds=60)
            answers.write(json.dumps({"claim_id": claim["claim_id"], "link": message["link"],
                                      "expense_id": expense_id, "expense_ids": expense_ids}) + "\n")
        except Exception as exc:  # the test reads the failure as an answer, and the traceback on stderr
            traceback.print_exc()
            answers.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
    running.stop()
    return 0


def side_by_side(left: bytes, right: bytes) -> bytes:
    """One phone photo of two receipts laid side by side on a desk."""
    import io

    from PIL import Image

    a, b = Image.open(io.BytesIO(left)).convert("RGB"), Image.open(io.BytesIO(right)).convert("RGB")
    desk = Image.new("RGB", (a.width + b.width + 120, max(a.height, b.height) + 60), (96, 96, 100))
    desk.paste(a, (30, 30))
    desk.paste(b, (a.width + 90, 30))
    out = io.BytesIO()
    desk.save(out, "PNG")
    return out.getvalue()


def decide(driver, command: dict) -> dict:
    """The approver's decision through their link, signed in as its holder."""
    link = command["link"]
    body = {"decision": command["decision"], "comment": command.get("comment", "")}
    for optional in ("fix_expenses", "disallow"):
        if command.get(optional):
            body[optional] = command[optional]
    status, answer = driver.call("POST", f"{urlparse(link).path}/decision", body,
                                 driver.auth(driver.link_holder(link)))
    assert status == 200, answer
    return {"status": answer["status"]}


if __name__ == "__main__":
    sys.exit(main())
