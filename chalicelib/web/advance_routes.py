"""Cash advance (備用金) routes, a Blueprint that app.py registers.

It cannot import app.py (app.py imports it), so it verifies the caller the way app.py does, caching the principal
on the request under the same attribute, so the app's audit middleware reuses it and the token is checked once;
its error mapping covers the errors these routes raise. Security headers and the per-call audit record come from
the app's middleware, which wraps every route, blueprints' included.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from chalice import Blueprint, Response
from pydantic import BaseModel, Field, ValidationError

from chalicelib import bootstrap
from chalicelib.adapters.tokens import Unauthorized
from chalicelib.domain.access import require_dashboard
from chalicelib.domain.advance import InvalidAdvance, InvalidAdvanceTransition
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.services import advances

blueprint = Blueprint(__name__)
log = logging.getLogger(__name__)
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 (the entry point's clock; tests replace it)

_ERRORS = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (advances.AdvanceNotFound, 404),
    (InvalidAdvanceTransition, 409),
    (ConcurrentChange, 409),
    (InvalidAdvance, 400),
    (ValidationError, 400),
)


class DecisionBody(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    comment: str = Field(default="", max_length=500)


class PaymentBody(BaseModel):
    payment_reference: str = Field(min_length=1, max_length=100)


def _json(data: object, status: int = 200) -> Response:
    return Response(body=json.dumps(data, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


def _api(fn):
    """Domain errors become JSON with the right status; anything else a 500 with a request id (no claim data)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            status = next((code for kind, code in _ERRORS if isinstance(exc, kind)), None)
            if status is None:
                request_id = str(uuid.uuid4())
                log.exception("unhandled advance API error", extra={"request_id": request_id})
                return _json({"error": "internal error", "request_id": request_id}, 500)
            if isinstance(exc, ValidationError):
                return _json({"error": exc.errors(include_url=False, include_input=False, include_context=False)},
                             status)
            return _json({"error": str(exc)}, status)

    return wrapper


def _principal() -> Principal:
    request = blueprint.current_request
    known = getattr(request, "verified_principal", None)
    if known is not None:
        return known
    identity = (request.context or {}).get("identity") or {}
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    principal = bootstrap.container().verifier.verify(token, identity.get("sourceIp") or "unknown")
    request.verified_principal = principal
    return principal


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
