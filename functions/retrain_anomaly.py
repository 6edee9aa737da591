"""Scheduled (daily) Lambda: retrain the company's anomaly model from its claims, validate it on a held-out slice,
store the new version in the models bucket and promote it only if it clears the validation floor
(chalicelib/services/anomaly_model.py). A container image function: scikit-learn does not fit the zip bundle.

Safe to run more than once: each run writes a new version (named by its time); scoring containers keep the version
they loaded until they are recycled. Logs carry the company, the version, the row count and the outcome, never
claim content.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools import Tracer

from chalicelib import bootstrap
from chalicelib.adapters import model_store
from chalicelib.observability import lambda_logger
from chalicelib.services import anomaly_model

logger = lambda_logger("hk-expense-retrain")
tracer = Tracer(service="hk-expense-retrain")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    c = bootstrap.container()
    store = model_store.from_environment()
    if store is None:
        raise RuntimeError("MODELS_BUCKET is not configured")
    now = datetime.now(UTC)
    policy = c.directory.policy()
    rows = anomaly_model.company_rows(c.claims, c.directory, policy, now)
    outcome = anomaly_model.retrain(store, policy.company, rows, now)
    result = {"company": outcome.company, "version": outcome.version, "promoted": outcome.promoted,
              "reason": outcome.reason, "rows": len(rows)}
    logger.info("anomaly model retrained", extra=result)
    return result
