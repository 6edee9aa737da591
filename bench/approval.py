"""Approval workflow benchmark through the local stack (moto's server, the real handlers and state machines).

Measured for real, over HTTP, on claims (reports) of 1-12 expenses: up to three uploaded receipts read by the
OCR, the rest mileage, per-diem and lost-receipt lines:
- first upload -> first approver notified, and submit -> first approver notified, p50/p95 seconds;
- decisions/s through the API (each link clicked twice at once, then replayed: zero duplicate decisions allowed);
- lost executions: claims of the run that did not reach posted/rejected (zero allowed).

Modelled (labelled as such): submit -> decided for a simulated working day, from the pipeline's own routing (how
many steps each claim needed) and reminder plans (`chalicelib.domain.schedule`), with approvers who open a push
after a log-normal delay and answer sooner once an SMS or a call reaches them. Hours are wall-clock hours in
Hong Kong, working hours and holidays included, compared with the 48-hour approval KPI.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.e2e import percentile
from chalicelib.domain.schedule import ReminderPolicy, next_working_moment
from chalicelib.services.reminders import is_public_holiday
from harness.demo import _free_port, start
from harness.driver import Timeout, wait_for
from harness.sample_receipts import receipt_png

EMPLOYEES = ("E201", "E202", "E300", "E121")
_HK = ZoneInfo("Asia/Hong_Kong")
CATEGORIES = ("meals", "taxi", "travel", "entertainment", "general")


def simulated_hours_to_decision(steps: int, submitted: datetime, rng: random.Random, policy: ReminderPolicy,
                                reminders: bool = True) -> float:
    """One claim's hours from submission to its last decision, under the response model described above
    (`reminders=False`: the same approvers with a push notification only, the baseline reminders are judged by)."""
    at = submitted
    for _ in range(steps):
        notified = next_working_moment(at, "Asia/Hong_Kong", policy, is_public_holiday)
        # push alone: median 3 working hours; an SMS (after 30 min) and a call (2 h later) cut the wait
        wait_h = rng.lognormvariate(math.log(3.0), 0.9)
        if not reminders:
            at = _add_working_hours(notified, wait_h, policy)
            continue
        sms_h = policy.sms_after_seconds / 3600
        voice_h = sms_h + policy.voice_after_seconds / 3600
        if wait_h > sms_h:
            wait_h = sms_h + (wait_h - sms_h) * 0.5
        if wait_h > voice_h:
            wait_h = voice_h + rng.uniform(0.05, 0.5)
        at = _add_working_hours(notified, wait_h, policy)
    return (at - submitted).total_seconds() / 3600


def _add_working_hours(start: datetime, hours: float, policy: ReminderPolicy) -> datetime:
    at, left = start, timedelta(hours=hours)
    while left > timedelta(0):
        at = next_working_moment(at, "Asia/Hong_Kong", policy, is_public_holiday)
        local_end = at.astimezone(_HK).replace(hour=policy.workday_end.hour, minute=0, second=0, microsecond=0)
        step = min(left, local_end - at.astimezone(_HK))
        at, left = at + step, left - step
        if left > timedelta(0):
            at = at + timedelta(minutes=1)
    return at


def next_step(driver, employee: str, claim_id: str, level: int) -> dict | None:
    """The notification for the next level, or None once the claim has left approval (no further step)."""
    from harness.driver import wait_for

    def ready():
        try:
            return driver.approval_message(claim_id, level=level, seconds=0.01)
        except AssertionError:
            status = driver.claim(employee, claim_id)["status"]
            return "done" if status in {"approved", "posted", "rejected", "failed"} else None

    found = wait_for(ready, seconds=60)
    return None if found == "done" else found


def _upload_receipt(driver, employee: str, rng: random.Random, name: str) -> tuple[str, dict]:
    """One photographed receipt: uploaded now, read by the OCR while the rest of the claim is filed."""
    amount = f"{rng.choice([45, 88, 120, 380, 960, 2400, 5600])}.{rng.randint(0, 99):02d}"
    when = date(2026, 11, 2) + timedelta(days=rng.randint(0, 19))
    png = receipt_png(f"Vendor {name} 商戶", when, [("Item 項目", amount)])
    expense_id = driver.upload(employee, png, f"r{name}.png", "image/png")
    return expense_id, {"total": amount, "currency": "HKD", "vendor": f"Vendor {name}",
                        "receipt_date": when.isoformat(), "category": rng.choice(CATEGORIES)}


def _lines(rng: random.Random, count: int) -> list[dict]:
    """The expenses without a receipt a trip has: mileage, per diem, a lost taxi receipt."""
    day = date(2026, 11, 2) + timedelta(days=rng.randint(0, 19))
    kinds = [
        {"kind": "mileage", "vehicle": "private_car", "distance_km": str(rng.randint(5, 120)),
         "date": day.isoformat(), "description": "client visit 客戶拜訪"},
        {"kind": "per_diem", "destination": rng.choice(["CN-SZ", "MO", "HK"]), "days": str(rng.randint(1, 3)),
         "date": day.isoformat(), "meals_provided": {"breakfast": 1}},
        {"kind": "lost_receipt", "vendor": "Taxi 的士", "date": day.isoformat(), "amount": str(rng.randint(40, 180)),
         "category": "taxi", "reason": "the driver had no printer"},
    ]
    return [rng.choice(kinds) for _ in range(count)]


def _file_claim(driver, employee: str, rng: random.Random, i: int, receipts: list[tuple[str, dict]],
                size: int) -> str:
    """Wait for the receipts to be read, correct them as the employee would, build the claim, submit it."""
    auth = driver.auth(employee)
    for expense_id, truth in receipts:
        wait_for(lambda e=expense_id: _expense_status(driver, employee, e) in {"extracted", "needs_review",
                                                                              "failed"}, 120)
        status, body = driver.call("PATCH", f"/expenses/{expense_id}", truth, auth)
        assert status == 200, body
    status, body = driver.call("POST", "/claims", {"title": f"Bench claim {i} 報銷單",
                                                   "expense_ids": [e for e, _ in receipts]}, auth)
    assert status == 201, body
    claim_id = body["claim_id"]
    for line in _lines(rng, size - len(receipts)):
        status, body = driver.call("POST", f"/claims/{claim_id}/expenses", {"line": line}, auth)
        assert status == 201, body
    status, body = driver.call("POST", f"/claims/{claim_id}/submit", {"purpose": "bench"}, auth)
    assert status == 200, body
    return claim_id


def _expense_status(driver, employee: str, expense_id: str) -> str:
    status, body = driver.call("GET", f"/expenses/{expense_id}", None, driver.auth(employee))
    return body.get("status", f"http {status}") if status == 200 else f"http {status}"


def _needs_sign_in(message: dict) -> bool:
    claim = message["claim"]
    return float(claim.get("hkd_total") or 0) > 5000 or (claim.get("risk_score") or 0) >= 0.7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("werkzeug", "hk-expense", "hk-expense-approval", "hk-expense-reminders", "chalicelib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # stdout holds only `name: value unit` lines
    rng = random.Random(args.seed)

    running = start(_free_port())
    driver = running.driver
    first_notified: list[float] = []
    submit_to_notified: list[float] = []
    expenses_per_claim: list[int] = []
    steps_by_claim: dict[str, int] = {}
    submitted_claims: list[str] = []
    uploaded: list[tuple[str, str]] = []
    stalled: list[str] = []
    duplicate_decisions = 0
    decisions = 0
    decide_seconds = 0.0
    try:
        began = time.monotonic()
        for i in range(args.claims):
            employee = EMPLOYEES[i % len(EMPLOYEES)]
            size = rng.randint(1, 12)
            started = time.monotonic()
            receipts = [_upload_receipt(driver, employee, rng, f"{i}-{k}") for k in range(min(size, rng.randint(1, 3)))]
            uploaded.extend((employee, expense_id) for expense_id, _ in receipts)
            try:
                claim_id = _file_claim(driver, employee, rng, i, receipts, size)
                submitted_at = time.monotonic()
                submitted_claims.append(claim_id)
                expenses_per_claim.append(size)
                message = driver.approval_message(claim_id, level=1, seconds=120)
            except Timeout as exc:  # counted, and its final state checked below: the run goes on
                stalled.append(f"claim {i}: {exc}")
                continue
            submit_to_notified.append(time.monotonic() - submitted_at)
            first_notified.append(time.monotonic() - started)
            level, steps = 1, 0
            while message is not None:
                steps += 1
                verdict = "reject" if rng.random() < 0.05 else "approve"
                results: list[int] = []
                t0 = time.monotonic()
                # above the link-only amount or at high risk the approver decides signed in (step-up)
                holder = driver.link_holder(message["link"]) if _needs_sign_in(message) else None
                clicks = [threading.Thread(target=lambda m=message, v=verdict, h=holder, out=results: out.append(
                    driver.decide(m["link"], v, "bench", signed_in_as=h)[0])) for _ in range(2)]
                for c in clicks:
                    c.start()
                for c in clicks:
                    c.join()
                results.append(driver.decide(message["link"], verdict, "replay", signed_in_as=holder)[0])
                decide_seconds += time.monotonic() - t0
                decisions += 1
                duplicate_decisions += max(0, results.count(200) - 1)
                if verdict == "reject":
                    break
                level += 1
                try:
                    message = next_step(driver, employee, claim_id, level)
                except Timeout as exc:
                    stalled.append(f"{claim_id} level {level}: {exc}")
                    break
            steps_by_claim[claim_id] = steps
            if (i + 1) % 50 == 0:
                print(f"# {i + 1} claims in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)

        def settled() -> bool:
            return all(driver.claim("E900", cid)["status"] in {"posted", "rejected"} for cid in submitted_claims)

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not settled():
            time.sleep(0.5)
        finals = Counter(driver.claim("E900", cid)["status"] for cid in submitted_claims)
        attached = {e["expense_id"] for cid in submitted_claims for e in driver.claim("E900", cid)["expenses"]}
        never_submitted = Counter(_expense_status(driver, emp, eid) for emp, eid in uploaded if eid not in attached)
    finally:
        running.stop()

    policy = ReminderPolicy()
    day = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 HKT on a Wednesday
    starts = [(steps, day + timedelta(minutes=rng.uniform(0, 9 * 60)), rng.random())
              for steps in steps_by_claim.values()]
    # paired: each claim meets the same approvers (same random draws) with and without the reminder ladder
    simulated = [simulated_hours_to_decision(n, at, random.Random(seed), policy) for n, at, seed in starts]
    push_only = [simulated_hours_to_decision(n, at, random.Random(seed), policy, reminders=False)
                 for n, at, seed in starts]
    lost = sum(n for status, n in finals.items() if status not in ("posted", "rejected"))
    print(f"approval_claims: {len(submitted_claims)} count")
    print(f"approval_mean_expenses_per_claim: {statistics.mean(expenses_per_claim or [0]):.2f} expenses")
    print(f"approval_max_expenses_per_claim: {max(expenses_per_claim or [0])} expenses")
    notified = first_notified or [math.nan]  # nothing notified at all still prints every line
    print(f"approval_upload_to_first_notification_p50_s: {statistics.median(notified):.3f} s")
    print(f"approval_upload_to_first_notification_p95_s: {percentile(notified, 95):.3f} s")
    after_submit = submit_to_notified or [math.nan]
    print(f"approval_submit_to_first_notification_p50_s: {statistics.median(after_submit):.3f} s")
    print(f"approval_submit_to_first_notification_p95_s: {percentile(after_submit, 95):.3f} s")
    print(f"approval_decisions_per_s: {decisions / decide_seconds if decide_seconds else 0.0:.1f} decisions/s")
    print(f"approval_duplicate_decisions: {duplicate_decisions} count")
    print(f"approval_lost_executions: {lost} count")
    print(f"approval_stalled_waits: {len(stalled)} count")
    for line in stalled:
        print(f"#   stalled {line}", file=sys.stderr)
    print(f"approval_uploads_not_submitted: {sum(never_submitted.values())} count")
    if never_submitted:
        print(f"#   not submitted, by status: {dict(never_submitted)}", file=sys.stderr)
    print(f"approval_final_posted: {finals.get('posted', 0)} count")
    print(f"approval_final_rejected: {finals.get('rejected', 0)} count")
    print(f"approval_steps_mean: {statistics.mean(steps_by_claim.values()):.2f} steps")
    print(f"approval_simulated_median_hours_to_decision: {statistics.median(simulated):.1f} h")
    print(f"approval_simulated_p90_hours_to_decision: {percentile(simulated, 90):.1f} h")
    print(f"approval_simulated_within_48h: {sum(h <= 48 for h in simulated) / len(simulated):.3f} ratio")
    print(f"approval_simulated_push_only_median_hours: {statistics.median(push_only):.1f} h")
    print(f"approval_simulated_push_only_p90_hours: {percentile(push_only, 90):.1f} h")
    faster = 1 - statistics.mean(simulated) / statistics.mean(push_only)
    print(f"approval_simulated_mean_time_saved_by_reminders: {faster:.3f} ratio")
    return 0 if lost == 0 and duplicate_decisions == 0 and not never_submitted else 1


if __name__ == "__main__":
    raise SystemExit(main())
