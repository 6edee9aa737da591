"""The claim page (/claim/{id}) in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900):
the receipt image and its zoom, totals, the timeline with who holds the claim and since when; a claim returned with
a comment on one expense opens in edit mode with the comment by that expense, is corrected and resubmitted; a line
the approver disallowed shows its reason and what is payable. axe-core finds no serious or critical violation.

Screenshots: artifacts/screenshots/<journey>-<width>.png (and -<state> for intermediate states).
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, assert_accessible, sign_in

CLAIMANT = "黃小明 Wong Siu Ming"
APPROVER = "李嘉欣 Lee Ka Yan (Sales 銷售部)"  # E201's line manager
WHEN = r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d [A-Z]+"  # "1 Dec 2026, 09:15 HKT" (core.when, en-HK)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{page.width}.png"), full_page=True)


def _hk(text: str) -> Decimal:
    """"HK$1,234.50" (core.money in en-HK) as a number."""
    match = re.search(r"HK\$([\d,]+\.\d\d)", text)
    assert match, f"no HK$ amount in {text!r}"
    return Decimal(match.group(1).replace(",", ""))


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        "the page scrolls sideways"


def test_a_submitted_claim_shows_its_receipt_zoomable_and_who_holds_it(page, local_app):
    dumplings = 88 + page.width % 11  # each width its own receipt: a duplicate would add a review step
    sent = local_app.command(op="report", employee="E201", title=f"Kowloon client lunch {page.width}",
                             vendor="海港酒家 Harbour Restaurant",
                             items=[["點心 Dim sum", f"{dumplings}.00"], ["茶 Tea", "36.00"]], km=12, seconds=180)

    sign_in(page, local_app.base, "E201", f"claim/{sent['claim_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kowloon client lunch {page.width}")
    expect(page.locator("#claim-status .chip")).to_have_text(re.compile(r"Awaiting approval|Submitted|Checked"))
    expect(page.locator("#claim-claimant")).to_have_text(f"{CLAIMANT} (Sales 銷售部)")
    expect(page.locator("#claim-purpose")).to_have_text("client visit 客戶拜訪")

    receipt = page.locator("article.expense-card", has_text=re.compile("Harbour|海港"))
    image = receipt.locator("img.receipt-img")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    mileage = page.locator("article.expense-card", has_text="Mileage 12 km")
    expect(mileage).to_contain_text("12 km × HK$3.50 per km (private car) = HK$42.00")
    expect(page.locator("#claimed")).to_have_text(re.compile(r"HK\$[\d,]+\.\d\d"))

    timeline = page.locator("#timeline")
    expect(timeline.locator("li", has_text=f"Submitted by {CLAIMANT}")).to_have_count(1)
    expect(timeline.locator("li", has_text=f"Submitted by {CLAIMANT}")).to_contain_text(re.compile(WHEN))
    expect(page.locator("#holder")).to_have_text(re.compile(rf"Waiting for {re.escape(APPROVER)} since {WHEN}\."))
    expect(page.get_by_role("button", name="Submit claim")).to_be_hidden()  # in approval: read-only
    expect(page.locator("body")).not_to_contain_text(sent["claim_id"])  # no ids on the page
    expect(page.locator("body")).not_to_contain_text("in_approval")
    assert_accessible(page, local_app.base, "the claim page, in approval")
    _shot(page, "claim_page_in_approval")

    receipt.get_by_role("button", name=re.compile("Tap to enlarge")).click()
    zoom = page.get_by_role("dialog", name=re.compile("Receipt"))
    expect(zoom).to_be_visible()
    expect(page.locator("#zoom-close")).to_be_focused()
    width = page.locator("#zoom-img").evaluate("img => img.getBoundingClientRect().width")
    page.get_by_role("button", name="Zoom in").click()
    assert page.locator("#zoom-img").evaluate("img => img.getBoundingClientRect().width") > width * 1.4
    assert_accessible(page, local_app.base, "the receipt zoomed")
    _shot(page, "claim_page_zoom")
    page.keyboard.press("Escape")
    expect(zoom).to_be_hidden()

    if page.width == 390:  # the narrowest phone the pages support
        page.set_viewport_size({"width": 360, "height": 740})
        _no_sideways_scroll(page)
        page.set_viewport_size({"width": 390, "height": 844})
    _no_sideways_scroll(page)

    # the department's approver reads it too (read-only); a colleague without rights finds nothing
    sign_in(page, local_app.base, "E200", f"claim/{sent['claim_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kowloon client lunch {page.width}")
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    sign_in(page, local_app.base, "E202", f"claim/{sent['claim_id']}")
    expect(page.locator("#claim-error")).to_have_text("This claim was not found, or it is not yours to see.")


def test_a_returned_claim_opens_in_edit_mode_is_corrected_and_resubmitted(page, local_app):
    noodles = 120 + page.width % 13
    title = f"Team dinner Mong Kok {page.width}"
    sent = local_app.command(op="report", employee="E201", title=title, vendor="旺角茶餐廳 Mong Kok Cafe",
                             items=[["炒麵 Fried noodles", f"{noodles}.00"], ["奶茶 Milk tea", "32.00"]], km=8,
                             seconds=180)
    comment = "the total leaves out the 10% service charge 總額未計一成服務費"
    local_app.command(op="decide", link=sent["link"], decision="return", comment=comment,
                      fix_expenses=[sent["expense_id"]])

    sign_in(page, local_app.base, "E201", f"claim/{sent['claim_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#claim-status .chip")).to_have_text("Returned for correction")
    expect(page.locator("#return-note")).to_contain_text(comment)
    expect(page.locator("#return-note")).to_contain_text(APPROVER)
    to_fix = page.locator("article.expense-card.fix")
    expect(to_fix).to_have_count(1)
    expect(to_fix).to_contain_text(re.compile("Mong Kok Cafe|旺角"))
    expect(to_fix.locator(".fix-note")).to_have_text(f"Please fix: {comment}")
    expect(page.locator("#holder")).to_have_text(re.compile(rf"With {CLAIMANT} \(Sales 銷售部\) for correction since"))
    expect(page.locator("#timeline")).to_contain_text(f"Returned for correction by {APPROVER} (step 1)")
    assert_accessible(page, local_app.base, "the claim page, returned for correction")
    _shot(page, "claim_page_returned")

    to_fix.get_by_role("button", name="Edit").click()
    amount = to_fix.get_by_label("Amount")
    read = Decimal(amount.input_value())
    corrected = (read * Decimal("1.1")).quantize(Decimal("0.01"))
    amount.fill(str(corrected))
    assert_accessible(page, local_app.base, "the claim page, correcting an expense")
    to_fix.get_by_role("button", name="Save").click()
    expect(page.locator("#result")).to_have_text(re.compile("Saved"))
    card = page.locator("article.expense-card", has_text=re.compile("Mong Kok Cafe|旺角"))
    expect(card).to_contain_text(f"HK${corrected:,.2f}")
    expect(page.locator("article.expense-card.fix")).to_have_count(0)  # the correction answers the request

    page.locator("summary", has_text="Add per diem").click()  # a day in Shenzhen, paid in yuan
    per_diem_form = page.locator("#add-per-diem")
    per_diem_form.get_by_label("Destination").select_option(label="Shenzhen")
    per_diem_form.get_by_label("Days (whole or half)").fill("1")
    assert_accessible(page, local_app.base, "the claim page, adding a per-diem line")
    _shot(page, "claim_page_adding_line")
    per_diem_form.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#result")).to_have_text("Added: Per diem.")
    per_diem = page.locator("article.expense-card", has_text="Per diem Shenzhen")
    expect(per_diem).to_contain_text(re.compile(r"1 day\(s\) × CN¥350\.00 a day \(Shenzhen\) = CN¥350\.00"))
    cny = page.locator("#totals table.totals tr", has_text="CNY")
    expect(cny).to_contain_text("HK$378.00")  # the policy's 1.08, as an estimate until the claim is resubmitted
    expect(page.locator("#totals")).to_contain_text("an estimate at the policy's exchange rates")

    page.get_by_role("button", name="Resubmit claim").click()
    confirm = page.get_by_role("dialog", name="Resubmit this claim?")
    expect(confirm).to_be_visible()
    assert_accessible(page, local_app.base, "the claim page, confirming the resubmission")
    confirm.get_by_role("button", name="Resubmit claim").click()
    expect(page.locator("#result")).to_have_text(re.compile(
        rf"“{re.escape(title)}” was resubmitted: Awaiting approval\. Waiting for {re.escape(APPROVER)} since"))
    expect(page.locator("#claim-status .chip")).to_have_text("Awaiting approval")
    expect(page.locator("#holder")).to_have_text(re.compile(rf"Waiting for {re.escape(APPROVER)} since {WHEN}\."))
    expect(page.locator("#timeline")).to_contain_text(f"Corrected and resubmitted by {CLAIMANT}")
    expect(page.get_by_role("button", name="Resubmit claim")).to_be_hidden()  # read-only again
    expect(page.locator("#totals")).to_contain_text("at the rates fixed when the claim was submitted")
    assert_accessible(page, local_app.base, "the claim page, resubmitted")
    _no_sideways_scroll(page)


def test_a_disallowed_line_shows_its_reason_and_what_is_payable(page, local_app):
    room = 690 + page.width % 7
    sent = local_app.command(op="report", employee="E201", title=f"Overnight in Tsim Sha Tsui {page.width}",
                             vendor="尖沙咀酒店 TST Hotel", km=20, seconds=180,
                             items=[["客房 Room", f"{room}.00"], ["迷你吧 Minibar", "240.00"]])
    reason = "minibar is personal 迷你吧屬私人消費"
    local_app.command(op="decide", link=sent["link"], decision="approve", comment="ok apart from the minibar",
                      disallow=[{"expense_id": sent["expense_id"], "line": 1, "reason": reason}])

    sign_in(page, local_app.base, "E201", f"claim/{sent['claim_id']}")
    hotel = page.locator("article.expense-card", has_text=re.compile("TST Hotel|尖沙咀"))
    minibar = hotel.locator("tr.cut")
    expect(minibar).to_contain_text(f"Not approved: {reason}")
    expect(minibar).to_contain_text("HK$240.00")
    hotel_total = _hk(hotel.locator("dl.facts").inner_text())
    expect(hotel.locator(".payable-line")).to_have_text(f"Payable: HK${hotel_total - 240:,.2f}")
    claimed = _hk(page.locator("#claimed").inner_text())
    expect(page.locator("#payable")).to_have_text(f"HK${claimed - 240:,.2f}")
    approved = page.locator("#timeline li", has_text=f"Approved by {APPROVER} (step 1)")
    expect(approved).to_contain_text("1 item(s) not approved")
    expect(approved).to_contain_text("ok apart from the minibar")
    assert_accessible(page, local_app.base, "the claim page, a line disallowed")
    _no_sideways_scroll(page)

    page.get_by_role("button", name="繁體中文").click()  # the same page in Traditional Chinese
    expect(page.locator("#claim-status .chip")).to_have_text(re.compile("已批准|已入賬"))
    expect(hotel.locator("tr.cut")).to_contain_text(f"不予批准：{reason}")
    expect(page.locator("#payable")).to_have_text(f"HK${claimed - 240:,.2f}")
    expect(page.locator("#timeline")).to_contain_text(f"由 {APPROVER.replace(' (', '（').replace(')', '）')} 批准")
    assert_accessible(page, local_app.base, "the claim page in Traditional Chinese")
    _shot(page, "claim_page_zh")


def test_a_draft_is_built_on_its_page_and_submitted(page, local_app):
    title = f"Sha Tin site visit {page.width}"
    sent = local_app.command(op="draft", employee="E201", title=title, vendor="沙田文具 Sha Tin Stationery",
                             items=[["文件夾 Folders", f"{45 + page.width % 9}.00"]], seconds=180)

    sign_in(page, local_app.base, "E201", f"claim/{sent['claim_id']}")
    expect(page.locator("#claim-status .chip")).to_have_text("Draft")
    expect(page.locator("#holder")).to_have_text(f"A draft with {CLAIMANT} (Sales 銷售部): not submitted yet.")
    expect(page.locator("#expenses")).to_contain_text("Nothing in this claim yet")
    expect(page.get_by_role("button", name="Submit claim")).to_be_disabled()

    page.locator("summary", has_text="Add receipts you have uploaded").click()
    pick = page.get_by_label(re.compile("Sha Tin Stationery|沙田文具"))
    pick.check()
    assert_accessible(page, local_app.base, "the claim page, picking receipts")
    page.get_by_role("button", name="Add the ticked receipts").click()
    expect(page.locator("#result")).to_have_text("Added 1 receipt(s).")
    stationery = page.locator("article.expense-card", has_text=re.compile("Sha Tin Stationery|沙田文具"))
    expect(stationery.locator("img.receipt-img")).to_be_visible()

    page.locator("summary", has_text="Add an expense without a receipt").click()
    lost = page.locator("#add-lost")
    lost.get_by_label("Vendor").fill("Minibus 小巴")
    lost.get_by_label("Amount").fill("18.40")
    lost.get_by_label("Why there is no receipt").fill("minibuses give no receipts 小巴不設收據")
    lost.get_by_role("button", name="Add", exact=True).click()
    minibus = page.locator("article.expense-card", has_text="Minibus 小巴")
    expect(minibus).to_contain_text("No receipt: minibuses give no receipts 小巴不設收據")
    expect(minibus).to_contain_text("HK$18.40")

    minibus.get_by_role("button", name="Remove").click()
    confirm = page.get_by_role("dialog", name="Remove this expense?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Remove").click()
    expect(page.locator("#result")).to_have_text("Removed: Minibus 小巴.")
    expect(minibus).to_have_count(0)
    assert_accessible(page, local_app.base, "the claim page, a draft with a receipt")

    page.get_by_role("button", name="Submit claim").click()
    confirm = page.get_by_role("dialog", name="Submit this claim?")
    confirm.get_by_role("button", name="Cancel").click()  # changing one's mind changes nothing
    expect(confirm).to_be_hidden()
    expect(page.locator("#claim-status .chip")).to_have_text("Draft")
    page.get_by_role("button", name="Submit claim").click()
    confirm.get_by_role("button", name="Submit claim").click()
    expect(page.locator("#result")).to_have_text(re.compile(rf"“{re.escape(title)}” was submitted: "))
    expect(page.locator("#claim-status .chip")).to_have_text(re.compile("Submitted|Checked|Awaiting approval"))
    expect(page.locator("#timeline")).to_contain_text(f"Submitted by {CLAIMANT}")
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    _no_sideways_scroll(page)


def test_a_photo_of_two_receipts_makes_two_expenses_each_saying_which_it_is(page, local_app):
    sent = local_app.command(op="report", employee="E201", title=f"Two receipts, one photo {page.width}",
                             vendor="翠園 Jade Garden", items=[["燒賣 Siu Mai", f"{40 + page.width % 7}.00"]],
                             beside={"vendor": "城市的士 City Taxi", "items": [["車資 Fare", "86.50"]]}, seconds=240)
    sign_in(page, local_app.base, "E201", f"claim/{sent['claim_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Two receipts, one photo {page.width}")
    cards = page.locator("article.expense-card")
    expect(cards).to_have_count(2)
    expect(page.locator("article.expense-card", has_text=re.compile("Jade|翠園"))).to_contain_text(
        "This file holds several receipts: this expense is the one on the left, page 1.")
    expect(page.locator("article.expense-card", has_text=re.compile("Taxi|的士"))).to_contain_text(
        "this expense is the one on the right, page 1.")
    expect(page.locator("article.expense-card", has_text=re.compile("Taxi|的士"))).to_contain_text("HK$86.50")
    _no_sideways_scroll(page)
    assert_accessible(page, local_app.base, "a claim of two receipts from one photo")
    _shot(page, "claim_page_two_receipts_one_photo")
