"""The S3 user metadata that carries an e-mailed receipt's claim fields from the intake to the extraction.

S3 allows 2 KB of ASCII user metadata: values are percent-encoded UTF-8 and the purpose is cut to fit. Only
objects the intake wrote (``intake-source: email``) are read; a web upload carries none.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

META_PREFIX = "intake-"
_META_MAX_BYTES = 1800  # S3 allows 2 KB of user metadata in total


def web_upload_metadata(claim_id: str | None) -> dict[str, str]:
    """What the upload form binds: the draft claim the receipt was added from, if any."""
    return {f"{META_PREFIX}source": "web", f"{META_PREFIX}claim": claim_id} if claim_id else {}


def _meta_encode(value: str) -> str:
    return quote(value, safe=" -_.,:;/()#&+=@'!?")


def encode_metadata(purpose: str, category: str | None, cost_centre: str | None, source_key: str,
                    claim_hint: str | None = None) -> dict[str, str]:
    """S3 user metadata (ASCII only): UTF-8 percent-encoded values, the purpose cut to fit 2 KB. `claim_hint`
    (the subject, cut to 200 characters) may name the draft claim the receipt joins."""
    meta = {f"{META_PREFIX}source": "email", f"{META_PREFIX}source-key": _meta_encode(source_key[:300])}
    if claim_hint:
        meta[f"{META_PREFIX}claim"] = _meta_encode(claim_hint[:200])
    if category:
        meta[f"{META_PREFIX}category"] = _meta_encode(category)
    if cost_centre:
        meta[f"{META_PREFIX}cost-centre"] = _meta_encode(cost_centre)
    budget = _META_MAX_BYTES - sum(len(k) + len(v) for k, v in meta.items()) - len(f"{META_PREFIX}purpose")
    encoded = _meta_encode(purpose)
    while len(encoded) > budget and purpose:
        purpose = purpose[: max(0, len(purpose) - max(1, (len(encoded) - budget) // 9))]
        encoded = _meta_encode(purpose)
    if encoded:
        meta[f"{META_PREFIX}purpose"] = encoded
    return meta


def read_intake_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """The claim fields an e-mailed receipt carries, from ``head_object(...)["Metadata"]`` (keys lower-case):
    ``{"purpose": ..., "category": ..., "cost_centre": ..., "claim": ...}`` with only the keys present; a web
    upload carries at most the claim it was added to."""
    metadata = {k.lower(): v for k, v in (metadata or {}).items()}
    if metadata.get(f"{META_PREFIX}source") not in ("email", "web"):
        return {}
    if metadata.get(f"{META_PREFIX}source") == "web":  # the upload form may only name the claim to join
        claim = metadata.get(f"{META_PREFIX}claim")
        return {"claim": unquote(claim)} if claim else {}
    out = {}
    for field in ("purpose", "category", "cost-centre", "claim"):
        value = metadata.get(f"{META_PREFIX}{field}")
        if value:
            out[field.replace("-", "_")] = unquote(value)
    return out
