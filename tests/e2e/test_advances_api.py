"""Cash advances over the API on the local stack: request, manager approval, finance payment, the JSON shape,
read and approval refusals, and the scheduled overdue reminder invoked as EventBridge would (once a day)."""

from __future__ import annotations

import json
import re

from chalicelib import bootstrap
from infra import resources as r

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _remind(stack) -> dict:
    out = stack.client("lambda").invoke(FunctionName=r.function_name("local", "remind_overdue_advances"),
                                        Payload=b"{}")
    return json.loads(out["Payload"].read())


def test_an_advance_is_requested_approved_paid_and_chased_once(driver, stack):
    status, body = driver.call("POST", "/advances", {"amount": "1,234.50", "currency": "HKD",
                                                     "purpose": "Trade fair float"}, driver.auth("E201"))
    assert status == 201, body
    advance_id = body["advance_id"]
    assert body["amount"] == {"amount": "1234.50", "currency": "HKD"} and body["status"] == "requested"
    assert ISO_Z.match(body["created_at"]), body["created_at"]

    assert driver.call("POST", "/advances", {"amount": "10", "purpose": "x"}, driver.auth("E201"))[0] == 400
    assert driver.call("POST", f"/advances/{advance_id}/decision", {"decision": "approve"},
                       driver.auth("E202"))[0] == 403  # a peer
    assert driver.call("GET", f"/advances/{advance_id}", None, driver.auth("E202"))[0] == 404
    status, body = driver.call("POST", f"/advances/{advance_id}/decision", {"decision": "approve", "comment": "ok"},
                               driver.auth("E200"))
    assert (status, body["status"], body["approver_id"]) == (200, "approved", "E200"), body
    assert driver.call("POST", f"/advances/{advance_id}/payment", {"payment_reference": "FPS-1"},
                       driver.auth("E200"))[0] == 403  # the manager is not finance
    status, body = driver.call("POST", f"/advances/{advance_id}/payment", {"payment_reference": "FPS-1"},
                               driver.auth("E300"))
    assert (status, body["status"], body["paid_hkd"]) == (200, "paid", {"amount": "1234.50", "currency": "HKD"})
    assert ISO_Z.match(body["paid_at"])

    status, listing = driver.call("GET", "/advances?status=paid", None, driver.auth("E201"))
    assert status == 200 and [a["advance_id"] for a in listing["advances"]] == [advance_id]
    assert driver.call("GET", "/finance/advances/overdue", None, driver.auth("E201"))[0] == 403
    assert driver.call("GET", "/finance/advances/overdue", None, driver.auth("E300"))[1] == {"advances": []}

    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"advance_overdue_days": 0}))
    status, body = driver.call("GET", "/finance/advances/overdue", None, driver.auth("E300"))
    assert [a["advance_id"] for a in body["advances"]] == [advance_id]
    stack.employee_messages()  # whatever the run before left
    assert _remind(stack) == {"reminded": 1}
    assert _remind(stack) == {"reminded": 0}  # the same day: once
    sent = [m for m in stack.employee_messages(wait_seconds=1) if "advance_overdue" in json.dumps(m)]
    assert len(sent) == 1 and "黃小明" not in json.dumps(sent[0], ensure_ascii=False)
    actions = [rec.action for rec in c.advances.history(advance_id)]
    assert actions == ["advance.requested", "advance.approved", "advance.paid", "advance.overdue_reminded"]
