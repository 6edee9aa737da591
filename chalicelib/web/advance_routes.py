"""Cash advance (備用金) routes, a Blueprint that app.py registers.

The caller, JSON answers and error mapping come from chalicelib.web.http, as for app.py's routes (the principal is
cached on the request, so the app's audit middleware reuses it and the token is checked once). Security headers and
the per-call audit record come from the app's middleware, which wraps every route, blueprints' included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib import bootstrap
from chalicelib.domain.access import require_dashboard
from chalicelib.domain.advance import InvalidAdvance
from chalicelib.domain.identity import Principal
from chalicelib.services import advances
from chalicelib.web import http

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 (the entry point's clock; tests replace it)

class DecisionBody(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    comment: str = Field(default="", max_length=500)


class PaymentBody(BaseModel):
    payment_reference: str = Field(min_length=1, max_length=100)


_json = http.json_response
_api = http.api


def _principal() -> Principal:
    return http.principal(blueprint.current_request)


def _body() -> dict:
    try:
        body = blueprint.current_request.json_body
    except Exception as exc:
        raise InvalidAdvance("the request body is not valid JSON") from exc
    if body is not None and not isinstance(body, dict):
        raise InvalidAdvance("the request body must be a JSON object")
    return body or {}


@blueprint.route("/advances", methods=["POST"])
@_api
def request_advance():
    principal = _principal()
    c = bootstrap.container()
    body = advances.AdvanceRequest.model_validate(_body())
    advance = advances.request_advance(principal, c.advances, c.directory, body, clock())
    return _json(advances.advance_view(advance), 201)


@blueprint.route("/advances", methods=["GET"])
@_api
def list_advances():
    principal = _principal()
    status = (blueprint.current_request.query_params or {}).get("status")
    found = advances.list_advances(principal, bootstrap.container().advances, status)
    return _json({"advances": [advances.advance_view(a) for a in found]})


@blueprint.route("/advances/{advance_id}", methods=["GET"])
@_api
def get_advance(advance_id):
    advance = advances.get_advance(_principal(), bootstrap.container().advances, advance_id)
    return _json(advances.advance_view(advance))


@blueprint.route("/advances/{advance_id}/decision", methods=["POST"])
@_api
def decide_advance(advance_id):
    principal = _principal()
    c = bootstrap.container()
    body = DecisionBody.model_validate(_body())
    advance = advances.decide_advance(principal, c.advances, c.directory, advance_id, body.decision == "approve",
                                      body.comment, clock())
    return _json(advances.advance_view(advance))


@blueprint.route("/advances/{advance_id}/payment", methods=["POST"])
@_api
def record_payment(advance_id):
    principal = _principal()
    c = bootstrap.container()
    body = PaymentBody.model_validate(_body())
    advance = advances.record_payment(principal, c.advances, c.directory, advance_id, body.payment_reference,
                                      clock())
    return _json(advances.advance_view(advance))


@blueprint.route("/finance/advances/overdue", methods=["GET"])
@_api
def overdue_advances():
    """Finance, auditors and admins; each sees the overdue advances it may read (finance: its department)."""
    principal = _principal()
    require_dashboard(principal, "overdue advances")
    c = bootstrap.container()
    found = [a for a in advances.overdue_advances(c.advances, c.directory, clock()) if advances.can_read(principal, a)]
    return _json({"advances": [advances.advance_view(a) for a in found]})
