"""Seals: a chain head signed with a KMS key and archived under Object Lock; a trail checked against them.

Anyone who can write the audit table can edit a record and re-hash everything after it, or drop the newest
record: the chain alone cannot tell. A seal names an entity's head (its seq and hash) at a moment and is signed
by a key that never leaves KMS; the seal and the records it covers are archived where nobody, root included, can
delete or overwrite them for seven years. `check_trail` then tells whether the stored records still add up to
every seal, and names the first record that does not. Records after the last seal are checked as a chain only:
they become tamper-evident at the next seal (end of the claim, or the hourly sweep).

Standalone events (one record per API call) are sealed in batches: one signed list of (entity, hash) per hour
and shard (`batch_head`), so a flood of calls costs one signature an hour, not one each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from chalicelib.domain.audit import GENESIS, AuditRecord, canonical

SEAL_CONTEXT = "hk-expense audit seal v1"  # signed with every seal: a signature over anything else is no seal


class Seal(BaseModel):
    entity: str
    seq: int  # the last record it covers (a batch seal: its own count of sweeps)
    head_hash: str
    sealed_at: datetime
    key_id: str = ""
    algorithm: str = "ECDSA_SHA_256"
    signature: str = ""  # base64 DER

    def message(self) -> bytes:
        """The bytes KMS signs (raw, under 4 KB: KMS hashes them, as the offline verifier does)."""
        return canonical({"context": SEAL_CONTEXT, "entity": self.entity, "seq": self.seq,
                          "head_hash": self.head_hash, "sealed_at": self.sealed_at.isoformat()})


def batch_head(records: Sequence[AuditRecord]) -> str:
    """The head of a batch of standalone events: a hash over their (entity, hash) pairs in a fixed order."""
    lines = sorted(f"{r.entity} {r.hash}" for r in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Break(StrEnum):
    """What is wrong where a trail stops verifying; each has words in chalicelib/web/messages/audit.json."""

    EDITED = "edited"  # the record's content no longer matches its own hash
    MISSING = "missing"  # a record in the middle is gone
    TRUNCATED = "truncated"  # the newest sealed record(s) are gone
    REORDERED = "reordered"  # a record sits in another record's place
    INSERTED = "inserted"  # two records claim one place
    UNLINKED = "unlinked"  # a record does not follow the one before it
    FORGED = "forged"  # the chain holds together but is not the one that was sealed
    SEAL_INVALID = "seal_invalid"  # a seal's signature does not verify


class Problem(BaseModel):
    kind: Break
    seq: int


class TrailCheck(BaseModel):
    entity: str
    records: int
    sealed_seq: int | None = None
    sealed_at: datetime | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def unsealed(self) -> int:
        return max(0, self.records - (self.sealed_seq or 0))


def check_trail(entity: str, slots: Sequence[tuple[int, AuditRecord]], seals: Sequence[Seal],
                archived: dict[int, str], signature_ok: Callable[[Seal], bool]) -> TrailCheck:
    """`slots`: (sequence slot, record) as stored, in slot order; `seals`: the entity's archived seals;
    `archived`: seq -> hash of the archived copies. The first problem found, walking from the oldest, wins."""
    ordered = sorted(seals, key=lambda s: s.seq)
    last = ordered[-1] if ordered else None
    check = TrailCheck(entity=entity, records=len(slots), sealed_seq=last.seq if last else None,
                       sealed_at=last.sealed_at if last else None)
    for seal in ordered:
        if seal.entity != entity or not signature_ok(seal):
            return check.model_copy(update={"problem": Problem(kind=Break.SEAL_INVALID, seq=seal.seq)})
    problem = _walk(slots, archived)
    if problem is None and last is not None:
        present = {slot: record for slot, record in slots}
        if last.seq not in present:
            missing = max((s for s in present if s < last.seq), default=0) + 1
            problem = Problem(kind=Break.TRUNCATED, seq=missing)
        elif present[last.seq].hash != last.head_hash:
            problem = Problem(kind=Break.FORGED, seq=_first_unlike(slots, archived) or last.seq)
    return check.model_copy(update={"problem": problem})


def _walk(slots: Sequence[tuple[int, AuditRecord]], archived: dict[int, str]) -> Problem | None:
    prev_hash, prev_seq = GENESIS, 0
    for slot, record in slots:
        if slot != prev_seq + 1:
            return Problem(kind=Break.MISSING, seq=prev_seq + 1)
        if record.seq != slot:
            if record.seq == prev_seq:  # one place claimed twice: the one the archive does not know was added
                known = archived.get(prev_seq)
                return Problem(kind=Break.INSERTED, seq=prev_seq if known and known != prev_hash else slot)
            return Problem(kind=Break.REORDERED, seq=slot)
        if record.hash != record.body_digest():
            return Problem(kind=Break.EDITED, seq=slot)
        if record.prev_hash != prev_hash:
            return Problem(kind=Break.UNLINKED, seq=slot)
        prev_hash, prev_seq = record.hash, slot
    return None


def _first_unlike(slots: Sequence[tuple[int, AuditRecord]], archived: dict[int, str]) -> int | None:
    """The first record whose hash differs from its archived copy: where a re-hashed forgery starts."""
    for slot, record in slots:
        if slot in archived and archived[slot] != record.hash:
            return slot
    return None
