"""Upload -> first approver notification, through the local stack over HTTP (moto server, real handlers).

Prints `name: value unit` lines. Each receipt is a fresh generated image, uploaded with its presigned URL,
extracted by the OCR Lambda, submitted by the employee, scored, routed; the clock stops when the approver's
notification arrives in the (local-only) approver inbox.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from datetime import date, timedelta

from harness.demo import _free_port, start
from harness.sample_receipts import receipt_png


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("werkzeug", "hk-expense", "hk-expense-approval"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # stdout holds only `name: value unit` lines

    running = start(_free_port())
    driver = running.driver
    totals, to_extracted = [], []
    try:
        for i in range(args.receipts):
            amount = f"{50 + i * 7}.50"
            png = receipt_png(f"Bench Café {i} 咖啡店", date(2026, 11, 1) + timedelta(days=i % 20),
                              [("Coffee 咖啡", amount)])
            started = time.monotonic()
            expense_id = driver.upload("E201", png, f"bench-{i}.png", "image/png")
            driver.wait_expense("E201", expense_id, {"extracted", "needs_review", "failed"}, seconds=120)
            to_extracted.append(time.monotonic() - started)
            status, body = driver.submit_alone("E201", expense_id, {
                "category": "meals", "total": amount, "vendor": f"Bench Café {i}", "currency": "HKD",
                "receipt_date": (date(2026, 11, 1) + timedelta(days=i % 20)).isoformat()})
            assert status == 201, body
            claim_id = body["claim_id"]
            driver.approval_message(claim_id, level=1, seconds=120)
            totals.append(time.monotonic() - started)
    finally:
        running.stop()
    print(f"e2e_receipts: {len(totals)} count")
    print(f"e2e_upload_to_extracted_p50_s: {statistics.median(to_extracted):.3f} s")
    print(f"e2e_upload_to_first_notification_p50_s: {statistics.median(totals):.3f} s")
    print(f"e2e_upload_to_first_notification_p95_s: {percentile(totals, 95):.3f} s")
    print(f"e2e_upload_to_first_notification_max_s: {max(totals):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
