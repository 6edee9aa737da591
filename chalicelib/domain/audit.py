"""Audit records: who did what, from where, when, to what, and what changed; chained by hash per entity.

Each record carries the hash of the one before it for the same entity, so editing or deleting a record breaks
the chain. A plain hash chain proves nothing against someone who can rewrite the table (they re-hash the rest),
so chain heads are also sealed with a KMS signature and archived under Object Lock (chalicelib/domain/
audit_seal.py checks a trail against its seals). The digests of `before`/`after` let an export or a seal prove
what changed without anyone having to keep or show the bodies.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel

GENESIS = "0" * 64


def canonical(obj: object) -> bytes:
    """The one serialisation every hash is taken over (tools/verify_audit_bundle.py repeats it)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()


def digest(obj: object) -> str | None:
    return None if obj is None else hashlib.sha256(canonical(obj)).hexdigest()


class AuditRecord(BaseModel):
    entity: str  # e.g. CLAIM#<id>, API#<yyyy-mm-dd>#<uuid>
    seq: int
    at: datetime
    actor_id: str
    role: str
    source_ip: str
    action: str
    user_agent: str = ""
    resource: str = ""  # the concrete thing acted on: the entity, or "GET /claims/c-1" for a call
    before: dict | None = None
    after: dict | None = None
    before_digest: str | None = None
    after_digest: str | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def body_digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"hash"})
        return hashlib.sha256(canonical(body)).hexdigest()

    def sealed(self) -> AuditRecord:
        """With its digests and its own hash filled in; `resource` defaults to the entity itself."""
        filled = self.model_copy(update={"before_digest": digest(self.before), "after_digest": digest(self.after),
                                         "resource": self.resource or self.entity})
        return filled.model_copy(update={"hash": filled.body_digest()})


def verify_chain(records: list[AuditRecord]) -> list[str]:
    """Problems found walking the chain in seq order; empty means intact (no seals: see audit_seal.check_trail)."""
    problems = []
    prev = GENESIS
    for expected_seq, record in enumerate(sorted(records, key=lambda r: r.seq), start=1):
        if record.seq != expected_seq:
            problems.append(f"{record.entity}: seq {record.seq} where {expected_seq} was expected")
        if record.prev_hash != prev:
            problems.append(f"{record.entity}#{record.seq}: prev_hash does not match the record before")
        if record.hash != record.body_digest():
            problems.append(f"{record.entity}#{record.seq}: content does not match its hash")
        prev = record.hash
    return problems
