"""Step Functions Task handlers of the reminders state machine."""

from __future__ import annotations

from aws_lambda_powertools import Tracer
from pydantic import BaseModel, Field

from chalicelib import bootstrap
from chalicelib.observability import lambda_logger
from chalicelib.services import reminders

logger = lambda_logger("hk-expense-reminders")
tracer = Tracer(service="hk-expense-reminders")  # X-Ray in AWS; responses are not captured (claim data)


class PlanTask(BaseModel):
    link_id: str
    delay_seconds: int = Field(default=0, ge=0)


class SendTask(BaseModel):
    link_id: str
    channel: str = Field(pattern="^(sms|voice)$")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def plan_reminders(event: dict, context: object) -> dict:
    task = PlanTask.model_validate(event)
    plan = reminders.plan(bootstrap.container().approvals, task.link_id, task.delay_seconds)
    logger.info("reminders planned", extra={"link_id": task.link_id, **plan.model_dump()})
    return plan.model_dump()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def send_reminder(event: dict, context: object) -> dict:
    task = SendTask.model_validate(event)
    c = bootstrap.container()
    sent = reminders.send(c.approvals, c.telephony, task.link_id, task.channel)
    logger.info("reminder", extra={"link_id": task.link_id, "channel": task.channel, "sent": sent})
    return {"stop": not sent}
