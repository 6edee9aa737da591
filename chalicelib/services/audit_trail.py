"""The audit trail's use cases: check a chain against its seals, seal chain heads, sweep the chains that moved.

Sealing never blesses a broken chain: the chain is checked against its earlier seals first, and a chain that does
not verify is left unsealed and reported (`TrailBroken`), so the Lambda fails where the alarms see it.
Standalone events (an API call each) are sealed in batches per hour and shard (see domain/audit_seal.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.audit_seal import Seal, TrailCheck, batch_head, check_trail

log = logging.getLogger(__name__)

STANDALONE = re.compile(r"^[A-Z_]+#\d{4}-\d{2}-\d{2}#[0-9a-f]{32}$")  # AuditLog.event: one record per entity
BATCH_PREFIX = "EVENTS#"
SWEEP_LOOKBACK_HOURS = 3  # a sweep that failed is made good by the next ones (hourly)
END_STATES = frozenset({"approved", "rejected", "posted", "failed"})  # a claim's trail is sealed when it ends


class Chains(Protocol):
    def slots(self, entity: str) -> list[tuple[int, AuditRecord]]: ...
    def last(self, entity: str) -> AuditRecord | None: ...
    def touched(self, hour: datetime) -> set[str]: ...


class TrailBroken(Exception):
    """A chain that does not verify: it is not sealed, and someone must look."""

    def __init__(self, check: TrailCheck):
        super().__init__(f"{check.entity}: {check.problem.kind} at record {check.problem.seq}")
        self.check = check


@dataclass
class AuditTrail:
    chains: Chains
    archive: object  # adapters.audit_store.AuditArchive (or a fake with the same methods)
    sealer: object  # adapters.audit_store.AuditSealer
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def check(self, entity: str) -> TrailCheck:
        return self._check(entity, self.chains.slots(entity), self.archive.seals(entity))

    def _check(self, entity: str, slots, archived) -> TrailCheck:
        hashes = {r.seq: r.hash for a in archived for r in a.records}
        return check_trail(entity, slots, [a.seal for a in archived], hashes, self.sealer.verify)

    def seal(self, entity: str) -> Seal | None:
        """Seal the chain's head if records came after its last seal; None when there was nothing to seal."""
        from chalicelib.adapters.audit_store import ArchivedSeal

        slots = self.chains.slots(entity)
        archived = self.archive.seals(entity)
        verdict = self._check(entity, slots, archived)
        if not verdict.ok:
            raise TrailBroken(verdict)
        since = verdict.sealed_seq or 0
        if not slots or slots[-1][0] <= since:
            return None
        head = slots[-1][1]
        seal = self.sealer.sign(Seal(entity=entity, seq=head.seq, head_hash=head.hash, sealed_at=self.clock()))
        self.archive.put(ArchivedSeal(seal=seal, records=[r for s, r in slots if s > since]))
        return seal

    def seal_batch(self, bucket: str, records: Iterable[AuditRecord]) -> Seal | None:
        """One signed list of standalone events (bucket `EVENTS#<hour>#<shard>`): those no earlier batch holds."""
        from chalicelib.adapters.audit_store import ArchivedSeal

        entity = BATCH_PREFIX + bucket
        earlier = self.archive.seals(entity)
        known = {(r.entity, r.hash) for a in earlier for r in a.records}
        fresh = sorted((r for r in records if (r.entity, r.hash) not in known), key=lambda r: (r.at, r.entity))
        if not fresh:
            return None
        seal = self.sealer.sign(Seal(entity=entity, seq=len(earlier) + 1, head_hash=batch_head(fresh),
                                     sealed_at=self.clock()))
        self.archive.put(ArchivedSeal(seal=seal, records=fresh))
        return seal

    def seal_ended(self, claim_id: str, expense_ids: Iterable[str]) -> list[Seal]:
        """A claim that ended: its chain and its expenses' own chains (from before they joined it)."""
        entities = [f"CLAIM#{claim_id}", *(f"EXPENSE#{e}" for e in expense_ids)]
        return [s for s in (self.seal(e) for e in entities) if s is not None]

    def sweep(self) -> SweepResult:
        """Seal every chain with records after its last seal among those that moved in the last few hours, and
        the standalone events of those hours in batches. Broken chains are reported, the rest still sealed."""
        from chalicelib.adapters.repositories import hour_shard

        now = self.clock().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        result = SweepResult()
        for back in range(SWEEP_LOOKBACK_HOURS, -1, -1):
            hour = now - timedelta(hours=back)
            batches: dict[str, list[AuditRecord]] = {}
            for entity in sorted(self.chains.touched(hour)):
                if STANDALONE.match(entity):
                    for _, record in self.chains.slots(entity):
                        batches.setdefault(hour_shard(entity, record.at), []).append(record)
                    continue
                if entity.startswith(BATCH_PREFIX):
                    continue
                try:
                    if self._behind(entity) and self.seal(entity) is not None:
                        result.sealed += 1
                except TrailBroken as exc:
                    log.error("audit chain does not verify: left unsealed",
                              extra={"entity": entity, "problem": exc.check.problem.kind,
                                     "seq": exc.check.problem.seq})
                    result.broken.append(entity)
            for bucket, records in sorted(batches.items()):
                if self.seal_batch(bucket, records) is not None:
                    result.batches += 1
        return result

    def _behind(self, entity: str) -> bool:
        last = self.chains.last(entity)
        keys = self.archive.keys(entity)
        sealed = int(keys[-1].rsplit("/", 1)[1].split(".")[0]) if keys else 0
        return last is not None and last.seq > sealed


@dataclass
class SweepResult:
    sealed: int = 0
    batches: int = 0
    broken: list[str] = field(default_factory=list)
