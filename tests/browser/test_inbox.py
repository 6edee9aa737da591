"""The approver's inbox in a real browser, on a phone (390×844) and a laptop (1366×900): what waits for them,
oldest first, each row with the claimant's name and department, the amount and how long it has waited, opening
its approval page; two ticked and approved together, each outcome a sentence. axe-core finds no serious or
critical violation, and nothing scrolls sideways at 360 px.

Screenshots: artifacts/screenshots/<journey>-<width>.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, assert_accessible, sign_in


def test_the_inbox_lists_waiting_claims_and_approves_two_at_once(page, local_app):
    claims = []
    for employee, name, n in (("E201", "黃小明 Wong Siu Ming", 1), ("E202", "何穎 Ho Wing", 2)):
        title = f"Lunch {n} at {page.width}"
        price = Decimal(150 + 10 * n + page.width % 7)  # its own receipt: a duplicate would add a review step
        local_app.command(op="report", employee=employee, title=title, vendor=f"茶餐廳 Cafe {n}",
                          items=[["午餐 Lunch", f"{price}.00"]], km=0, seconds=180)
        claims.append((title, name, price))

    sign_in(page, local_app.base, "E200", next_path="inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for your approval")
    for title, name, price in claims:
        row = page.locator("li.inbox-row", has_text=title)
        expect(row).to_contain_text(name)
        expect(row).to_contain_text("Sales 銷售部")
        expect(row).to_contain_text(f"HK${price:,.2f}")
        expect(row.locator(".row-meta")).to_contain_text(re.compile(r"waiting \d+ (min|h)"))
    assert_accessible(page, local_app.base, "the inbox")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})

    first = page.locator("li.inbox-row", has_text=claims[0][0])
    first.get_by_role("link").click()  # a row opens its approval page
    expect(page.get_by_role("heading", level=1)).to_have_text(claims[0][0])
    page.go_back()

    for title, _, _ in claims:
        page.get_by_role("checkbox", name=f"Select “{title}”").check()
    button = page.get_by_role("button", name="Approve selected (2)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"inbox-ticked-{page.width}.png"), full_page=True)
    button.click()
    outcomes = page.locator("#batch-out li")
    expect(outcomes).to_have_count(2, timeout=60_000)
    for title, _, _ in claims:
        expect(outcomes.filter(has_text=title)).to_have_text(f"You approved “{title}”.")
        expect(page.locator("li.inbox-row", has_text=title)).to_have_count(0)  # no longer waiting
    assert_accessible(page, local_app.base, "the inbox, two approved")
