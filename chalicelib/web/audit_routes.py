"""The auditor's export: `POST /audit/exports` writes the bundle (services/audit_export.py) as a zip into the
audit archive (`exports/`, under the same Object Lock) and answers a link valid for fifteen minutes.

Auditors only (read-only everywhere else). The export is itself audited (`EXPORT#...`, with the zip's SHA-256).
One claim, or a short range, fits the API's 29 seconds; a whole year is the CLI's job (`audit-export`).
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.domain.claim import InvalidClaim
from chalicelib.domain.identity import Forbidden, Role
from chalicelib.services.audit_export import export_bundle
from chalicelib.services.claims import NotFound
from chalicelib.web import http

blueprint = Blueprint(__name__)
LINK_SECONDS = 900
MAX_DAYS = 31  # beyond that, the CLI


@blueprint.route("/audit/exports", methods=["POST"])
@http.api
def create_export():
    principal = http.principal(blueprint.current_request)
    if not principal.has(Role.AUDITOR):
        raise Forbidden("audit exports are for auditors")
    body = blueprint.current_request.json_body or {}
    try:
        start, end = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidClaim("from and to are dates (YYYY-MM-DD)") from exc
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidClaim(f"the range runs forwards and spans at most {MAX_DAYS} days (longer: the CLI)")
    claim_id = body.get("claim_id") or None
    c = bootstrap.container()
    now = datetime.now(UTC)
    export_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            summary = export_bundle(c.audit_export_sources, start, end, Path(tmp) / "bundle.zip", claim_id)
        except LookupError as exc:
            raise NotFound(str(exc)) from exc
        data = summary.path.read_bytes()
    archive = c.audit_trail.archive
    key = archive.put_export(export_id, data)
    digest = hashlib.sha256(data).hexdigest()
    c.audit.event("EXPORT", now, principal, "audit.exported",
                  {"from": start.isoformat(), "to": end.isoformat(), "claim_id": claim_id, "key": key,
                   "sha256": digest, "records": summary.records}, resource=key)
    return http.json_response({"export_id": export_id, "download_url": archive.download_url(key, LINK_SECONDS),
                               "sha256": digest,
                               "records": summary.records, "chains": summary.chains, "seals": summary.seals,
                               "receipts": summary.receipts, "bytes": len(data)}, 201)
