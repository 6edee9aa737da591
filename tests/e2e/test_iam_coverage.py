"""Every AWS call a function makes on the local stack is allowed by the role the template gives it.

moto does not enforce IAM, so without this a permission missing from `infra/template.py access()` would only
show as AccessDenied in AWS. One run through every function's path (upload, e-mail intake, a report of expenses,
scoring, routing, return and resubmit, escalation to the desk, SMS reminders, rejection, posting, a failed claim,
the read APIs) records each function's calls (harness/iam_recorder.py) and checks them against its policy: the
action, and for DynamoDB the table or index.

Every path is reached by waiting for its event, never by a timer winning a race: the SLA changes inside the
escalations (see test_approval_flow.before_escalating) and the SMS and call are awaited before the decision.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from chalice import Chalice

from chalicelib import bootstrap
from harness import iam_recorder
from harness.driver import wait_for
from infra import resources as r
from infra import template as t
from tests.e2e.test_approval_flow import before_escalating, gate, set_sla, submitted
from tests.e2e.test_reminders import fast_reminders
from tests.integration.test_email_intake_moto import _raw_message
from tests.receipts import LUNCH, receipt_png
from tests.unit.adapters.test_fx_feed import Recorded
from tests.unit.services.test_fx_rate_feed import recorded_for

STAGE = "dev"  # the deploy stage closest to local (dev tokens on)
# The local stack's stand-in for AWS End User Messaging (an SQS outbox) replaces sms-voice calls.
TELEPHONY_STAND_IN = {"sqs:SendMessage", "sqs:GetQueueUrl"}


def _allowed(fn: r.Function) -> set[tuple[str, str | None]]:
    """(action, table-or-index name as the local stack names it, or None) for each statement of the role."""
    tables = {t.table_id(tb.logical): r.physical_name("local", tb.logical) for tb in r.TABLES}
    out: set[tuple[str, str | None]] = set()
    for s in t.function_policy(STAGE, fn, t.access(STAGE)[fn.logical])["Statement"]:
        targets: set[str | None] = {None}
        for res in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
            if isinstance(res, dict) and "Fn::GetAtt" in res and res["Fn::GetAtt"][0] in tables:
                targets.add(tables[res["Fn::GetAtt"][0]])
            elif isinstance(res, dict) and "Fn::Sub" in res and "/index/" in res["Fn::Sub"]:
                table_ref, index = res["Fn::Sub"].split("/index/")
                targets.add(f"{tables[table_ref.removeprefix('${').removesuffix('.Arn}')]}/index/{index}")
        out |= {(a, target) for a in s["Action"] for target in targets}
    return out


def test_every_recorded_call_is_allowed_by_the_functions_role(driver, stack, monkeypatch):
    real_call = Chalice.__call__

    def as_api_handler(self, event, context):
        with iam_recorder.running(r.function_name("local", t.API_HANDLER)):
            return real_call(self, event, context)

    monkeypatch.setattr(Chalice, "__call__", as_api_handler)
    iam_recorder.install()
    try:
        c = bootstrap.container()
        # A's first wait times out only once it is resubmitted; E100's timeout puts it on the escalation desk, whose
        # re-armed wait (an hour) lasts until the admin's reassignment is decided
        resubmitted = threading.Event()
        set_sla(2)
        before_escalating(monkeypatch, {"E200": gate(resubmitted), "E100": lambda: set_sla(3600)})
        # e-mail intake: the SES S3 action's write
        import boto3

        boto3.client("s3", region_name="ap-east-1").put_object(
            Bucket=c.settings.raw_mail_bucket, Key="inbound/iam-coverage-1", Body=_raw_message())
        # A: returned and resubmitted, then nobody answers: escalated to E100, then to the escalation desk
        a = submitted(driver, purpose="")
        first = driver.approval_message(a, level=1)
        try:
            assert driver.decide_signed_in(first["link"], "return", "purpose please")[0] == 200
            assert driver.submit("E201", a, {"purpose": "client lunch"})[0] == 200
        finally:
            resubmitted.set()
        wait_for(lambda: any(m.get("kind") == "escalation_desk" for m in
                             driver.inbox + (driver.inbox.extend(stack.approver_messages()) or [])))
        for path in ("/me/approvals", "/admin/escalations", "/dashboard/summary", "/dashboard/approvals",
                     f"/claims/{a}/signatures",
                     f"/claims/{a}/audit", f"/claims/{a}/timeline", "/claims"):
            assert driver.call("GET", path, None, driver.auth("E900"))[0] in (200, 403), path
        assert driver.call("GET", "/me/approvals", None, driver.auth("E100"))[0] == 200
        assert driver.call("POST", f"/admin/claims/{a}/reassign", {"approver_id": "E300", "reason": "cover"},
                           driver.auth("E900"))[0] == 200
        while (covered := driver.approval_message(a, level=1))["approver_id"] != "E300":
            pass  # the earlier steps' messages come first
        assert driver.decide_signed_in(covered["link"], "approve")[0] == 200

        def settled_or_next_step():  # a later step (finance review of a risky claim): approve its link
            if driver.claim("E201", a)["status"] in ("posted", "failed"):
                return True
            driver.inbox.extend(stack.approver_messages())
            steps = [m for m in driver.inbox if m.get("kind") == "approval" and m["claim"]["claim_id"] == a
                     and m["level"] > 1]
            if steps:
                driver.inbox.clear()
                driver.decide_signed_in(steps[-1]["link"], "approve")
            return False

        wait_for(settled_or_next_step, every=0.3)
        assert driver.claim("E201", a)["status"] == "posted"
        # B: its approver is reminded by SMS and a call (urgent: working hours never hold them back), then rejects
        fast_reminders(sms=1, voice=1)
        b = submitted(driver, employee="E202", urgent=True)
        link = driver.approval_message(b, level=1)["link"]
        calls: list[dict] = []
        wait_for(lambda: calls.extend(stack.telephony_messages()) or len(calls) >= 2)
        assert [m["channel"] for m in calls] == ["sms", "voice"]
        assert driver.decide_signed_in(link, "reject", "no")[0] == 200
        driver.wait_status("E202", b, {"rejected"})
        # C: a policy without a top approver: nobody may approve the top of the chain's claim. It fails, visibly,
        # and the claimant is told.
        c.directory.put_policy(c.directory.policy().model_copy(update={"top_approver_id": None}))
        top = submitted(driver, employee="E100")
        assert "no eligible approver" in driver.wait_status("E100", top, {"failed"})["failure_reason"]
        assert "no eligible approver" in driver.claimant_message(top, "failed")["en"]
        # D: a cash advance requested, approved, paid and listed over the API; the daily reminder finds it overdue
        status, advance = driver.call("POST", "/advances", {"amount": "800", "purpose": "float"}, driver.auth("E202"))
        assert status == 201, advance
        one = f"/advances/{advance['advance_id']}"
        assert driver.call("POST", f"{one}/decision", {"decision": "approve"}, driver.auth("E200"))[0] == 200
        assert driver.call("POST", f"{one}/payment", {"payment_reference": "FPS-1"}, driver.auth("E300"))[0] == 200
        for path in ("/advances", "/advances?status=paid", one, "/finance/advances/overdue"):
            assert driver.call("GET", path, None, driver.auth("E300"))[0] == 200, path
        c.directory.put_policy(c.directory.policy().model_copy(update={"advance_overdue_days": 0}))
        stack.client("lambda").invoke(FunctionName=r.function_name("local", "remind_overdue_advances"), Payload=b"{}")
        # the daily anomaly retrain: the company's claims by department; too few here, so no version is written
        stack.client("lambda").invoke(FunctionName=r.function_name("local", "retrain_anomaly"), Payload=b"{}")
        # the hourly audit sweep: the chains that moved, sealed into the archive; the API calls in batches
        stack.client("lambda").invoke(FunctionName=r.function_name("local", "seal_audit_sweep"), Payload=b"{}")
        # the auditor's bundle of claim A: seals read back, receipts, signatures, both public keys, the zip stored
        today = datetime.now(UTC).date().isoformat()
        assert driver.call("POST", "/audit/exports", {"from": today, "to": today, "claim_id": a},
                           driver.auth("E400"))[0] == 201
        assert driver.call("GET", f"/claims/{a}/audit", None, driver.auth("E400"))[0] == 200
        # the daily HKMA rates feed (a recorded payload dated yesterday: no internet here)
        c.rate_feed.session.mount("https://api.hkma.gov.hk/", Recorded(body=recorded_for(
            (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=1))))
        stack.client("lambda").invoke(FunctionName=r.function_name("local", "load_fx_rates"), Payload=b"{}")
        wait_for(lambda: r.function_name("local", "intake_email") in iam_recorder.CALLS)
        # E: a report (報銷單) settling D's advance: a receipt joins the draft its upload names, a mileage line is
        # priced, the receipt is taken out again and listed among the unattached; submitted, approved, posted
        status, report = driver.create_claim("E202", "Kowloon client visits", purpose="visits",
                                             advance_id=advance["advance_id"])
        assert status == 201, report
        receipt = driver.upload("E202", receipt_png(*LUNCH), "lunch.png", "image/png", claim_id=report["claim_id"])
        wait_for(lambda: (e := driver.try_expense("E202", receipt)) and e["claim_id"] == report["claim_id"])
        mileage = {"kind": "mileage", "vehicle": "private_car", "distance_km": "12", "date": "2026-11-20",
                   "description": "office -> client, Kwun Tong"}
        assert driver.add_line("E202", report["claim_id"], mileage)[0] == 201
        assert driver.remove_expense("E202", report["claim_id"], receipt)[0] == 200
        assert [e["expense_id"] for e in driver.unattached("E202")] == [receipt]
        assert driver.submit_claim("E202", report["claim_id"])[0] == 200
        while (step := driver.approval_message(report["claim_id"], level=1))["approver_id"] != "E200":
            pass
        assert driver.decide_signed_in(step["link"], "approve")[0] == 200
        assert driver.wait_status("E202", report["claim_id"], {"posted", "failed"})["status"] == "posted"
        # F: personal data: a bank account sealed (KMS data key) and opened for payroll, a data export, a
        # correction request resolved by the department's finance
        account = {"holder_name": "HO WING", "bank_code": "024", "branch_code": "555", "account_number": "12345678"}
        assert driver.call("PUT", "/me/bank-account", account, driver.auth("E202"))[0] == 200
        payroll = c.directory.employee("E121")
        c.directory.put_employee(payroll.model_copy(update={"roles": [*payroll.roles, "payroll"]}))
        assert driver.call("GET", "/employees/E202/bank-account", None, driver.auth("E121"))[0] == 200
        assert driver.call("GET", "/me/data-export?format=json", None, driver.auth("E202"))[0] == 200
        status, asked = driver.call("POST", "/me/correction-requests", {"what_is_wrong": "my e-mail is misspelt"},
                                    driver.auth("E202"))
        assert status == 201, asked
        assert driver.call("POST", f"/finance/correction-requests/{asked['request']['request_id']}/resolve",
                           {"outcome": "corrected", "note": "fixed"}, driver.auth("E300"))[0] == 200
    finally:
        iam_recorder.uninstall()

    by_logical = {r.function_name("local", fn.logical): fn for fn in t.all_functions()}
    seen = {by_logical[name].logical for name in iam_recorder.CALLS if name in by_logical}
    assert seen == {fn.logical for fn in t.all_functions()}, seen  # every function's code path was taken
    missing = {}
    for name, calls in iam_recorder.CALLS.items():
        fn = by_logical[name]
        allowed = _allowed(fn)
        grant = t.access(STAGE)[fn.logical]
        lacking = sorted((action, table) for action, table in calls
                         if (action, table) not in allowed
                         and not (grant.telephony and action in TELEPHONY_STAND_IN))
        if lacking:
            missing[fn.logical] = lacking
    assert missing == {}, f"permissions the code uses but the role lacks: {missing}"
