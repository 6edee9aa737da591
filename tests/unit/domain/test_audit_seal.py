"""check_trail on records in memory: each kind of tampering is named at the record where it starts; a seal that
does not verify, or a chain that no longer reaches the sealed head, is caught even with no archived copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.audit import GENESIS, AuditRecord
from chalicelib.domain.audit_seal import Break, Seal, batch_head, check_trail

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
E = "CLAIM#c-1"


def chain(n: int = 5) -> list[AuditRecord]:
    out: list[AuditRecord] = []
    for i in range(1, n + 1):
        out.append(AuditRecord(entity=E, seq=i, at=T0 + timedelta(minutes=i), actor_id="E201", role="employee",
                               source_ip="203.0.113.7", action=f"step{i}", after={"n": i},
                               prev_hash=out[-1].hash if out else GENESIS).sealed())
    return out


def seal_of(records: list[AuditRecord]) -> Seal:
    return Seal(entity=E, seq=records[-1].seq, head_hash=records[-1].hash, sealed_at=T0 + timedelta(hours=1),
                key_id="k", signature="good")


def check(slots, records, seals=None, archived=True):
    seals = [seal_of(records)] if seals is None else seals
    copies = {r.seq: r.hash for r in records} if archived else {}
    result = check_trail(E, slots, seals, copies, lambda s: s.signature == "good")
    return (result.problem.kind, result.problem.seq) if result.problem else None


def test_an_untouched_chain_verifies_up_to_its_seal_and_later_records_count_as_unsealed():
    records = chain()
    result = check_trail(E, [(r.seq, r) for r in records], [seal_of(records[:3])],
                         {r.seq: r.hash for r in records[:3]}, lambda s: True)
    assert result.ok and result.sealed_seq == 3 and result.unsealed == 2


def test_records_carry_digests_of_what_changed():
    record = chain(1)[0]
    assert record.after_digest and record.before_digest is None and record.resource == E


def test_edited():
    records = chain()
    slots = [(r.seq, r) for r in records]
    slots[2] = (3, records[2].model_copy(update={"after": {"n": 300}}))
    assert check(slots, records) == (Break.EDITED, 3)


def test_deleted_in_the_middle_and_the_newest():
    records = chain()
    assert check([(r.seq, r) for r in records if r.seq != 3], records) == (Break.MISSING, 3)
    assert check([(r.seq, r) for r in records[:4]], records) == (Break.TRUNCATED, 5)


def test_reordered():
    records = chain()
    slots = [(r.seq, r) for r in records]
    slots[1], slots[2] = (2, records[2]), (3, records[1])
    assert check(slots, records) == (Break.REORDERED, 2)


def test_inserted():
    records = chain()
    intruder = records[2].model_copy(update={"action": "approved"}).sealed()
    slots = [(1, records[0]), (2, records[1]), (3, intruder), (4, records[2]), (5, records[3]), (6, records[4])]
    assert check(slots, records) == (Break.INSERTED, 3)


def test_re_hashed_forgery_named_by_the_archive_and_caught_by_the_seal_alone():
    records = chain()
    forged = records[:1]
    for r in records[1:]:
        forged.append(r.model_copy(update={"prev_hash": forged[-1].hash,
                                           "after": {"n": 0} if r.seq == 2 else r.after}).sealed())
    slots = [(r.seq, r) for r in forged]
    assert check(slots, records) == (Break.FORGED, 2)
    assert check(slots, records, archived=False) == (Break.FORGED, 5)


def test_a_seal_that_does_not_verify():
    records = chain()
    bad = seal_of(records).model_copy(update={"signature": "forged"})
    assert check([(r.seq, r) for r in records], records, seals=[bad]) == (Break.SEAL_INVALID, 5)


@pytest.mark.parametrize("field", ["entity", "seq", "head_hash", "sealed_at"])
def test_every_sealed_fact_is_in_the_signed_message(field):
    seal = seal_of(chain())
    changed = {"entity": "CLAIM#other", "seq": 9, "head_hash": "f" * 64, "sealed_at": T0}[field]
    assert seal.model_copy(update={field: changed}).message() != seal.message()


def test_a_batch_head_does_not_depend_on_order_but_on_every_record():
    records = chain(3)
    assert batch_head(records) == batch_head(list(reversed(records)))
    assert batch_head(records[:2]) != batch_head(records)


def test_the_exporter_ships_the_verifier_from_inside_the_packaged_code():
    from pathlib import Path

    from chalicelib.services import audit_export

    root = Path(audit_export.__file__).resolve().parents[2]
    assert audit_export.VERIFIER.parent == Path(audit_export.__file__).parent  # inside chalicelib (packaged)
    assert audit_export.VERIFIER.read_bytes() == (root / "tools" / "verify_audit_bundle.py").read_bytes()
