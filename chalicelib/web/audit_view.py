"""A trail's check as the audit API answers it: the facts, and the sentence a person reads in their language."""

from __future__ import annotations

from chalicelib.domain.audit_seal import TrailCheck
from chalicelib.web import i18n

HK = "Asia/Hong_Kong"


def verification(check: TrailCheck, locale: str) -> dict:
    """`status`: verified (up to the last seal), not_sealed (a sound chain with no seal yet), broken, empty."""
    if check.problem is not None:
        status = "broken"
        reason = i18n.t(locale, f"audit.break.{check.problem.kind.value}", seq=check.problem.seq)
        message = i18n.t(locale, "audit.broken", reason=reason)
    elif check.records == 0:
        status, message = "empty", i18n.t(locale, "audit.empty")
    elif check.sealed_seq is None:
        status, message = "not_sealed", i18n.t(locale, "audit.not_sealed", count=check.records)
    else:
        status = "verified"
        message = i18n.t(locale, "audit.verified", time=i18n.when(check.sealed_at, HK, locale),
                         sealed=check.sealed_seq)
        if check.unsealed:
            message += " " + i18n.t(locale, "audit.unsealed", count=check.unsealed)
    return {
        "entity": check.entity, "status": status, "verified": check.ok and check.records > 0,
        "records": check.records, "sealed_seq": check.sealed_seq,
        "sealed_at": check.sealed_at.isoformat() if check.sealed_at else None, "unsealed": check.unsealed,
        "problem": {"kind": check.problem.kind.value, "seq": check.problem.seq} if check.problem else None,
        "message": message,
    }
