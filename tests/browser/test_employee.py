"""What an employee sees in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900): sign
in, add two receipts at once and watch them upload, see what was read beside the receipt itself, correct a field,
submit one on its own and put the other in a new claim, and find both claims with their status in words — in
English and once in 繁體中文; axe-core finds no serious or critical accessibility violation in any state seen.

Screenshots: artifacts/screenshots/<journey>-<width>.png (the `page` fixture, at the end) and
<journey>-<state>-<width>.png for the states on the way.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from playwright.sync_api import expect

from harness.sample_receipts import receipt_png
from tests.browser.conftest import SCREENSHOTS, assert_accessible, axe_violations, sign_in

READING = 120_000  # ms: the OCR runs in the local stack, slower while other work keeps the CPUs busy

# What a person reads on the page, per language (the catalogue's words, checked here as the reader sees them).
WORDS = {
    "en": {"capture": "Add receipts", "files": "Choose files", "vendor": "Shop or company", "total": "Total",
           "currency": "Currency", "category": "Category", "purpose": "What it was for",
           "submit": "Submit on its own", "claim": "Claim", "new_claim": "A new claim…",
           "new_title": "Title of the new claim", "add": "Add to claim", "meals": "Meals", "taxi": "Taxi",
           "submitted": "Submitted: ", "added": "Added to the new claim ", "loose": "My unattached receipts",
           "claims": "My claims", "draft": "Draft", "uploading": r"Uploading: \d+%", "reading": "Reading the receipt",
           "open_claim": "Open the claim",
           "waiting": re.compile(r"^(Submitted|Checked|Awaiting approval)$")},
    "zh-Hant": {"capture": "新增收據", "files": "選擇檔案", "vendor": "商戶", "total": "總額", "currency": "貨幣",
                "category": "類別", "purpose": "用途", "submit": "單獨提交", "claim": "報銷單",
                "new_claim": "新報銷單…", "new_title": "新報銷單標題", "add": "加入報銷單", "meals": "膳食",
                "taxi": "的士", "submitted": "已提交：", "added": "已加入新報銷單 ", "loose": "未歸入報銷單的收據",
                "claims": "我的報銷單", "draft": "草稿", "uploading": r"上傳中：\d+%", "reading": "正在識別收據",
                "open_claim": "開啟報銷單",
                "waiting": re.compile(r"^(已提交|已評估|審批中)$")},
}

# Every text the upload area and the live region showed, recorded as it changes (progress is passing).
WATCH = """() => {
  window.seenTexts = [];
  const keep = () => {
    for (const el of document.querySelectorAll("#uploads .home-state, #announce")) {
      window.seenTexts.push(el.textContent);
    }
  };
  new MutationObserver(keep).observe(document.getElementById("main"),
    {subtree: true, childList: true, characterData: true});
}"""


def _hk(amount: Decimal) -> str:
    return f"HK${amount:,.2f}"


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


def _journey(page, base: str, lang: str, offset: int) -> None:
    w = WORDS[lang]
    width = page.width
    noodles = Decimal(52 + width % 13 + offset)  # each run its own receipts (other totals: no duplicates)
    lunch_total = Decimal("38.00") + noodles
    fare = Decimal("128.50") + width % 7 + offset
    lunch = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3),
                        [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", f"{noodles}.00")])
    taxi = receipt_png("城市的士 City Taxi", date(2026, 11, 14), [("Taxi 的士", f"{fare:.2f}")])
    shots = f"employee-{lang}"

    sign_in(page, base, "E201")
    if lang != "en":
        page.get_by_role("button", name="繁體中文").click()
    expect(page.get_by_role("heading", name=w["capture"])).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", name=w["loose"])).to_be_visible()
    expect(page.get_by_role("heading", name=w["claims"])).to_be_visible()
    _no_sideways_scroll(page)
    assert_accessible(page, base, f"home ({lang}), signed in")

    page.evaluate(WATCH)
    page.locator("#files").set_input_files(files=[
        {"name": "lunch.png", "mimeType": "image/png", "buffer": lunch},
        {"name": "taxi.png", "mimeType": "image/png", "buffer": taxi}])
    expect(page.locator("#uploads > li")).to_have_count(2)  # both at once, each with its own row

    cards = page.locator("#uploads li.home-review-card")
    lunch_card = cards.filter(has=page.locator(f"input[name=total][value='{lunch_total:.2f}']"))
    taxi_card = cards.filter(has=page.locator(f"input[name=total][value='{fare:.2f}']"))
    expect(lunch_card).to_be_visible(timeout=READING)
    expect(taxi_card).to_be_visible(timeout=READING)
    seen = page.evaluate("() => window.seenTexts")
    assert any(re.search(w["uploading"], s) for s in seen), seen  # the progress of each upload was shown
    assert any(w["reading"] in s for s in seen), seen
    assert any("lunch.png" in s for s in seen) and any("taxi.png" in s for s in seen), seen  # and announced

    # what was read, in the reader's words, beside the receipt itself
    expect(lunch_card.get_by_label(w["vendor"])).to_have_value(re.compile(r"Tsui Wah|翠華"))
    expect(lunch_card.get_by_label(w["currency"])).to_have_value("HKD")
    expect(lunch_card.get_by_label(w["category"])).to_have_value("meals")  # suggested from the vendor's name
    expect(lunch_card.get_by_label(w["category"]).locator("option:checked")).to_have_text(w["meals"])
    expect(taxi_card.get_by_label(w["category"])).to_have_value("taxi")
    for card in (lunch_card, taxi_card):
        image = card.locator(".home-receipt img")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(SCREENSHOTS / f"{shots}-checking-{width}.png"), full_page=True)
    _no_sideways_scroll(page)
    if width == 390:  # the narrowest phones too
        page.set_viewport_size({"width": 360, "height": 740})
        _no_sideways_scroll(page)
        page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, base, f"home ({lang}), checking two receipts")

    # correct a field, then submit the lunch on its own
    lunch_card.get_by_label(w["vendor"]).fill("翠華 Tsui Wah")
    lunch_card.get_by_label(w["purpose"]).fill("client lunch 客戶午餐")
    lunch_card.get_by_role("button", name=w["submit"]).click()
    sent = page.locator("#uploads li.home-done", has_text=w["submitted"] + "翠華 Tsui Wah")
    expect(sent).to_be_visible()
    expect(sent.get_by_role("link", name=w["open_claim"])).to_have_attribute("href", re.compile(r"^claim/c-\w+$"))

    # the taxi goes into a new claim
    title = f"Client visit {lang} {width}"
    taxi_card.get_by_label(w["claim"], exact=True).select_option(label=w["new_claim"])
    taxi_card.get_by_label(w["new_title"]).fill(title)
    taxi_card.get_by_role("button", name=w["add"]).click()
    expect(page.locator("#uploads li.home-done", has_text=w["added"] + title)).to_be_visible()

    # both claims listed, each with its amount as the reader writes it and its status in words
    submitted = page.locator("#claims > li", has_text="翠華 Tsui Wah").filter(has_text=_hk(lunch_total))
    expect(submitted).to_have_count(1)
    expect(submitted.locator(".chip")).to_have_text(w["waiting"])  # never in_approval
    expect(submitted.get_by_role("link")).to_have_attribute("href", re.compile(r"^claim/c-\w+$"))
    draft = page.locator("#claims > li", has_text=title)
    expect(draft).to_contain_text(_hk(fare))
    expect(draft.locator(".chip")).to_have_text(w["draft"])
    expect(page.locator("#loose > li", has=page.locator(f"text={_hk(fare)}"))).to_have_count(0)  # not left behind
    _no_sideways_scroll(page)
    assert_accessible(page, base, f"home ({lang}), with the claims listed")


def test_employee_checks_two_receipts_then_submits_one_and_claims_the_other(page, local_app):
    _journey(page, local_app.base, "en", offset=0)


def test_employee_does_the_same_in_traditional_chinese(page, local_app):
    _journey(page, local_app.base, "zh-Hant", offset=20)


def _doubtful(route) -> None:
    """GET /expenses/{id} as extraction answers a receipt it is unsure of: the reasons it gives and a low
    confidence in the vendor (the page marks each field with its reason)."""
    response = route.fetch()
    body = response.json()
    if route.request.method == "GET" and body.get("status") in ("extracted", "needs_review"):
        body.update(status="needs_review", confidence={**body["confidence"], "vendor": 0.41},
                    review_reasons=["total confidence 0.55 below 0.80", "date 2027-01-05 is in the future",
                                    "the receipt is folded over"])
    route.fulfill(response=response, json=body)


def test_a_refused_file_says_why_the_others_go_on_and_doubtful_fields_say_why(page, local_app):
    """A file of the wrong type is refused on the page in words, with nothing sent, and can be removed; the good
    file beside it uploads and is read; what extraction doubts is marked on its field with the reason in words."""
    width = page.width
    good = receipt_png("大快活 Fairwood", date(2026, 11, 5), [("早餐 Breakfast", f"{31 + width % 11}.00")])
    sign_in(page, local_app.base, "E201")
    page.route(re.compile(r"/expenses/e-[0-9a-f]+$"), _doubtful)
    page.locator("#files").set_input_files(files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a receipt"},
        {"name": "breakfast.png", "mimeType": "image/png", "buffer": good}])
    refused = page.locator("#uploads > li", has_text="notes.txt")
    expect(refused.locator(".home-state")).to_have_text(re.compile(r"cannot be read: use a JPEG, PNG or HEIC"))
    expect(refused.get_by_role("button", name="Remove")).to_be_visible()

    card = page.locator("#uploads li.home-review-card")
    expect(card).to_have_count(1, timeout=READING)
    expect(card.locator(".chip")).to_have_text("Please check")
    expect(card.locator(".home-doubts-head")).to_have_text("4 to check: marked below.")
    expect(card.locator(".home-doubts")).to_contain_text("the receipt is folded over")  # unknown: as written
    doubtful = card.locator(".home-doubt")
    expect(doubtful).to_have_count(3)
    expect(doubtful.filter(has=page.get_by_label("Total", exact=True))).to_contain_text(
        "The total is hard to read on the photo.")
    expect(doubtful.filter(has=page.get_by_label("Date on the receipt"))).to_contain_text(
        "The date read (5 Jan 2027) is in the future.")
    expect(doubtful.filter(has=page.get_by_label("Shop or company"))).to_contain_text("Hard to read on the photo.")
    expect(card.get_by_label("Currency")).not_to_have_attribute("aria-describedby", re.compile("why"))
    page.screenshot(path=str(SCREENSHOTS / f"employee-doubtful-{width}.png"), full_page=True)
    _no_sideways_scroll(page)
    assert_accessible(page, local_app.base, "home, one file refused and one to check")
    refused.get_by_role("button", name="Remove").click()
    expect(page.locator("#uploads > li", has_text="notes.txt")).to_have_count(0)

    # kept for later, it waits under the unattached receipts, and opens again from there
    card.get_by_role("button", name="Keep for later").click()
    expect(card).to_have_count(0)
    kept = page.locator("#loose > li", has_text="大快活 Fairwood").filter(has_text=f"HK${31 + width % 11}.00")
    expect(kept).to_have_count(1)
    expect(kept.locator(".chip")).to_have_text(re.compile(r"^(Please check|Read)$"))
    kept.get_by_role("button", name=re.compile("^Check")).click()
    expect(page.locator("#uploads li.home-review-card").get_by_label("Shop or company")).to_have_value(
        re.compile("Fairwood"))


def test_an_upload_cut_off_by_the_network_can_be_tried_again(page, local_app):
    """The connection drops while a receipt is sent: the page says so, keeps the file, and a retry sends it."""
    width = page.width
    png = receipt_png("美心MX Maxim's MX", date(2026, 11, 6), [("午餐 Lunch", f"{45 + width % 11}.00")])
    sign_in(page, local_app.base, "E201")
    cut = []

    def drop_once(route):
        if route.request.method != "POST":  # receipt images of the unattached list come from the bucket too
            route.continue_()
        elif not cut:
            cut.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(lambda url: not url.startswith(local_app.base), drop_once)  # the uploads bucket, not the API
    page.locator("#camera").set_input_files(files=[{"name": "lunch.png", "mimeType": "image/png", "buffer": png}])
    row = page.locator("#uploads > li", has_text="lunch.png")
    expect(row.locator(".home-state")).to_have_text(re.compile("no connection. Nothing is lost; try again"))
    assert_accessible(page, local_app.base, "home, an upload cut off")
    row.get_by_role("button", name="Try again").click()
    card = page.locator("#uploads li.home-review-card")
    expect(card.get_by_label("Total", exact=True)).to_have_value(f"{45 + width % 11}.00", timeout=READING)
    expect(card.get_by_label("Category")).to_have_value("meals")
    assert len(cut) == 1


def test_an_approver_is_told_how_many_claims_wait_and_where(page, local_app):
    """The waiting list itself is on the inbox page; home says how many wait and links there."""
    local_app.command(op="report", employee="E201", title=f"Kowloon visit {page.width}", vendor="City Taxi",
                      items=[["Taxi", f"{70 + page.width % 9}.00"]], km=12)
    sign_in(page, local_app.base, "E200")
    notice = page.locator("#to-approve")
    expect(notice).to_contain_text(re.compile(r"\d+ claims? waits? for your approval"))
    expect(notice.get_by_role("link", name="To approve")).to_have_attribute("href", "inbox")
    assert_accessible(page, local_app.base, "home of an approver")


def test_a_notification_link_to_a_claim_opens_the_claim_page(page, local_app):
    """The claimant's messages linked `#claim=ID` on the old page: that link now opens the claim's own page, and
    someone not signed in is sent to sign in first and comes back to it."""
    page.goto(f"{local_app.base}/#claim=c-0123456789abcdef0123456789abcdef")
    expect(page).to_have_url(f"{local_app.base}/signin?next=claim%2Fc-0123456789abcdef0123456789abcdef")
    sign_in(page, local_app.base, "E201", next_path="claim%2Fc-0123456789abcdef0123456789abcdef")
    expect(page).to_have_url(f"{local_app.base}/claim/c-0123456789abcdef0123456789abcdef")


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


RETURNED = {"claim_id": "c-" + "a" * 32, "employee_id": "E201", "status": "returned",
            "return_reason": "Please add the taxi receipt 請補交的士收據", "created_at": "2026-11-18T02:00:00Z",
            "updated_at": "2026-11-20T06:02:00Z",
            "summary": {"title": "Macau trip 澳門", "totals": {"HKD": "147.00", "MOP": "1920.00"},
                        "hkd_total": "2011.20", "period": ["2026-11-17", "2026-11-18"],
                        "expenses": [{"date": "2026-11-17"}, {"date": "2026-11-18"}]}}


def test_a_returned_claim_stands_out_with_its_amounts_per_currency_and_in_hkd(page, local_app):
    """GET /claims answering a claim returned for correction, in two currencies: it comes first, says what to fix,
    each currency's sum and the HKD equivalent, and links to its page."""
    def claims(route):
        response = route.fetch()
        body = response.json()
        route.fulfill(response=response, json={"claims": [*body["claims"], RETURNED]})

    page.route(re.compile(r"/claims$"), claims)
    sign_in(page, local_app.base, "E201")
    first = page.locator("#claims > li").first
    expect(first).to_have_class(re.compile("home-returned"))
    expect(first.get_by_role("link", name="Macau trip 澳門")).to_have_attribute("href", "claim/c-" + "a" * 32)
    expect(first.locator(".chip")).to_have_text("Returned for correction")
    expect(first).to_contain_text("Returned: fix it and submit again. Please add the taxi receipt 請補交的士收據")
    expect(first.locator(".home-amounts li")).to_have_text(["HK$147.00", "MOP 1,920.00"])
    expect(first).to_contain_text("About HK$2,011.20 in all")
    expect(first).to_contain_text("17 Nov 2026 – 18 Nov 2026 · 2 items")
    assert_accessible(page, local_app.base, "home with a returned claim")
