"""Scheduled (daily) Lambda: the HKMA's end-of-day exchange rates loaded into the `fx_rates` table, so posting
converts at the day's published rate without finance uploading it (services/posting.load_feed_rates).

Each run reads the last week of the feed and loads only the rates the table does not hold yet (a missed run or a
holiday is caught up; a second run the same day loads nothing). The feed unreachable or its payload refused
fails the run (the Errors metric, EventBridge's retries); the rates already loaded stand, and posting refuses a
rate older than the policy's staleness window rather than guess.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools import Tracer

from chalicelib import bootstrap
from chalicelib.adapters.ledgers.fx_feed import FeedUnavailable
from chalicelib.domain.identity import SYSTEM
from chalicelib.observability import lambda_logger
from chalicelib.services import posting

logger = lambda_logger("hk-expense-fx-rates")
tracer = Tracer(service="hk-expense-fx-rates")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    c = bootstrap.container()
    now = datetime.now(UTC)
    try:
        load = posting.load_feed_rates(c.rates, c.rate_feed, now)
    except FeedUnavailable as e:
        logger.error("rates feed unavailable; yesterday's rates stand", extra={"error": str(e)[:300]})
        raise
    summary = {"loaded": load.loaded, "already_held": load.already_held, "currencies": load.currencies,
               "from": load.first.isoformat(), "to": load.last.isoformat(), "loaded_by": "hkma-feed",
               "loaded_at": now.isoformat()}
    if load.loaded:
        c.audit.event("FXRATES", now, SYSTEM, "fx_rates.loaded", summary)
    logger.info("rates feed loaded", extra=summary)
    return summary
