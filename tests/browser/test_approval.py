"""What an approver sees in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900): the
link from their message opens the claim with the claimant's name and department, each receipt beside its fields
(zoomable), what the employee corrected over what was read; a line disallowed with a reason lowers "Payable now";
reject and return ask for a reason and a confirmation; approving or returning ends in a sentence in the reader's
language, and so does a spent link; a large claim is decided after signing in. axe-core finds no serious or
critical violation in any state, and nothing scrolls sideways at 360 px.

Screenshots: artifacts/screenshots/<journey>-<width>.png (and -<state> for the states in between).
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, assert_accessible, sign_in

CLAIMANT = "黃小明 Wong Siu Ming"


def _snap(page, state: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"approval-{state}-{page.width}.png"), full_page=True)


def _hkd(text: str) -> Decimal:
    """"HK$1,234.50" as a number (one HKD amount, as the page formats it in English)."""
    match = re.fullmatch(r"HK\$([\d,]+\.\d\d)", text.strip())
    assert match, f"not one HKD amount: {text!r}"
    return Decimal(match.group(1).replace(",", ""))


def _no_sideways_scroll(page) -> None:
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})


def _image_loaded(page) -> None:
    image = page.locator("article.expense figure.receipt img").first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())


def test_approver_reads_the_claim_disallows_a_line_and_approves(page, local_app):
    title = f"Client visit {page.width}"
    room = Decimal(680 + page.width % 7)  # each width its own receipt: a duplicate would add a review step
    sent = local_app.command(op="report", employee="E201", title=title, vendor="港島酒店 Island Hotel",
                             items=[["客房 Room", f"{room}.00"], ["迷你吧 Minibar", "240.00"]], km=12,
                             edits={"vendor": "Island Hotel"}, seconds=180)

    page.goto(sent["link"])  # the link from the approver's message (the local stack's approver inbox)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(CLAIMANT)
    expect(facts).to_contain_text("Sales 銷售部")
    expect(page.get_by_role("heading", name="Expenses (2)")).to_be_visible()
    expenses = page.locator("article.expense")
    expect(expenses).to_have_count(2)
    hotel = expenses.filter(has_text="Island Hotel")
    expect(hotel.locator(".amount")).to_have_text(f"HK${room + 240:,.2f}")
    expect(expenses.filter(has_text="Mileage")).to_contain_text("12 km")
    _image_loaded(page)
    corrected = hotel.locator(".corrected")
    expect(corrected).to_contain_text("Changed by the employee")
    expect(corrected.locator("del")).to_contain_text("港島酒店")  # what extraction read
    expect(corrected.locator("ins")).to_have_text("Island Hotel")  # what the employee entered
    expect(page.locator("ol.timeline")).to_contain_text(f"Submitted by {CLAIMANT}")
    expect(page.locator("ol.timeline")).to_contain_text(re.compile(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d HKT"))
    assert_accessible(page, local_app.base, "the approval page")
    _no_sideways_scroll(page)

    hotel.locator("button.zoom").click()  # tap the receipt: full size; Escape closes
    zoom = page.locator("dialog#zoom")
    expect(zoom).to_be_visible()
    page.wait_for_function("() => document.getElementById('zoom-img').naturalWidth > 0")
    _snap(page, "zoom")
    page.keyboard.press("Escape")
    expect(zoom).to_be_hidden()

    payable = page.locator("#payable")
    before = _hkd(payable.inner_text())
    assert before > room + 240  # the receipt and the mileage
    minibar = hotel.locator("li.line", has_text="Minibar")
    minibar.get_by_role("checkbox").check()
    minibar.get_by_label("Why").fill("minibar is personal 迷你吧屬私人消費")
    expect(payable).to_have_text(f"HK${before - Decimal('240.00'):,.2f}")
    assert_accessible(page, local_app.base, "the approval page, a line disallowed")

    page.get_by_role("button", name="Reject", exact=True).click()  # reject: a reason and a confirmation first
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("heading")).to_have_text(f"Reject “{title}”?")
    confirm.get_by_role("button", name="Reject claim").click()  # no reason given
    expect(confirm.get_by_role("alert")).to_have_text(
        "Say why: a rejection or a return needs a reason for the claimant.")
    expect(confirm).to_be_visible()  # refused on the page: nothing was sent
    assert_accessible(page, local_app.base, "the reject dialog, no reason")
    _snap(page, "reject-refused")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()

    page.get_by_role("button", name="Approve", exact=True).click()
    out = page.locator("#out")
    amount = f"HK${before - Decimal('240.00'):,.2f}"
    expect(out).to_have_text(f"You approved “{title}” for {amount}. It is approved and will be paid.",
                             timeout=60_000)
    for button in ("Approve", "Reject", "Return for correction"):
        expect(page.get_by_role("button", name=button, exact=True)).to_be_disabled()  # decided once
    assert_accessible(page, local_app.base, "the approval page, decided")
    _snap(page, "approved")

    page.goto(sent["link"])  # the link again: spent, and the page says so in words
    expect(page.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
    expect(page.locator("main")).to_contain_text("This claim has already been decided with this link.")
    assert_accessible(page, local_app.base, "a spent link")


def test_approver_switches_to_chinese_and_returns_an_expense_for_correction(page, local_app):
    title = f"Taxi claim {page.width}"
    fare = Decimal(300 + page.width % 11)
    sent = local_app.command(op="report", employee="E201", title=title, vendor="城市的士 City Taxi",
                             items=[["的士 Taxi", f"{fare}.00"]], km=5, seconds=180)
    page.goto(sent["link"])
    expect(page.get_by_role("heading", name="Expenses (2)")).to_be_visible()
    page.get_by_role("button", name="繁體中文").click()  # the language switch
    expect(page.get_by_role("heading", name="開支（2）")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("申請人")
    expect(page.locator("#payable")).to_contain_text("HK$")
    _image_loaded(page)
    assert_accessible(page, local_app.base, "the approval page in 繁中")
    _no_sideways_scroll(page)

    page.get_by_role("button", name="退回修改", exact=True).click()  # return: asks first
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("heading")).to_have_text(f"退回「{title}」修改？")
    confirm.get_by_label("需要修改的地方（申請人會看到）").fill("請附上的士收據的日期 please add the date")
    confirm.get_by_role("checkbox").first.check()  # the expense to fix
    assert_accessible(page, local_app.base, "the return dialog")
    _snap(page, "return-dialog")
    confirm.get_by_role("button", name="確認退回修改").click()
    expect(page.locator("#out")).to_have_text(f"你已把「{title}」退回 {CLAIMANT} 修改。", timeout=60_000)
    expect(page.get_by_role("button", name="批准", exact=True)).to_be_disabled()
    assert_accessible(page, local_app.base, "the approval page, returned")


def test_a_large_claim_is_decided_after_signing_in_and_goes_on_to_the_second_signer(page, local_app):
    title = f"Conference {page.width}"
    fee = Decimal(5200 + page.width % 13)  # above the link-only amount and the second-signature threshold
    sent = local_app.command(op="report", employee="E201", title=title, vendor="會議展覽中心 HKCEC",
                             items=[["Registration 登記費", f"{fee}.00"]], km=0, seconds=180)
    page.goto(sent["link"])
    expect(page.locator("#step-up")).to_contain_text("decide it signed in as 李嘉欣 Lee Ka Yan")
    page.get_by_role("button", name="Sign in to decide").click()
    expect(page).to_have_url(re.compile(r"/signin\?next=approvals"))
    sign_in(page, local_app.base, "E200", next_path=re.sub(r"^.*?/approvals/", "approvals/", sent["link"]))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("ol.timeline")).to_contain_text("Next: 陳大文 Chan Tai Man")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#out")).to_have_text(
        f"You approved “{title}” for HK${fee:,.2f}. It now goes to 陳大文 Chan Tai Man.", timeout=60_000)
    assert_accessible(page, local_app.base, "the large claim, decided signed in")
