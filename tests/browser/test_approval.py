"""What an approver sees in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900): the
link from their message opens every expense; a line disallowed with a reason lowers "Payable now"; approving reads
as a sentence; the claimant then sees the line's reason. axe-core finds no serious or critical violation.

Screenshots: artifacts/screenshots/<journey>-<width>.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

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


def test_approver_disallows_a_line_and_approves(page, local_app):
    title = f"Client visit {page.width}"
    room = Decimal(680 + page.width % 7)  # each width its own receipt: a duplicate would add a review step
    sent = local_app.command(op="report", employee="E201", title=title, vendor="港島酒店 Island Hotel",
                             items=[["客房 Room", f"{room}.00"], ["迷你吧 Minibar", "240.00"]], km=12, seconds=180)

    page.goto(sent["link"])  # the link from the approver's message (the local stack's approver inbox)
    expect(page.get_by_role("heading", name="Approve claim 審批申請")).to_be_visible()
    expect(page.get_by_role("cell", name=title)).to_be_visible()
    expect(page.get_by_role("heading", name="Expenses 開支 (2)")).to_be_visible()
    expenses = page.locator("article.expense")
    expect(expenses).to_have_count(2)
    expect(expenses.filter(has_text=re.compile(r"港島酒店|Island Hotel"))).to_contain_text(f"HKD {room + 240:,.2f}")
    expect(expenses.filter(has_text="Mileage 里程")).to_contain_text("12 km")
    payable = page.locator("#payable")
    before = _hkd(payable.inner_text())
    assert before > room + 240  # the receipt and the mileage
    _accessible(page, local_app.base, "the approval page")

    minibar = page.locator("table.lines tr", has_text="Minibar")
    minibar.get_by_label("Disallow 不批准").check()
    minibar.get_by_label("Reason 原因").fill("minibar is personal 迷你吧屬私人消費")
    expect(payable).to_have_text(f"HKD {before - Decimal('240.00'):,.2f}")
    _accessible(page, local_app.base, "the approval page, a line disallowed")

    page.get_by_role("button", name="Approve 批准", exact=True).click()
    out = page.locator("#out")
    expect(out).to_have_text(f"Approved 已批准 · {title}", timeout=60_000)
    for button in ("Approve 批准", "Reject 拒絕", "Return for correction 退回修改"):
        expect(page.get_by_role("button", name=button, exact=True)).to_be_disabled()  # decided once

    # the claimant finds the claim decided at this step (approved, paid, or at a further step the policy adds) on
    # their home page, its status in words; the disallowed line and what will be paid are on the claim's own page
    sign_in(page, local_app.base, "E201")
    card = page.locator("#claims > li", has_text=title)
    expect(card.locator(".chip")).to_have_text(re.compile(r"^(Approved|Paid|Awaiting approval)$"))
    expect(card.get_by_role("link", name=title)).to_have_attribute("href", re.compile(r"^claim/c-\w+$"))
