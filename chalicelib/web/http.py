"""What every route shares, the app's and its blueprints': who the caller is (verified once per request), JSON
answers, and domain errors turned into clear JSON with the right status (Chalice would answer 500)."""

from __future__ import annotations

import functools
import json
import logging
import uuid

from chalice import Response
from pydantic import ValidationError

from chalicelib import bootstrap
from chalicelib.adapters.tokens import KeysUnavailable, Unauthorized
from chalicelib.domain.advance import InvalidAdvance, InvalidAdvanceTransition
from chalicelib.domain.approval_link import LinkRefused, NotLinkHolder, SignInRequired
from chalicelib.domain.claim import InvalidClaim, InvalidTransition
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.services import advances, claims, uploads
from chalicelib.web import auth

log = logging.getLogger(__name__)

ERRORS = (
    (Unauthorized, 401),
    (KeysUnavailable, 503),
    (SignInRequired, 401),
    (Forbidden, 403),
    (NotLinkHolder, 403),
    (claims.NotFound, 404),
    (advances.AdvanceNotFound, 404),
    (LinkRefused, 410),
    (InvalidTransition, 409),
    (InvalidAdvanceTransition, 409),
    (ConcurrentChange, 409),
    (InvalidClaim, 400),
    (InvalidAdvance, 400),
    (uploads.UploadRefused, 400),
    (ValidationError, 400),
)


def source_ip(request) -> str:
    identity = (request.context or {}).get("identity") or {} if request else {}
    return identity.get("sourceIp") or "unknown"


def user_agent(request) -> str:
    """The caller's client as it names itself (kept in audit records; cut short, it is the caller's text)."""
    return (request.headers.get("user-agent", "") if request else "")[:256]


def principal(request) -> Principal:
    """The caller, verified once per request (the audit middleware asks again after the route): the token says
    who, the directory says with which roles and department (chalicelib/web/auth.py)."""
    known = getattr(request, "verified_principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    c = bootstrap.container()
    verified = auth.principal_for(c.verifier.verify(token), c.directory, source_ip(request)).model_copy(
        update={"user_agent": user_agent(request)})
    request.verified_principal = verified
    return verified


def json_response(data: object, status: int = 200) -> Response:
    return Response(body=json.dumps(data, ensure_ascii=False, default=str), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


def error_response(exc: Exception) -> Response:
    status = next((code for kind, code in ERRORS if isinstance(exc, kind)), None)
    if status is None:
        request_id = str(uuid.uuid4())
        log.exception("unhandled API error", extra={"request_id": request_id})
        return json_response({"error": "internal error", "request_id": request_id}, 500)
    if isinstance(exc, ValidationError):
        message = exc.errors(include_url=False, include_input=False, include_context=False)
    else:
        message = getattr(exc, "reason", None) or str(exc)
    return json_response({"error": message}, status)


def api(fn):
    """Route wrapper: domain errors become clear JSON with the right status."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            return error_response(exc)

    return wrapper
