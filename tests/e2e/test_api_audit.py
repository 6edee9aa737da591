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
