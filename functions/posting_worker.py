"""The posting worker: SQS `posting` queue -> the company's ledger, exactly once (services/posting.py).

Each message is `{claim_id, period, task_token}` (the token of the approval flow's waiting PostToLedger task;
none when finance re-posts a failed claim). Per message:
- posted (or found already posted): the task is answered with SendTaskSuccess (document id and ledger);
- refused (the vendor's validation message, our payload breaking its schema, a connection needing finance, no
  usable rate): the claim is `posting_failed` with the message; the task fails with `PostingFailed` (the flow
  ends there, the claim already says why);
- the ledger unavailable (retryable): the message is reported as a batch item failure, so SQS redelivers it after
  the visibility timeout; on the last receive before the dead-letter queue finance is told (services/posting.
  FinanceAlerts) and the task fails with `PostingDeferred` (the claim stays `approved` and reconciliation lists it
  as dead-lettered, with when finance was told; a redrive posts it then).
A claim ending `posting_failed` is told to finance the same way, with the ledger's message.
Powertools' partial batch response: only the failed messages come back.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json

from chalicelib import bootstrap
from chalicelib.domain.errors import LedgerError
from chalicelib.observability import lambda_logger
from chalicelib.services import posting

logger = lambda_logger("hk-expense-posting")
tracer = Tracer(service="hk-expense-posting")


class PostingRequest(BaseModel):
    claim_id: str = Field(min_length=1, max_length=100)
    period: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")
    task_token: str | None = Field(default=None, repr=False)


class PostingMessage(SqsRecordModel):
    body: Json[PostingRequest]


_messages = BatchProcessor(event_type=EventType.SQS, model=PostingMessage, logger=logger)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=_post, processor=_messages, context=context)


def _post(record: PostingMessage) -> None:
    c = bootstrap.container()
    request = record.body
    try:
        outcome = posting.post(c.posting, request.claim_id, request.period)
    except LedgerError as e:
        receives = int(record.attributes.ApproximateReceiveCount)
        logger.warning("ledger unavailable; the queue retries", extra={
            "claim_id": request.claim_id, "receive": receives, "error": type(e).__name__})
        if e.retryable and receives >= c.settings.posting_max_receives:
            reason = f"the ledger was unavailable {receives} times; the message is dead-lettered: {e}"[:500]
            posting.dead_lettered(c.posting, request.claim_id, request.period, reason)  # finance told
            if request.task_token:
                c.workflow.fail(request.task_token, "PostingDeferred", reason)
        raise
    logger.info("posting answered", extra={"claim_id": request.claim_id, "status": outcome["status"],
                                           "ledger": outcome["ledger"]})
    if not request.task_token:
        return
    if outcome["status"] == "posted":
        c.workflow.succeed(request.task_token, dict(outcome))
    else:
        c.workflow.fail(request.task_token, "PostingFailed", str(outcome["error"] or "")[:500])
