"""Scheduled (daily) Lambda: retrain every company's anomaly model from its own claims (the directory's departments,
grouped by their company), validate each on a held-out slice, store each new version in the models bucket and
promote it only if it clears the validation floor; a company with too little history is recorded as "rules only"
with its claim count (chalicelib/services/anomaly_model.py `retrain_companies`). A container image function:
scikit-learn does not fit the zip bundle.

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
    outcomes = anomaly_model.retrain_companies(store, c.claims, c.directory, datetime.now(UTC))
    results = []
    for outcome in outcomes:
        run = outcome.metadata["run"]
        result = {"company": outcome.company, "version": outcome.version, "promoted": outcome.promoted,
                  "reason": outcome.reason, "rows": run["rows"], "claims": run["claims"]}
        logger.info("anomaly model retrained", extra=result)
        results.append(result)
    return {"companies": results}
