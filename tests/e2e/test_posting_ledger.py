"""Posting on the local stack: the approval flow's PostToLedger task hands the claim to the `posting` queue and
waits; the posting worker books it in the company's ledger and answers. Finance loads dated rates, reads the
reconciliation and downloads the general journal; a ledger that refuses the claim leaves it `posting_failed` with
the message, the claimant told, and the flow ended without marking the claim failed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib import bootstrap, cli
from chalicelib.domain.posting_record import period_of
from harness.driver import wait_for
from infra import resources as r
from tests import audit_events
from tests.e2e.test_approval_flow import executions, submitted
from tests.unit.adapters.test_fx_feed import Recorded
from tests.unit.services.test_fx_rate_feed import recorded_for

RATES = "currency,date,rate,source\nUSD,2026-11-27,7.8155,HKMA er-eeri-daily\nJPY,2026-11-27,0.05213,HKMA\n"


def _csv_post(api, driver, employee_id: str, text: str):
    resp = api.http.request("POST", "/fx-rates", body=text.encode(),
                            headers={"Content-Type": "text/csv", **driver.auth(employee_id)})
    return resp.status_code, json.loads(resp.body)


def _get(api, driver, path: str, employee_id: str = "E300"):
    resp = api.http.request("GET", path, headers=driver.auth(employee_id))
    return resp.status_code, resp.body.decode("utf-8-sig")


def _approve(driver, claim_id: str) -> None:
    step = driver.approval_message(claim_id, level=1)
    assert driver.decide_signed_in(step["link"], "approve")[0] == 200


def test_finance_loads_rates_all_or_nothing_and_only_finance_may(api, driver):
    status, body = _csv_post(api, driver, "E300", RATES)
    assert status == 201, body
    assert (body["loaded"], body["currencies"], body["loaded_by"]) == (2, ["JPY", "USD"], "E300")
    [usd] = bootstrap.container().rates.rates("USD")
    assert (str(usd.hkd_per_unit), usd.source, usd.loaded_by) == ("7.8155", "HKMA er-eeri-daily", "E300")

    status, body = _csv_post(api, driver, "E300", RATES + "EUR,2026-11-31,8.4,x\nHKD,2026-11-27,1,x\n")
    assert status == 400
    assert [row["line"] for row in body["rows"]] == [4, 5]
    assert bootstrap.container().rates.rates("EUR") == []  # nothing of the bad file was loaded

    assert _csv_post(api, driver, "E201", RATES)[0] == 403


def test_an_approved_claim_is_posted_off_the_queue_and_reconciled_and_in_the_journal(api, driver, stack):
    claim_id = submitted(driver)
    _approve(driver, claim_id)
    final = driver.wait_status("E201", claim_id, {"posted", "posting_failed", "failed"})
    assert final["status"] == "posted", final
    assert (final["ledger"], final["external_document_id"]) == ("internal", f"JE-{claim_id}")
    assert final["expenses"][0]["booked"]["rate_source"] == "base currency"
    period = period_of(datetime.now(UTC))

    status, body = _get(api, driver, f"/finance/reconciliation?period={period}")
    assert status == 200
    answer = json.loads(body)
    [internal] = answer["ledgers"]
    assert (internal["ledger"], internal["approved"], internal["posted"], internal["failed"]) == (
        "internal", 1, 1, 0)
    assert internal["ledger_name"] in ("本系統日記賬", "This system's journal")
    status, body = _get(api, driver, f"/finance/reconciliation?period={period}&format=csv")
    assert status == 200 and body.startswith("period,ledger,approved,posted")

    status, body = _get(api, driver, f"/finance/journal.csv?period={period}")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert status == 200 and {r["journal_id"] for r in rows} == {f"JE-{claim_id}"}
    assert sum(float(r["debit"]) for r in rows) == sum(float(r["credit"]) for r in rows) == 90.0
    assert _get(api, driver, f"/finance/reconciliation?period={period}", "E201")[0] == 403
    # finance of another department sees none of it; an auditor sees every department
    assert json.loads(_get(api, driver, f"/finance/reconciliation?period={period}", "E121")[1])["ledgers"] == []
    assert json.loads(_get(api, driver, f"/finance/reconciliation?period={period}", "E400")[1])["ledgers"]
    assert _get(api, driver, "/finance/reconciliation?period=2026-13")[0] == 400
    # the execution waited on the worker's answer and succeeded with the document
    assert _ended(stack) == ("SUCCEEDED", None)


def _ended(stack) -> tuple[str, str | None]:
    """The one execution's end: its status and error, once it is no longer running."""
    sfn = boto3.client("stepfunctions", region_name="ap-east-1")
    [execution] = executions(stack)
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"]
                    != "RUNNING" and d)
    return done["status"], done.get("error")


def test_a_ledger_refusal_leaves_the_claim_posting_failed_with_the_message_and_finance_reposts(api, driver, stack):
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"ledger": "xero"}))  # nobody connected it
    claim_id = submitted(driver)
    _approve(driver, claim_id)

    final = driver.wait_status("E201", claim_id, {"posted", "posting_failed", "failed"})
    assert final["status"] == "posting_failed", final
    assert "xero is not connected" in final["posting_error"]
    assert _ended(stack) == ("FAILED", "PostingFailed")  # ended by the worker's answer, not MarkFailed
    assert driver.claim("E201", claim_id)["status"] == "posting_failed"
    told = driver.claimant_message(claim_id, "posting_failed")
    assert "xero is not connected" in told["en"] and "會計系統未能入賬" in told["zh-Hant"]
    period = period_of(datetime.now(UTC))
    answer = json.loads(_get(api, driver, f"/finance/reconciliation?period={period}")[1])
    [difference] = answer["differences"]
    assert (difference["claim_id"], difference["kind"]) == (claim_id, "failed")
    assert "xero is not connected" in difference["reason"] and difference["kind_text"]
    # finance was told on its channel, in words, and the reconciliation says when
    told = wait_for(lambda: [m for m in driver.inbox + (driver.inbox.extend(stack.approver_messages()) or [])
                             if m.get("kind") == "posting_failed" and m.get("claim_id") == claim_id])
    assert "xero is not connected" in told[0]["en"] and "入賬" in told[0]["zh-Hant"]
    assert told[0]["finance"] == ["E110"] and difference["finance_told_at"]

    # finance switches the company back to its own journal and posts the claim again
    c.directory.put_policy(c.directory.policy().model_copy(update={"ledger": "internal"}))
    resp = api.http.request("POST", f"/finance/claims/{claim_id}/repost", body=b"{}",
                            headers={"Content-Type": "application/json", **driver.auth("E300")})
    assert resp.status_code == 202, resp.body
    assert driver.wait_status("E201", claim_id, {"posted"})["ledger"] == "internal"
    again = api.http.request("POST", f"/finance/claims/{claim_id}/repost", body=b"{}",
                             headers={"Content-Type": "application/json", **driver.auth("E300")})
    assert again.status_code == 409


MILEAGE = {"kind": "mileage", "vehicle": "private_car", "distance_km": "42", "date": "2026-11-20",
           "description": "office -> client site 公司 -> 客戶"}


def test_finance_downloads_the_ir56b_allowances_with_the_hkid_admins_see_it_masked_each_download_audited(
        api, driver, capsys):
    c = bootstrap.container()
    person = c.directory.employee("E201")
    c.directory.put_employee(person.model_copy(update={"surname": "WONG", "given_name": "Siu Ming",
                                                       "name_zh": "黃小明", "hkid": "A123456(7)"}))
    status, claim = driver.create_claim("E201", "Client visit 客戶拜訪", [])
    assert status == 201, claim
    assert driver.add_line("E201", claim["claim_id"], MILEAGE)[0] == 201
    assert driver.submit("E201", claim["claim_id"])[0] == 200
    driver.wait_status("E201", claim["claim_id"], {"in_approval"})
    _approve(driver, claim["claim_id"])
    assert driver.wait_status("E201", claim["claim_id"], {"posted", "posting_failed", "failed"})["status"] == "posted"
    year = datetime.now(UTC).year - (datetime.now(UTC).month < 4)

    status, body = _get(api, driver, f"/finance/ir56b.csv?year={year}")
    assert status == 200, body
    rows = [r for r in csv.DictReader(io.StringIO(body.split("\r\n\r\n")[0]))]
    mine = next(r for r in rows if r["employee_id"] == "E201")
    assert (mine["2_surname"], mine["3a_hk_identity_card_number"], mine["11k_amount_hkd"]) == (
        "WONG", "A123456(7)", "21")
    assert "ir56b-11k-mileage-above-cost" in mine["rules_applied"]
    status, body = _get(api, driver, f"/finance/ir56b.csv?year={year}", "E900")  # admin: every department, masked
    assert status == 200 and "A123456(7)" not in body and "A1*****(*)" in body
    assert _get(api, driver, f"/finance/ir56b.csv?year={year}", "E201")[0] == 403
    assert _get(api, driver, f"/finance/ir56b.csv?year={year}", "E400")[0] == 403  # auditors file no returns
    assert _get(api, driver, "/finance/ir56b.csv?year=abc")[0] == 400

    exported = [e for e in audit_events.events("IR56B", datetime.now(UTC).date()) if e.action == "ir56b.exported"]
    assert [(e.after["hkid"], e.after["department"]) for e in exported][-2:] == [
        ("shown", "HK-SALES"), ("masked", "all")]
    assert all("A123456" not in json.dumps(e.after) for e in exported)

    # the same file from the command line: masked unless asked for, and audited too
    capsys.readouterr()
    assert cli.main(["ir56b", "--year", str(year)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tax_year,1_employer_file_no") and "A1*****(*)" in out and "A123456(7)" not in out
    assert cli.main(["ir56b", "--year", str(year), "--show-hkid"]) == 0 and "A123456(7)" in capsys.readouterr().out
    assert len([e for e in audit_events.events("IR56B", datetime.now(UTC).date())]) == len(exported) + 2


def test_the_daily_feed_loads_the_hkma_rates_once_and_posting_uses_them(stack):
    yesterday = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=1)
    c = bootstrap.container()
    c.rate_feed.session.mount("https://api.hkma.gov.hk/", Recorded(body=recorded_for(yesterday)))
    invoke = stack.client("lambda").invoke

    first = json.loads(invoke(FunctionName=r.function_name("local", "load_fx_rates"), Payload=b"{}")["Payload"].read())
    again = json.loads(invoke(FunctionName=r.function_name("local", "load_fx_rates"), Payload=b"{}")["Payload"].read())

    assert (first["loaded"], again["loaded"], again["already_held"]) == (17, 0, 17)
    [usd] = [rate for rate in c.rates.rates("USD") if rate.rate_date == yesterday]
    assert (str(usd.hkd_per_unit), usd.source, usd.loaded_by) == ("7.7812", "HKMA er-eeri-daily", "hkma-feed")
    assert c.rates.book({"USD"}).rate_for("USD", yesterday).hkd_per_unit == usd.hkd_per_unit
    loads = [e for e in audit_events.events("FXRATES", datetime.now(UTC).date()) if e.after.get("loaded_by") ==
             "hkma-feed"]
    assert [e.after["loaded"] for e in loads] == [17]  # the second run loaded nothing and recorded nothing
