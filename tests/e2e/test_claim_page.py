"""The claim page's API on the local stack: GET /claims/{id}/timeline names who did what and who holds the claim now
(from the directory: names and departments, never ids), with times in UTC; it follows a return and a resubmission;
the claim's read rules decide who sees it (others: not found). The page shell itself carries no claim data."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from chalicelib import bootstrap
from tests.e2e.test_approval_flow import submitted

LEE = {"name": "李嘉欣 Lee Ka Yan", "department": "Sales 銷售部"}  # E201's line manager
WONG = {"name": "黃小明 Wong Siu Ming", "department": "Sales 銷售部"}


def timeline(driver, claim_id: str, who: str) -> tuple[int, dict]:
    return driver.call("GET", f"/claims/{claim_id}/timeline", None, driver.auth(who))


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, text
    return moment


def test_the_timeline_names_the_approver_holding_the_claim_through_a_return_and_a_resubmission(driver):
    claim_id = submitted(driver, purpose="client lunch 客戶午餐")
    first = driver.approval_message(claim_id, level=1)

    status, view = timeline(driver, claim_id, "E201")
    assert status == 200, view
    assert view["claimant"] == WONG
    assert [e["kind"] for e in view["events"]] == ["created", "submitted"]
    assert view["events"][1]["by"] == WONG
    holder = view["holder"]
    assert (holder["kind"], holder["who"], holder["level"]) == ("approver", LEE, 1)
    issued = [r for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}")
              if r.action == "approval.level_1.requested"]
    assert utc(holder["since"]) == issued[0].at  # when the link was issued, not when the claim last changed
    assert view["editable"] is False and "allowances" not in view
    assert view["totals"]["estimate"] is False  # valued at submission
    claim = driver.claim("E201", claim_id)
    assert view["totals"]["claimed"] == [{"currency": "HKD", "amount": claim["summary"]["total"],
                                          "hkd": claim["valuation"]["hkd_total"]["amount"]}]

    expense_id = claim["expenses"][0]["expense_id"]
    status, body = driver.call("POST", f"{urlparse(first['link']).path}/decision",
                               {"decision": "return", "comment": "the date is wrong 日期有誤",
                                "fix_expenses": [expense_id]}, {})
    assert status == 200, body

    status, view = timeline(driver, claim_id, "E201")
    assert status == 200, view
    returned = view["events"][-1]
    assert (returned["kind"], returned["by"], returned["level"]) == ("returned", LEE, 1)
    assert returned["comment"] == "the date is wrong 日期有誤" and len(returned["to_fix"]) == 1
    assert (view["holder"]["kind"], view["holder"]["who"]) == ("claimant", WONG)
    assert utc(view["holder"]["since"]) == utc(returned["at"])
    assert view["editable"] is True and "private_car" in view["allowances"]["vehicles"]
    status, other = timeline(driver, claim_id, "E200")  # the approver reads it, but cannot edit it
    assert status == 200 and other["editable"] is False

    status, body = driver.submit("E201", claim_id)
    assert status == 200 and body["status"] == "in_approval", body
    status, view = timeline(driver, claim_id, "E201")
    assert [e["kind"] for e in view["events"]] == ["created", "submitted", "returned", "resubmitted"]
    assert (view["holder"]["kind"], view["holder"]["who"]) == ("approver", LEE)
    assert utc(view["holder"]["since"]) >= utc(view["events"][-1]["at"])
    assert "E200" not in str(view) and "E201" not in str(view)  # names, not employee ids


def test_only_the_claims_readers_see_its_timeline_and_others_learn_nothing(driver):
    claim_id = submitted(driver)
    driver.approval_message(claim_id, level=1)
    for reader in ("E201", "E200", "E300", "E400"):  # the claimant, the approver, finance of HK Sales, the auditor
        assert timeline(driver, claim_id, reader)[0] == 200, reader
    for outsider in ("E202", "E121"):  # a colleague without approver or finance rights; another department
        status, body = timeline(driver, claim_id, outsider)
        assert status == 404, (outsider, body)
    assert timeline(driver, "c-does-not-exist", "E201")[0] == 404
    assert driver.call("GET", f"/claims/{claim_id}/timeline", None, {})[0] == 401

    status, page = driver.call("GET", f"/claim/{claim_id}", None, {})  # the shell: no sign-in, no claim data
    assert status == 200
    html = page["raw"]
    assert 'src="../static/claim.js"' in html and "Wong Siu Ming" not in html
    assert 'id="audit-section"' in html  # claim.js fills it from GET /claims/{id}/audit: verified up to when, or not
