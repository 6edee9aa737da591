"""Step Functions Task handlers of the approval state machine (Lambdas that Chalice does not own).

Each handler parses its payload, calls one service and returns JSON; errors propagate so the state
machine's Retry/Catch decide what happens next.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer
from pydantic import BaseModel

from chalicelib import bootstrap
from chalicelib.domain.routing import ApprovalStep, Route
from chalicelib.observability import lambda_logger
from chalicelib.services import posting, routing
from chalicelib.services.approvals import requests

logger = lambda_logger("hk-expense-approval")
tracer = Tracer(service="hk-expense-approval")  # X-Ray in AWS; responses are not captured (claim data)


class ClaimTask(BaseModel):
    claim_id: str
    error: dict | None = None


class ApprovalTask(BaseModel):
    claim_id: str
    level: int
    step: ApprovalStep
    task_token: str
    steps: list[ApprovalStep] = []  # the whole route: its other approvers may not stand in for this one


class EscalationTask(BaseModel):
    claim_id: str
    idx: int
    routing: Route


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def route_claim(event: dict, context: object) -> dict:
    task = ClaimTask.model_validate(event)
    c = bootstrap.container()
    return routing.route(task.claim_id, c.claims, c.directory).model_dump(mode="json")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def request_approval(event: dict, context: object) -> dict:
    task = ApprovalTask.model_validate(event)
    link_id = requests.request_approval(bootstrap.container().approvals, task.claim_id, task.level, task.step,
                                        task.task_token, task.steps)
    logger.info("approver notified", extra={"claim_id": task.claim_id, "level": task.level, "link_id": link_id})
    return {"link_id": link_id}


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def escalate(event: dict, context: object) -> dict:
    task = EscalationTask.model_validate(event)
    route = requests.escalate(bootstrap.container().approvals, task.claim_id, task.idx, task.routing)
    logger.warning("approval escalated", extra={"claim_id": task.claim_id, "level": task.idx + 1})
    return route.model_dump(mode="json")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def record_rejection(event: dict, context: object) -> dict:
    task = ClaimTask.model_validate(event)
    c = bootstrap.container()
    posting.record_rejection(task.claim_id, c.claims, c.claimant_updates.tell)
    return {"claim_id": task.claim_id, "status": "rejected"}


class PostingTask(BaseModel):
    claim_id: str
    task_token: str


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def post_to_ledger(event: dict, context: object) -> dict:
    """The approval flow's PostToLedger task (`.waitForTaskToken`): the claim approved and handed to the posting
    queue with the task's token; the posting worker (functions/posting_worker.py) answers the token."""
    task = PostingTask.model_validate(event)
    c = bootstrap.container()
    record = posting.hand_off(c.posting, task.claim_id)
    c.posting_queue.send({"claim_id": task.claim_id, "period": record.period, "task_token": task.task_token})
    logger.info("claim queued for posting", extra={"claim_id": task.claim_id, "ledger": record.ledger})
    return {"claim_id": task.claim_id, "queued": True}


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def mark_failed(event: dict, context: object) -> dict:
    task = ClaimTask.model_validate(event)
    error = task.error or {}
    logger.warning("approval flow failed", extra={"claim_id": task.claim_id, "error": error.get("Error"),
                                                  "cause": str(error.get("Cause", ""))[:300]})
    c = bootstrap.container()
    posting.mark_failed(task.claim_id, task.error, c.claims, c.claimant_updates.tell)
    return {"claim_id": task.claim_id, "status": "failed"}
