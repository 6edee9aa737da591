"""Scheduled (daily) Lambda: remind the holders of overdue cash advances (備用金) through the employees' topic.

Safe to run more than once a day: remind_overdue sends at most one reminder per advance per UTC day.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools import Tracer

from chalicelib import bootstrap
from chalicelib.observability import lambda_logger
from chalicelib.services import advances

logger = lambda_logger("hk-expense-advances")
tracer = Tracer(service="hk-expense-advances")  # X-Ray in AWS; responses are not captured


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    c = bootstrap.container()
    sent = advances.remind_overdue(c.advances, c.directory, c.employee_notifier, datetime.now(UTC))
    logger.info("overdue advance reminders sent", extra={"count": len(sent)})  # ids only in the audit trail
    return {"reminded": len(sent)}
