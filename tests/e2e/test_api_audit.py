"""Every API call is audited with the verified caller, and the caller's token is verified once per request."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from chalicelib import bootstrap
from tests import audit_events


def api_records(first_day: date) -> list:
    """The API audit records filed from `first_day` through today (UTC): each call is filed under the day it
    started, so a test running across midnight still finds its calls."""
    days = sorted({first_day, datetime.now(UTC).date()})
    return [r for day in days for r in audit_events.events("API", day)]


def test_each_call_is_audited_with_its_caller_after_one_token_check(driver, monkeypatch):
    headers = driver.auth("E201")
    verifier = bootstrap.container().verifier
    calls = []
    real_verify = verifier.verify

    def counting(token):
        calls.append(token)
        return real_verify(token)

    monkeypatch.setattr(verifier, "verify", counting)
    today = datetime.now(UTC).date()
    status, body = driver.call("GET", "/claims", None, headers)
    assert status == 200, body
    assert len(calls) == 1

    records = api_records(today)
    listing = [r for r in records if r.after and r.after.get("path") == "/claims" and r.after["method"] == "GET"]
    assert listing, "GET /claims left no audit record"
    assert listing[-1].actor_id != "anonymous" and listing[-1].after["status"] == 200


def test_a_refused_call_is_audited_as_anonymous(driver):
    today = datetime.now(UTC).date()
    status, _ = driver.call("GET", "/claims", None, {"Authorization": "Bearer not-a-jwt"})
    assert status == 401
    refused = api_records(today)
    assert any(r.actor_id == "anonymous" and r.after["status"] == 401 for r in refused)


def test_a_read_is_audited_with_the_claim_it_read_but_never_an_approval_token(driver):
    """Before, the record kept the route pattern (`/claims/{claim_id}`): which claim was read was lost."""
    from tests.e2e.test_bad_input import _in_approval

    claim_id, message = _in_approval(driver)
    assert driver.call("GET", f"/claims/{claim_id}", None, driver.auth("E300"))[0] == 200
    assert driver.call("GET", f"/claims/{claim_id}/audit", None, driver.auth("E400"))[0] == 200
    token = message["link"].rsplit("/", 1)[1]
    assert driver.call("GET", f"/approvals/{token}", None, {"Accept": "application/json"})[0] == 200

    records = audit_events.events("API", datetime.now(UTC).date())
    reads = {(r.actor_id, r.after["path"]) for r in records if r.after["method"] == "GET"}
    assert any(path == f"/claims/{claim_id}" for _, path in reads)
    assert any(path == f"/claims/{claim_id}/audit" for _, path in reads)
    approval = [r.after for r in records if r.after["route"] == "/approvals/{token}"]
    assert approval and approval[-1]["path"] == "/approvals/{token}"
    assert not any(token in json.dumps(r.after) for r in records)


def test_the_claim_audit_says_in_words_whether_the_trail_verifies_and_which_record_breaks_it(driver):
    from chalicelib.adapters.dynamo_models import AuditItem
    from chalicelib.adapters.repositories import _seq
    from tests.e2e.test_approval_flow import submitted

    claim_id = submitted(driver)
    english = {**driver.auth("E201"), "Accept-Language": "en"}
    status, body = driver.call("GET", f"/claims/{claim_id}/audit", None, english)
    assert status == 200, body
    assert body["verification"]["status"] == "not_sealed" and body["verification"]["problem"] is None
    assert all((r["before"] is None) == (r["before_digest"] is None) and r["after_digest"] for r in body["records"])

    c = bootstrap.container()
    # the claim's pipeline (scoring, routing) may still add records after the seal: they verify as the chain
    # after it, and the verification names the seal's own last record
    seal = c.audit_trail.seal(f"CLAIM#{claim_id}")
    assert seal is not None
    status, body = driver.call("GET", f"/claims/{claim_id}/audit", None, english)
    verification = body["verification"]
    assert verification["status"] == "verified" and verification["sealed_seq"] == seal.seq
    assert seal.seq <= len(body["records"])
    assert verification["message"].startswith("Verified up to ")

    item = AuditItem.get(f"CLAIM#{claim_id}", _seq(1))
    record = json.loads(item.body)
    record["actor_id"] = "someone-else"
    item.body = json.dumps(record)
    item.save()
    status, body = driver.call("GET", f"/claims/{claim_id}/audit", None, {**driver.auth("E201"),
                                                                            "Accept-Language": "zh-HK"})
    verification = body["verification"]
    assert verification["status"] == "broken" and verification["problem"] == {"kind": "edited", "seq": 1}
    assert verification["message"] == "審計紀錄未能通過核實。第 1 項紀錄在寫入後被修改。"
    status, body = driver.call("GET", f"/claims/{claim_id}/audit", None, english)
    assert body["verification"]["message"] == ("The audit trail does not verify. "
                                               "Record 1 was changed after it was written.")


def test_api_calls_carry_the_callers_user_agent_and_the_resource_they_touched(driver):
    today = datetime.now(UTC).date()
    headers = {**driver.auth("E201"), "User-Agent": "Mozilla/5.0 (iPhone) Safari/605.1"}
    assert driver.call("GET", "/claims", None, headers)[0] == 200
    mine = [r for r in api_records(today) if r.user_agent == "Mozilla/5.0 (iPhone) Safari/605.1"]
    assert mine and mine[-1].resource == "GET /claims" and mine[-1].after_digest
