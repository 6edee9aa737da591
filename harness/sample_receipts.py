"""Sample receipts for the demo, the benchmark and the pipeline tests, and the play-through of each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from harness.driver import Driver, wait_for
from tools.receipt_generator import ReceiptSpec, render_receipt


def receipt_png(vendor: str, when: date, items: list[tuple[str, str]], currency: str = "HKD") -> bytes:
    """A clean printed receipt from the project's labelled-receipt generator (day-first date, 總額 TOTAL)."""
    chinese, _, english = vendor.partition(" ") if not vendor.isascii() else ("", "", vendor)
    # each receipt its own number, as a shop prints: one number on two different receipts is a duplicate claim
    number = int(hashlib.sha256(repr((vendor, when, items, currency)).encode()).hexdigest()[:8], 16) % 100000
    spec = ReceiptSpec(vendor=chinese or english, vendor_en=english or None, date=when,
                       items=[(name, Decimal(price)) for name, price in items], currency=currency, date_style="dmy",
                       receipt_no=f"A{number:05d}")
    return render_receipt(spec)


@dataclass
class Scenario:
    employee: str
    vendor: str
    when: date
    items: list[tuple[str, str]]
    category: str
    decisions: tuple[str, ...]  # what the approvers answer, level by level
    expected: str
    currency: str = "HKD"
    purpose: str = ""
    duplicate_of: int | None = None  # index of an earlier scenario whose file is uploaded again
    disallow: dict[int, str] | None = None  # partial approval at level 1: receipt line -> reason


SCENARIOS = [
    Scenario("E201", "翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3),
             [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")], "meals", ("approve",), "posted",
             purpose="client lunch 客戶午餐"),
    Scenario("E202", "香港君悅酒店 Grand Hyatt Hong Kong", date(2026, 11, 10), [("Client dinner 商務晚宴", "6800.00")],
             "entertainment", ("approve", "approve"), "posted", purpose="year-end client dinner"),
    Scenario("E201", "翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [], "meals", ("reject",), "rejected",
             purpose="claimed twice", duplicate_of=0),
    Scenario("E121", "深圳灣萬豪酒店 Shenzhen Bay Marriott", date(2026, 11, 12), [("Taxi 的士", "86.00")],
             "taxi", ("approve",), "posted", currency="CNY"),
    Scenario("E202", "城市的士 City Taxi", date(2026, 11, 14), [("Taxi 的士", "128.50")], "taxi", ("reject",),
             "rejected", purpose="personal trip"),
    Scenario("E300", "澳門美高梅 MGM Macau", date(2026, 11, 17),
             [("客房 Room", "1680.00"), ("迷你吧 Minibar", "240.00")], "travel", ("approve",), "posted",
             currency="MOP", purpose="Macau client visit 澳門客戶拜訪",
             disallow={1: "minibar is personal 迷你吧屬私人消費"}),
]


def play(driver: Driver, scenarios: list[Scenario]) -> dict[str, str]:
    """Each scenario as people would do it: upload the receipt, wait for it to be read, submit it on its own
    (a one-expense claim), let the approvers decide; returns claim_id -> final status, in scenario order (a
    receipt that could not be read is keyed by its expense id)."""
    files: list[bytes] = []
    results: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.duplicate_of is not None:
            data = files[scenario.duplicate_of]
        else:
            data = receipt_png(scenario.vendor, scenario.when, scenario.items, scenario.currency)
        files.append(data)
        expense_id = driver.upload(scenario.employee, data, "receipt.png", "image/png")
        expense = driver.wait_expense(scenario.employee, expense_id, {"extracted", "needs_review", "failed"})
        if expense["status"] == "failed":
            results[expense_id] = "failed"
            continue
        status, body = driver.submit_alone(scenario.employee, expense_id,
                                           {"category": scenario.category, "purpose": scenario.purpose})
        if status != 201:  # e.g. a total the OCR could not read: the employee types it, as on the phone
            total = str(sum((Decimal(p) for _, p in (scenarios[scenario.duplicate_of].items
                                                    if scenario.duplicate_of is not None else scenario.items)),
                            Decimal("0")))
            status, body = driver.submit_alone(scenario.employee, expense_id, {
                "category": scenario.category, "purpose": scenario.purpose, "total": total,
                "vendor": scenario.vendor, "receipt_date": scenario.when.isoformat(),
            })
            assert status == 201, body
        claim_id = body["claim_id"]
        for level, decision in enumerate(scenario.decisions, start=1):
            message = driver.approval_message(claim_id, level)
            cut = [{"line": n, "reason": why} for n, why in (scenario.disallow or {}).items()] if level == 1 else []
            status, body = driver.decide_signed_in(message["link"], decision, f"demo: {decision}", disallow=cut)
            assert status == 200, body
        final = driver.wait_status(scenario.employee, claim_id, {"posted", "rejected", "failed"})
        results[claim_id] = final["status"]
    return results


# One trip claim (報銷單): two receipts in two currencies, a mileage line and a per-diem line, settling a cash
# advance the employee drew before the trip.
TRIP_TITLE = "Shenzhen client visit 深圳客戶拜訪"
TRIP_EMPLOYEE, TRIP_MANAGER, TRIP_FINANCE = "E201", "E200", "E300"  # E300: finance for HK Sales
TRIP_RECEIPTS = [
    ("香港麗思卡爾頓酒店 Ritz-Carlton Hong Kong", date(2026, 11, 19), [("客房 Room", "980.00")], "HKD", "travel"),
    ("深圳灣萬豪酒店 Shenzhen Bay Marriott", date(2026, 11, 20),
     [("客房 Room", "880.00"), ("早餐 Breakfast", "120.00")], "CNY", "travel"),
]
TRIP_LINES = [
    {"kind": "mileage", "vehicle": "private_car", "distance_km": "42", "date": "2026-11-20",
     "description": "Causeway Bay -> Lok Ma Chau control point 銅鑼灣至落馬洲"},
    {"kind": "per_diem", "destination": "CN-SZ", "days": "2", "date": "2026-11-20",
     "meals_provided": {"breakfast": 2}, "description": "two days in Shenzhen 深圳兩天"},
]
TERMINAL = {"posted", "rejected", "failed"}


def _ok(status_body: tuple[int, dict], expected: int = 200) -> dict:
    status, body = status_body
    assert status == expected, body
    return body


def play_trip(driver: Driver) -> dict:
    """The trip as people do it: a cash advance requested, approved by the manager and paid by finance; two
    receipts uploaded and read; a claim made of them with a mileage and a per-diem line, naming the advance;
    submitted and approved at every level. Returns the claim's id and status and the advance's id and status."""
    who = driver.auth(TRIP_EMPLOYEE)
    advance = _ok(driver.call("POST", "/advances", {"amount": "2000", "currency": "HKD",
                                                    "purpose": f"{TRIP_TITLE}: hotel and transport"}, who), 201)
    one = f"/advances/{advance['advance_id']}"
    _ok(driver.call("POST", f"{one}/decision", {"decision": "approve", "comment": "ok"}, driver.auth(TRIP_MANAGER)))
    _ok(driver.call("POST", f"{one}/payment", {"payment_reference": "FPS-TRIP-1"}, driver.auth(TRIP_FINANCE)))

    expense_ids = []
    for vendor, when, items, currency, category in TRIP_RECEIPTS:
        expense_id = driver.upload(TRIP_EMPLOYEE, receipt_png(vendor, when, items, currency), "receipt.png",
                                   "image/png")
        driver.wait_expense(TRIP_EMPLOYEE, expense_id, {"extracted", "needs_review"})
        total = str(sum((Decimal(price) for _, price in items), Decimal("0")))
        # the employee checks what was read on the phone and confirms it (OCR may have misread a field)
        _ok(driver.edit_expense(TRIP_EMPLOYEE, expense_id, {"vendor": vendor, "receipt_date": when.isoformat(),
                                                            "total": total, "currency": currency,
                                                            "category": category}))
        expense_ids.append(expense_id)
    claim = _ok(driver.create_claim(TRIP_EMPLOYEE, TRIP_TITLE, expense_ids, purpose="meet ABC Trading in Nanshan",
                                    period_start="2026-11-19", period_end="2026-11-21",
                                    advance_id=advance["advance_id"]), 201)
    claim_id = claim["claim_id"]
    for line in TRIP_LINES:
        _ok(driver.add_line(TRIP_EMPLOYEE, claim_id, line), 201)
    _ok(driver.submit_claim(TRIP_EMPLOYEE, claim_id))

    level = 1
    while True:  # every approver the route asks (line manager, and whoever the total or the risk adds)
        message = driver.approval_message(claim_id, level)
        _ok(driver.decide_signed_in(message["link"], "approve", f"demo: approve level {level}"))
        decided = level

        def moved_on(done: int = decided) -> dict | None:
            current = driver.claim(TRIP_EMPLOYEE, claim_id)
            if current["status"] in TERMINAL or current["approval_level"] > done:
                return current
            return None

        current = wait_for(moved_on)
        if current["status"] in TERMINAL:
            break
        level = current["approval_level"]
    final = driver.wait_status(TRIP_EMPLOYEE, claim_id, TERMINAL)
    settled = _ok(driver.call("GET", one, None, who))
    return {"claim_id": claim_id, "status": final["status"], "amounts": final["summary"]["amounts"],
            "hkd_total": final["summary"]["hkd_total"], "expenses": len(final["expenses"]),
            "advance_id": advance["advance_id"], "advance_status": settled["status"]}
