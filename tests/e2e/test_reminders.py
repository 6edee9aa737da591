"""Reminder ladder on the real reminders state machine: push at once, SMS, then a voice call; decided steps
stop their reminders at once; Typhoon Signal No. 8 pauses them and lowering it resumes them.

No test sleeps to show that a reminder did not come: each waits for the reminder execution to end (a stopped or
finished execution can send nothing more), then checks what was sent. Claims are urgent so that the approver's
working hours (the wall clock's time of day) never hold an SMS back."""

from __future__ import annotations

import boto3

from chalicelib import bootstrap
from chalicelib.domain.schedule import ReminderPolicy
from harness import lambda_shim
from harness.driver import wait_for
from tests.e2e.test_approval_flow import submitted


def fast_reminders(sms: int, voice: int) -> None:
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"reminders": ReminderPolicy(
        sms_after_seconds=sms, voice_after_seconds=voice, resume_stagger_seconds=2)}))


def reminder_executions(stack) -> dict[str, str]:
    sfn = boto3.client("stepfunctions", region_name="ap-east-1")
    found = sfn.list_executions(stateMachineArn=stack.arns["state_machine:reminders"])["executions"]
    return {e["name"]: e["status"] for e in found}


def ended_reminders(stack, count: int) -> dict[str, str]:
    """Wait until `count` reminder executions exist and none is running; their final statuses."""
    def ended():
        found = reminder_executions(stack)
        return len(found) == count and "RUNNING" not in found.values() and found

    return wait_for(ended)  # type: ignore[return-value]


def test_unanswered_approver_gets_sms_then_a_call(driver, stack):
    fast_reminders(sms=1, voice=1)
    claim_id = submitted(driver, urgent=True)  # urgent: not held back to working hours
    assert driver.approval_message(claim_id, level=1)["approver_id"] == "E200"
    calls: list[dict] = []
    wait_for(lambda: calls.extend(stack.telephony_messages()) or len(calls) >= 2)
    assert [m["channel"] for m in calls] == ["sms", "voice"]
    assert calls[0]["to"] == "+85251230200" and "/approvals/" in calls[0]["text"] and "HKD 90.00" in calls[0]["text"]
    assert "waiting for your approval" in calls[1]["text"]

    def recorded():  # the reminder Lambda audits each call just after the provider took it
        actions = [r.action for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}")]
        return "reminder.voice_sent" in actions and actions

    actions = wait_for(recorded)
    assert actions.count("reminder.sms_sent") == 1 and actions.count("reminder.voice_sent") == 1
    sms = next(r for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}") if r.action == "reminder.sms_sent")
    assert sms.after["to"] == "+852****00"  # the number is masked in the audit trail


def test_deciding_stops_pending_reminders_at_once(driver, stack):
    # The SMS is due in an hour, so the decision comes first however slow the machine, and the ladder can only
    # end in time for the wait below by being stopped (or, if the decision beat the ladder's start, by finding
    # the step decided when it plans).
    fast_reminders(sms=3600, voice=1)
    seen = len(lambda_shim.INVOCATIONS)
    claim_id = submitted(driver, urgent=True)
    message = driver.approval_message(claim_id, level=1)
    assert driver.decide(message["link"], "approve")[0] == 200
    driver.wait_status("E201", claim_id, {"posted"})
    # Ended: ABORTED when stopped in its Wait state. moto's parser sometimes records a stop that lands while a
    # task is in flight as FAILED; SUCCEEDED when it planned after the decision and found nothing to chase.
    statuses = ended_reminders(stack, 1)
    assert set(statuses.values()) <= {"ABORTED", "SUCCEEDED", "FAILED"}
    assert lambda_shim.drain()
    assert stack.telephony_messages() == []  # nobody was called, and nobody can be: the ladder has ended
    ran = lambda_shim.INVOCATIONS[seen:]
    assert not [i for i in ran if "reminder" in i["function"] and not i["ok"]]
    assert not [i for i in ran if i["function"].endswith("send_reminder")]


def test_severe_weather_pauses_reminders_and_lowering_resumes_them_staggered(driver, stack):
    fast_reminders(sms=1, voice=3600)
    assert driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E201"))[0] == 403
    status, body = driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E900"))
    assert status == 200 and body["severe"]
    seen = len(lambda_shim.INVOCATIONS)
    # urgent: even claims that are never held back to working hours pause during a No. 8 signal
    first, second = submitted(driver, urgent=True), submitted(driver, vendor="Another Café", urgent=True)
    for claim_id in (first, second):
        driver.approval_message(claim_id, level=1)
    # Each ladder planned under the signal and ended without waiting for its SMS (1 s): paused, not delayed.
    assert set(ended_reminders(stack, 2).values()) == {"SUCCEEDED"}
    assert lambda_shim.drain()
    assert not [i for i in lambda_shim.INVOCATIONS[seen:] if i["function"].endswith("send_reminder")]
    assert stack.telephony_messages() == []  # paused: nobody is called during a No. 8 signal
    status, body = driver.call("PUT", "/admin/weather", {"signal": "T3"}, driver.auth("E900"))
    assert status == 200 and body["reminders_resumed"] == 2
    sms: list[dict] = []
    wait_for(lambda: sms.extend(stack.telephony_messages()) or len(sms) >= 2)
    assert [m["channel"] for m in sms] == ["sms", "sms"]
    assert len(reminder_executions(stack)) == 4  # the two resumed ladders are new executions
