"""The finance dashboard in a real browser (headless Chromium), on a phone (390×844) and a laptop (1366×900): a
finance user signs in and sees the KPI tiles, the four charts drawn by chart.js with their figures in words and
tables, the department's claims by title and claimant with localised status chips and HK$ amounts, filters by
category, and exports CSV (a download). No horizontal scrolling; axe-core finds no serious or critical violation.

Screenshots: artifacts/screenshots/finance_dashboard-<width>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

TITLES = ("Client lunch 客戶午餐", "Trade fair 展覽會")
STATUS_WORDS = re.compile(r"^(Submitted|Checked|Awaiting approval|Approved|Paid)$")


@pytest.fixture(scope="module")
def claims(local_app, browser):
    """Two claims of Sales (HK-SALES), filed through the app by two employees (receipt, mileage line, submit);
    the first approved at once by its approver through the link in their message."""
    lunch = local_app.command(op="report", employee="E201", title=TITLES[0], vendor="翠華 Tsui Wah",
                              items=[["午餐 Lunch", "188.00"]], km=8, seconds=180)
    approver = browser.new_context()  # the approver, deciding through the link alone, as from their message
    try:
        answer = approver.request.post(lunch["link"] + "/decision", data={"decision": "approve"})
        assert answer.status == 200 and answer.json()["decision"] == "approved"  # then approved and paid
    finally:
        approver.close()
    fair = local_app.command(op="report", employee="E202", title=TITLES[1], vendor="會展 HKCEC",
                             items=[["攤位 Booth", "900.00"]], km=20, seconds=180)
    return [lunch, fair]


def _until_shown(page, locator, text: str, attempts: int = 10) -> None:
    """The aggregates follow the claims stream a moment after the decision: ask again (Show) until they do."""
    for _ in range(attempts):
        try:
            expect(locator).to_have_text(text, timeout=3_000)
            return
        except AssertionError:
            page.get_by_role("button", name="Show").click()
    expect(locator).to_have_text(text)


def test_finance_dashboard(page, local_app, claims, tmp_path):
    base = local_app.base
    sign_in(page, base, "E300", "finance")  # 張美 Cheung Mei: finance of Sales
    expect(page.get_by_role("heading", name="Expense claims at a glance")).to_be_visible()
    expect(page.locator("#fin-status-line")).to_contain_text("2 claims")

    # KPI tiles: words and formatted figures, never raw JSON
    tiles = page.locator("#fin-tiles")
    expect(tiles.locator("#kpi-spend .big")).to_have_text(re.compile(r"^HK\$[\d,]+\.\d\d$"))
    expect(tiles.locator("#kpi-adoption .big")).to_have_text("50%")  # 2 of Sales' 4 staff have filed
    expect(tiles.locator("#kpi-adoption .detail")).to_contain_text("2 of 4 staff")
    expect(tiles.locator("#kpi-adoption .verdict")).to_have_text("Below target")
    expect(tiles.locator("#kpi-approval h3")).to_have_text("Decided within 48 hours")
    _until_shown(page, tiles.locator("#kpi-approval .big"), "100%")  # the lunch, approved at once
    expect(tiles.locator("#kpi-approval .detail")).to_contain_text("1 of 1 decided claims")
    expect(tiles.locator("#kpi-flagged .big")).to_have_text(re.compile(r"^\d+$"))
    assert "{" not in tiles.inner_text()

    # four charts drawn by chart.js on their canvas, each with its figures as words and as a table
    for chart in ("category", "department", "month", "approval"):
        figure = page.locator(f"#chart-{chart}")
        expect(figure.locator("canvas")).to_have_count(1)
        drawn = page.evaluate("id => !!window.Chart.getChart(document.querySelector(`#chart-${id} canvas`))", chart)
        assert drawn, f"the {chart} chart was not drawn"
        expect(figure.locator(".chart-summary")).not_to_be_empty()
        assert figure.locator("tbody tr").count() >= 1
    expect(page.locator("#chart-department .chart-summary")).to_contain_text(re.compile(r"Sales.*HK\$"))
    expect(page.locator("#chart-category tbody")).to_contain_text("Travel")  # the mileage lines
    expect(page.locator("#chart-approval .chart-summary")).to_have_text("0-4 hours: 1")

    # the claim list: titles, claimants' names, status chips in words, HK$ amounts; no ids
    table = page.locator("#fin-claims")
    for title in TITLES:
        expect(table).to_contain_text(title)
    expect(table).to_contain_text("Wong Siu Ming")
    expect(table.locator(".chip")).to_have_count(2)
    for chip in table.locator(".chip").all():
        expect(chip).to_have_text(STATUS_WORDS)
    expect(table.locator("td.num").first).to_have_text(re.compile(r"HK\$[\d,]+\.\d\d"))
    text = table.inner_text()
    assert "c-" not in text and "in_approval" not in text
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    assert_accessible(page, base, "the finance dashboard")

    # search, then filter by category
    page.get_by_label("Search title, vendor or claimant").fill("ho wing")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(TITLES[1])
    page.get_by_label("Search title, vendor or claimant").fill("")
    expect(table.locator("tbody tr")).to_have_count(2)
    page.get_by_label("Category", exact=True).select_option("entertainment")
    page.get_by_role("button", name="Show").click()
    expect(table).to_contain_text("No claims match these filters.")
    expect(page.locator("#kpi-spend .big")).to_have_text("HK$0.00")
    page.get_by_label("Category", exact=True).select_option("travel")
    page.get_by_role("button", name="Show").click()
    expect(table.locator("tbody tr")).to_have_count(2)

    # export what is on screen as CSV: a download of the two rows, in words
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".csv"
    rows = saved.read_text("utf-8-sig").splitlines()
    assert rows[0].startswith("Claim,Claimant,Department") and len(rows) == 3
    assert {r.split(",")[0] for r in rows[1:]} == set(TITLES)
    expect(page.locator("#fin-export-done")).to_contain_text("downloaded")
    page.evaluate("window.scrollTo(0, 0)")


def test_finance_users_see_their_own_department_only_and_employees_are_turned_away(page, local_app, claims):
    base = local_app.base
    sign_in(page, base, "E300", "finance")
    expect(page.locator("#fin-status-line")).to_contain_text("claims")
    expect(page.locator("#fin-dept-field")).to_be_hidden()  # finance cannot pick another department

    page.context.clear_cookies()
    sign_in(page, base, "E400", "finance")  # the auditor picks any department or all
    expect(page.locator("#fin-dept-field")).to_be_visible()
    expect(page.locator("#fin-dept option")).to_have_count(4)  # all, and the three departments
    page.get_by_label("Department", exact=True).select_option(label="Operations 營運")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#fin-claims")).to_contain_text("No claims match these filters.")

    sign_in(page, base, "E201", "finance")  # an employee
    expect(page.locator("#fin-denied")).to_be_visible()
    expect(page.locator("#fin-body")).to_be_hidden()
