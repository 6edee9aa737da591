"""Audit records: who did what, from where, when, and what changed; chained by hash per entity.

Each record carries the hash of the one before it for the same entity, so deleting or editing a record
breaks the chain that `verify_chain` walks (the later trust issue adds archiving and export).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel

GENESIS = "0" * 64


class AuditRecord(BaseModel):
    entity: str  # e.g. CLAIM#<id>, API#<yyyy-mm-dd>
    seq: int
    at: datetime
    actor_id: str
    role: str
    source_ip: str
    action: str
    before: dict | None = None
    after: dict | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def body_digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"hash"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def sealed(self) -> AuditRecord:
        return self.model_copy(update={"hash": self.body_digest()})


def verify_chain(records: list[AuditRecord]) -> list[str]:
    """Problems found walking the chain in seq order; empty means intact."""
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
