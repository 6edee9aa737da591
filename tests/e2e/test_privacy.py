"""PDPO through the API: bank details sealed and read only by payroll (each read on the person's audit chain), the
data access request (DSAR) as a ZIP with a readable summary, correction requests queued to the department's
finance, and the RBAC table's refusals in words, enforced before any route body runs."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from chalicelib import bootstrap
from chalicelib.adapters.dynamo_models import DirectoryItem
from chalicelib.services.privacy import person_entity
from tests import audit_events

EN = {"Accept-Language": "en"}
ACCOUNT = {"holder_name": "WONG SIU MING", "bank_code": "004", "branch_code": "123", "account_number": "456789001"}
CARD = "4111 1111 1111 1111"


def _grant(employee_id: str, role: str) -> None:
    """Roles come from the directory at each request: the change holds from the next call."""
    directory = bootstrap.container().directory
    employee = directory.employee(employee_id)
    directory.put_employee(employee.model_copy(update={"roles": [*employee.roles, role]}))


def _as(driver, employee_id: str) -> dict:
    return {**driver.auth(employee_id), **EN}


def test_bank_details_are_sealed_read_by_payroll_only_and_every_read_is_audited(driver):
    status, body = driver.call("PUT", "/me/bank-account", ACCOUNT, _as(driver, "E201"))
    assert status == 200, body
    assert body["bank_account"]["account_number"] == "****9001" and "****9001" in body["message"]
    stored = DirectoryItem.get("BANK#E201", "PROFILE").body
    assert "456789001" not in stored and "WONG" not in stored

    path = "/employees/E201/bank-account"
    status, body = driver.call("GET", path, None, _as(driver, "E300"))  # finance of E201's own department
    assert status == 403 and body["error"] == ("This is for a finance admin or payroll; you are signed in as an "
                                               "employee or an approver or finance (own department).")
    assert driver.call("GET", path, None, _as(driver, "E201"))[0] == 403  # not even one's own, in full
    _grant("E121", "payroll")
    status, body = driver.call("GET", path, None, _as(driver, "E121"))
    assert status == 200 and body["bank_account"]["account_number"] == "456789001"
    assert "audit" in body["message"]

    chain = bootstrap.container().audit.records(person_entity("E201"))
    assert [r.action for r in chain] == ["bank_account.set", "bank_account.read"]
    assert chain[1].after["reader"] == "E121" and "payroll" in chain[1].after["reader_roles"]
    assert "456789001" not in json.dumps([r.model_dump(mode="json") for r in chain])


def test_a_data_access_request_exports_everything_masked_and_corrections_reach_finance(driver, api):
    status, claim = driver.call("POST", "/claims", {"title": f"Taxi, card {CARD}", "purpose": "client visit"},
                                _as(driver, "E201"))
    assert status == 201, claim
    assert driver.call("PUT", "/me/bank-account", ACCOUNT, _as(driver, "E201"))[0] == 200

    resp = api.http.get("/me/data-export", headers={**_as(driver, "E201"), "Accept": "application/zip"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.body))
    assert sorted(archive.namelist()) == ["data.json", "summary.txt"]
    data = json.loads(archive.read("data.json"))
    summary = archive.read("summary.txt").decode()
    assert [c["claim_id"] for c in data["claims"]] == [claim["claim_id"]]
    assert data["claims"][0]["title"] == "Taxi, card ****1111"  # the card number masked in the copy
    assert data["bank_account"]["account_number"] == "****9001"
    assert data["audit_records"]["claims"][claim["claim_id"]]  # the claim's own trail
    assert "Expense claims: 1." in summary and "Bank account for reimbursements: ****9001" in summary
    assert "456789001" not in resp.body.decode("latin-1")

    # a finance admin runs it for the employee; finance of the department cannot
    assert driver.call("POST", "/admin/dsar/E201?format=json", None, _as(driver, "E300"))[0] == 403
    _grant("E110", "finance_admin")
    status, body = driver.call("POST", "/admin/dsar/E201?format=json", None, _as(driver, "E110"))
    assert status == 200 and body["data"]["employee"]["employee_id"] == "E201"
    assert body["summary"][0].startswith("Personal data held about 黃小明 Wong Siu Ming (E201)")
    exports = [r for r in bootstrap.container().audit.records(person_entity("E201"))
               if r.action == "privacy.data_export"]
    assert [r.after["requested_by"] for r in exports] == ["E201", "E110"]

    # a correction request: to E201's department's finance (E300), not to another department's (E121)
    status, body = driver.call("POST", "/me/correction-requests",
                               {"what_is_wrong": "My name is 黃小明, not 黃曉明"}, _as(driver, "E201"))
    assert status == 201 and "sent to finance" in body["message"]
    request_id = body["request"]["request_id"]
    assert driver.call("GET", "/finance/correction-requests", None, _as(driver, "E201"))[0] == 403
    ids = [r["request_id"] for r in driver.call("GET", "/finance/correction-requests", None,
                                                _as(driver, "E300"))[1]["requests"]]
    assert ids == [request_id]
    assert driver.call("GET", "/finance/correction-requests", None, _as(driver, "E121"))[1]["requests"] == []
    status, body = driver.call("POST", f"/finance/correction-requests/{request_id}/resolve",
                               {"outcome": "corrected", "note": "Directory name fixed"}, _as(driver, "E300"))
    assert status == 200 and body["request"]["status"] == "corrected"
    [mine] = driver.call("GET", "/me/correction-requests", None, _as(driver, "E201"))[1]["requests"]
    assert (mine["status_words"], mine["resolution"]) == ("Corrected", "Directory name fixed")
    actions = [r.action for r in bootstrap.container().audit.records(person_entity("E201"))]
    assert actions[-2:] == ["privacy.correction_requested", "privacy.correction_corrected"]


def test_the_table_refuses_before_the_route_runs_and_the_refusal_is_audited(driver):
    today = datetime.now(UTC).date()
    status, body = driver.call("POST", "/claims", {"title": "x"}, _as(driver, "E400"))  # the auditor reads only
    assert status == 403 and body["error"].startswith("This is for an employee")
    assert "an auditor (read-only)" in body["error"]
    assert bootstrap.container().claims.by_employee("E400") == []  # the route body never ran
    refused = [r for r in audit_events.events("API", today) if r.after["path"] == "/claims"]
    assert [(r.role, r.after["method"], r.after["status"]) for r in refused] == [("auditor", "POST", 403)]
    status, body = driver.call("GET", "/finance/overview", None, driver.auth("E201"))  # 繁中 by default
    assert status == 403 and "此操作只限" in body["error"]
