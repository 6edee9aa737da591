"""DynamoDB stream of the claims table -> the finance dashboard's aggregates (chalicelib/services/finance.py).

The batch is applied in order, a transaction per chunk; the answer is the partial-batch response
(`ReportBatchItemFailures`): the first record not applied and every one after it, so the stream retries from
there. Records applied before a failure are recognised by their markers on the retry and not counted again.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer
from pydantic import ValidationError

from chalicelib import bootstrap
from chalicelib.adapters.events import ClaimStreamRecord
from chalicelib.adapters.repositories import claim_from_body
from chalicelib.observability import lambda_logger
from chalicelib.services import finance

logger = lambda_logger("hk-expense-finance")
tracer = Tracer(service="hk-expense-finance")  # X-Ray in AWS; responses are not captured


def changes(event: dict) -> tuple[list[finance.ClaimChange], list[str]]:
    """The batch's records as claim changes, up to the first that cannot be read (its sequence number and every
    later one are returned as not applied, so order is kept)."""
    records = event.get("Records") or []
    out: list[finance.ClaimChange] = []
    for i, raw in enumerate(records):
        try:
            record = ClaimStreamRecord.model_validate(raw)
            new = record.dynamodb.NewImage
            old = record.dynamodb.OldImage
            new_claim = claim_from_body(new.body) if new else None
            old_claim = claim_from_body(old.body) if old else None
            claim_id = (new_claim or old_claim).claim_id
        except (ValidationError, AttributeError):
            logger.exception("unreadable claims stream record")
            return out, [str((r.get("dynamodb") or {}).get("SequenceNumber", "")) for r in records[i:]]
        out.append(finance.ClaimChange(sequence=str(record.dynamodb.SequenceNumber), claim_id=claim_id,
                                       old=old_claim, new=new_claim))
    return out, []


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    parsed, unreadable = changes(event)
    c = bootstrap.container()
    failed = finance.apply_changes(parsed, c.aggregates, c.directory.policy().fx)
    if failed or unreadable:
        logger.warning("finance aggregates: records left for retry", extra={"count": len(failed) + len(unreadable)})
    return {"batchItemFailures": [{"itemIdentifier": s} for s in [*failed, *unreadable]]}
