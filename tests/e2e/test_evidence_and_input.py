"""Evidence and input (security review): what a claimant types or uploads cannot strand, break or replace a
claim. Each test failed before its fix."""

from __future__ import annotations

import json
from datetime import date

from chalicelib import bootstrap
from tests.receipts import receipt_png

LUNCH = ("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")])
SUBMIT = {"total": "90.00", "currency": "HKD", "category": "meals", "vendor": "Tsui Wah",
          "receipt_date": "2026-11-03"}


def _extracted(driver, employee="E201"):
    claim_id = driver.upload(employee, receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_status(employee, claim_id, {"extracted", "needs_review"})
    return claim_id


def test_a_made_up_currency_is_refused_where_it_is_typed(driver):
    claim_id = _extracted(driver)
    before = driver.claim("E201", claim_id)
    for method, path in (("PATCH", f"/claims/{claim_id}"), ("POST", f"/claims/{claim_id}/submit")):
        status, body = driver.call(method, path, {**SUBMIT, "currency": "ZZZ"}, driver.auth("E201"))
        assert status == 400, body
        assert "'ZZZ' is not an ISO 4217 currency code" in json.dumps(body, ensure_ascii=False)
    assert driver.claim("E201", claim_id) == before


def test_absurd_amounts_get_a_clear_400_not_a_500(driver):
    claim_id = _extracted(driver)
    edits = ({"total": "1e26"}, {"total": "10,000,000,000.01"},
             {**SUBMIT, "line_items": [{"description": "tea", "amount": "1e26"}]})
    for edit in edits:
        for method, path in (("PATCH", f"/claims/{claim_id}"), ("POST", f"/claims/{claim_id}/submit")):
            status, body = driver.call(method, path, edit, driver.auth("E201"))
            assert status == 400, (edit, body)
            assert "too large" in body["error"] and "10,000,000,000" in body["error"]
    status, body = driver.call("PATCH", f"/claims/{claim_id}", {"total": "10000000000"}, driver.auth("E201"))
    assert status == 200 and body["total"]["amount"] == "10000000000"  # the bound itself is accepted


def test_a_currency_without_an_hkd_rate_fails_visibly_and_the_claimant_is_told(driver):
    """THB is real ISO 4217 but finance configured no rate: before, scoring raised, the stream record went to the
    dead-letter queue and the claim stayed `submitted` for ever."""
    assert "THB" not in bootstrap.container().directory.policy().fx.hkd_per_unit
    claim_id = _extracted(driver)
    status, body = driver.submit("E201", claim_id, {**SUBMIT, "currency": "THB"})
    assert status == 200, body
    claim = driver.wait_status("E201", claim_id, {"failed", "in_approval", "scored"})
    assert claim["status"] == "failed"
    assert claim["failure_reason"] == "it could not be scored: no HKD exchange rate is configured for THB"
    told = driver.claimant_message(claim_id, "failed")
    assert "no HKD exchange rate is configured for THB" in told["en"] and told["status"] == "failed"


def test_the_local_servers_request_log_never_holds_an_approval_token(stack, caplog, capfd):
    """`make demo` serves approval links; before, the request log printed `/approvals/<token>` whole."""
    import http.client
    import socket

    from harness import demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = demo.start_api(port)
    token = "eyJsaW5rIjoiYWJjIn0.secret-signature-xyz"
    try:
        with caplog.at_level("INFO", logger="hk-expense.local-api"):
            for path in (f"/approvals/{token}", f"/approvals/{token}/decision", "/claims/c-1"):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
    finally:
        if server is not None:
            server.server.shutdown()
            server.server.server_close()
    logged = [r.getMessage() for r in caplog.records if r.name == "hk-expense.local-api"]
    out, err = capfd.readouterr()
    assert "secret-signature-xyz" not in " ".join(logged) + out + err + caplog.text
    assert any('"GET /approvals/{token} HTTP/1.1" 410' in line for line in logged), logged
    assert any("/approvals/{token}/decision" in line for line in logged)
    assert any("/claims/c-1" in line for line in logged)
