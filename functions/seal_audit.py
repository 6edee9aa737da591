"""Seal the audit chains, off the request path.

- `on_claim_change`: the claims table's stream. A claim that reaches its end (approved, rejected, posted,
  failed) has its chain and its expenses' chains sealed now. A seal that cannot be made (KMS or S3 refused, or
  the chain does not verify) fails that record: the stream retries it, then sends it to the claims stream's
  dead-letter queue, which alarms.
- `sweep`: hourly (EventBridge). Every chain that moved in the last few hours and has records after its last
  seal is sealed, and the standalone events (an API call each) in hourly batches. A chain that does not verify is
  left unsealed and the run fails (the function's error alarm) after sealing everything else.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer
from pydantic import ValidationError

from chalicelib import bootstrap
from chalicelib.adapters.events import ClaimStreamRecord
from chalicelib.adapters.repositories import claim_from_body
from chalicelib.observability import lambda_logger
from chalicelib.services.audit_trail import END_STATES, TrailBroken

logger = lambda_logger("hk-expense-audit-seal")
tracer = Tracer(service="hk-expense-audit-seal")  # X-Ray in AWS; responses are not captured


class SweepFailed(Exception):
    """Some chains did not verify and were left unsealed (their ids are in the log)."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def on_claim_change(event: dict, context: object) -> dict:
    trail = bootstrap.container().audit_trail
    failures = []
    for raw in event.get("Records") or []:
        sequence = str((raw.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            record = ClaimStreamRecord.model_validate(raw)
            new = record.dynamodb.NewImage
            old = record.dynamodb.OldImage
            claim = claim_from_body(new.body) if new else None
            was = claim_from_body(old.body).status.value if old else None
        except (ValidationError, AttributeError):
            logger.exception("unreadable claims stream record")
            failures.append(sequence)
            continue
        if claim is None or claim.status.value not in END_STATES or claim.status.value == was:
            continue
        try:
            sealed = trail.seal_ended(claim.claim_id, [e.expense_id for e in claim.expenses])
        except TrailBroken as exc:
            logger.error("audit chain does not verify: not sealed",
                         extra={"entity": exc.check.entity, "problem": exc.check.problem.kind})
            failures.append(sequence)
            continue
        except Exception:  # noqa: BLE001 (KMS or S3: retried by the stream, then dead-lettered)
            logger.exception("audit seal failed", extra={"claim_id": claim.claim_id})
            failures.append(sequence)
            continue
        logger.info("audit sealed at the claim's end", extra={"claim_id": claim.claim_id, "seals": len(sealed)})
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failures]}


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def sweep(event: dict, context: object) -> dict:
    result = bootstrap.container().audit_trail.sweep()
    logger.info("audit sweep", extra={"sealed": result.sealed, "batches": result.batches,
                                      "broken": len(result.broken)})
    if result.broken:
        raise SweepFailed(f"{len(result.broken)} audit chain(s) do not verify: {', '.join(result.broken[:20])}")
    return {"sealed": result.sealed, "batches": result.batches}
