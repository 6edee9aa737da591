"""Standalone audit events (API calls, refused links) found again by a scan: tests read them this way; no
deployed role may scan the audit table."""

from __future__ import annotations

from datetime import date

from chalicelib.adapters.dynamo_models import AuditItem
from chalicelib.domain.audit import AuditRecord


def events(kind: str, day: date) -> list[AuditRecord]:
    found = AuditItem.scan(AuditItem.entity.startswith(f"{kind}#{day.isoformat()}#"))
    return sorted((AuditRecord.model_validate_json(item.body) for item in found), key=lambda r: r.at)
