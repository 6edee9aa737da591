"""What an employee sees in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900): sign
in, photograph a receipt, see what was read, submit it on its own and find the claim with its status in words;
axe-core finds no serious or critical accessibility violation in the states the page was seen in.

Screenshots: artifacts/screenshots/<journey>-<width>.png.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from playwright.sync_api import expect

from harness.sample_receipts import receipt_png
from tests.browser.conftest import axe_violations, sign_in

READING = 90_000  # ms: the OCR runs in the local stack, slower while other work keeps the CPUs busy
HUMAN_STATUS = re.compile(r"Submitted 已提交|Checked 已評估|Awaiting approval 審批中")


def _accessible(page, base: str, where: str) -> None:
    found = axe_violations(page, base)
    assert not found, f"{where}: axe-core found serious or critical violations: {found}"


def _hkd(text: str) -> Decimal:
    """"HKD 1,234.50" as a number (the page's own format)."""
    match = re.fullmatch(r"HKD ([\d,]+\.\d\d)", text.strip())
    assert match, f"not one HKD amount: {text!r}"
    return Decimal(match.group(1).replace(",", ""))


def test_employee_submits_a_receipt_on_its_own(page, local_app):
    noodles = Decimal(52 + page.width % 13)  # each width its own receipt (a different total: no duplicate)
    total = Decimal("38.00") + noodles
    png = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3),
                      [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", f"{noodles}.00")])

    sign_in(page, local_app.base, "E201")
    expect(page.get_by_role("heading", name="New receipt 新收據")).to_be_visible()
    expect(page.locator("#who")).to_have_text("Signed in as 黃小明 Wong Siu Ming")
    _accessible(page, local_app.base, "the dashboard, signed in")

    page.get_by_label("Photo or PDF of the receipt").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": png}])
    progress = page.locator("#progress")
    expect(progress).to_have_text(re.compile(r"Read 已識別|Please check 請核對"), timeout=READING)
    expect(page.get_by_label("Vendor 商戶")).to_have_value(re.compile(r"Tsui Wah|翠華"))
    expect(page.get_by_label("Total 總額")).to_have_value(f"{total:.2f}")
    expect(page.get_by_label("Currency 貨幣")).to_have_value("HKD")
    _accessible(page, local_app.base, "the dashboard, checking a receipt")

    page.get_by_label("What for 用途").fill("client lunch 客戶午餐")
    page.get_by_role("button", name="Submit on its own 單獨提交").click()
    expect(progress).to_contain_text("Submitted 已提交")
    expect(page.get_by_role("button", name="Submit on its own 單獨提交")).to_be_hidden()

    row = page.locator("#claims tbody tr", has_text=f"HKD {total:.2f}")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"Tsui Wah|翠華"))
    expect(row.locator("td").nth(3)).to_have_text(HUMAN_STATUS)  # the status in words, never in_approval
    _accessible(page, local_app.base, "the dashboard, with the claim listed")


def test_the_accessibility_check_finds_what_it_is_for(browser, local_app):
    """axe-core really runs: a field without a label and grey-on-white text are reported as the tests would."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
                         "<input id='x'><p style='color:#bbb'>faint</p></main></body></html>")
        found = {v["id"] for v in axe_violations(page, local_app.base)}
    finally:
        context.close()
    assert {"label", "color-contrast"} <= found
