"""Sample receipts for the demo, the benchmark and the pipeline tests, and the play-through of each."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from infra.driver import Driver

_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in _FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise RuntimeError("no CJK font installed: run `make deps` (installs requirements-system.txt)")


def receipt_png(vendor: str, when: date, items: list[tuple[str, str]], currency: str = "HK$") -> bytes:
    """A clean printed receipt: vendor, day-first date, items and a 總額 TOTAL line."""
    total = sum((Decimal(price) for _, price in items), Decimal("0"))
    lines = [vendor, f"日期 Date: {when:%d/%m/%Y}", ""]
    lines += [f"{name}    {currency}{Decimal(price):,.2f}" for name, price in items]
    lines += ["", f"總額 TOTAL    {currency}{total:,.2f}", "多謝惠顧 Thank you"]
    font = _font(28)
    img = Image.new("RGB", (760, 90 + 48 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 48 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Scenario:
    employee: str
    vendor: str
    when: date
    items: list[tuple[str, str]]
    category: str
    decisions: tuple[str, ...]  # what the approvers answer, level by level
    expected: str
    currency: str = "HK$"
    purpose: str = ""
    duplicate_of: int | None = None  # index of an earlier scenario whose file is uploaded again


SCENARIOS = [
    Scenario("E201", "翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3),
             [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")], "meals", ("approve",), "posted",
             purpose="client lunch 客戶午餐"),
    Scenario("E202", "香港君悅酒店 Grand Hyatt Hong Kong", date(2026, 11, 10), [("Client dinner 商務晚宴", "6800.00")],
             "entertainment", ("approve", "approve"), "posted", purpose="year-end client dinner"),
    Scenario("E201", "翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [], "meals", ("reject",), "rejected",
             purpose="claimed twice", duplicate_of=0),
    Scenario("E121", "深圳灣萬豪酒店 Shenzhen Bay Marriott", date(2026, 11, 12), [("Taxi 的士", "86.00")],
             "taxi", ("approve",), "posted", currency="¥"),
    Scenario("E202", "城市的士 City Taxi", date(2026, 11, 14), [("Taxi 的士", "128.50")], "taxi", ("reject",),
             "rejected", purpose="personal trip"),
]


def play(driver: Driver, scenarios: list[Scenario]) -> dict[str, str]:
    """Each scenario as people would do it; returns claim_id -> final status, in scenario order."""
    files: list[bytes] = []
    results: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.duplicate_of is not None:
            data = files[scenario.duplicate_of]
        else:
            data = receipt_png(scenario.vendor, scenario.when, scenario.items, scenario.currency)
        files.append(data)
        claim_id = driver.upload(scenario.employee, data, "receipt.png", "image/png")
        claim = driver.wait_status(scenario.employee, claim_id, {"extracted", "needs_review", "failed"})
        if claim["status"] == "failed":
            results[claim_id] = "failed"
            continue
        status, body = driver.submit(scenario.employee, claim_id,
                                     {"category": scenario.category, "purpose": scenario.purpose})
        if status != 200:  # e.g. a total the OCR could not read: the employee types it, as on the phone
            total = str(sum((Decimal(p) for _, p in (scenarios[scenario.duplicate_of].items
                                                    if scenario.duplicate_of is not None else scenario.items)),
                            Decimal("0")))
            status, body = driver.submit(scenario.employee, claim_id, {
                "category": scenario.category, "purpose": scenario.purpose, "total": total,
                "vendor": scenario.vendor, "receipt_date": scenario.when.isoformat(),
            })
            assert status == 200, body
        for level, decision in enumerate(scenario.decisions, start=1):
            message = driver.approval_message(claim_id, level)
            status, body = driver.decide(message["link"], decision, f"demo: {decision}")
            assert status == 200, body
        final = driver.wait_status(scenario.employee, claim_id, {"posted", "rejected", "failed"})
        results[claim_id] = final["status"]
    return results
