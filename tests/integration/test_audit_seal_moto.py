"""Sealed audit chains on the local stack (moto DynamoDB, KMS, S3 with Object Lock): each way of tampering with
the audit table is caught, and named by the record where it starts; the archive refuses deletes and overwrites."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.adapters.audit_store import ArchivedSeal, AuditArchive
from chalicelib.adapters.dynamo_models import AuditItem
from chalicelib.adapters.repositories import _seq
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.audit_seal import Break, Seal
from chalicelib.domain.identity import SYSTEM
from chalicelib.services.audit_trail import TrailBroken
from infra import resources as r

ENTITY = "CLAIM#c-tamper"


@pytest.fixture
def sealed(stack):
    """Five records on one chain, sealed."""
    c = bootstrap.container()
    for i in range(5):
        c.audit.append(ENTITY, SYSTEM, f"claim.step_{i}", {"n": i}, {"n": i + 1})
    seal = c.audit_trail.seal(ENTITY)
    assert seal is not None and seal.seq == 5
    return c


def _item(seq: int) -> AuditItem:
    return AuditItem.get(ENTITY, _seq(seq))


def _put(slot: int, record: AuditRecord) -> None:
    AuditItem(entity=ENTITY, seq=_seq(slot), body=record.model_dump_json(), hash=record.hash).save()


def _problem(c) -> tuple[Break, int] | None:
    check = c.audit_trail.check(ENTITY)
    return (check.problem.kind, check.problem.seq) if check.problem else None


def test_an_untouched_sealed_chain_verifies_up_to_its_seal_and_records_carry_who_where_what(sealed):
    check = sealed.audit_trail.check(ENTITY)
    assert check.ok and check.sealed_seq == 5 and check.unsealed == 0
    record = sealed.audit.records(ENTITY)[2]
    assert record.resource == ENTITY and record.source_ip == "aws" and record.at.utcoffset().total_seconds() == 0
    assert record.before_digest and record.after_digest and record.before_digest != record.after_digest


def test_an_edited_record_is_named(sealed):
    item = _item(3)
    body = json.loads(item.body)
    body["after"] = {"n": 400}  # the hash left as it was
    item.body = json.dumps(body)
    item.save()
    assert _problem(sealed) == (Break.EDITED, 3)


def test_a_deleted_record_in_the_middle_is_named(sealed):
    _item(3).delete()
    assert _problem(sealed) == (Break.MISSING, 3)


def test_deleting_the_newest_record_is_caught_by_the_seal(sealed):
    _item(5).delete()
    assert _problem(sealed) == (Break.TRUNCATED, 5)


def test_reordered_records_are_named(sealed):
    two, three = _item(2), _item(3)
    two.body, three.body = three.body, two.body
    two.hash, three.hash = three.hash, two.hash
    two.save()
    three.save()
    assert _problem(sealed) == (Break.REORDERED, 2)


def test_an_inserted_record_is_named(sealed):
    records = sealed.audit.records(ENTITY)
    for record in reversed(records[2:]):  # 3..5 moved up one slot, their bodies untouched
        _put(record.seq + 1, record)
    intruder = records[2].model_copy(update={"action": "claim.approved", "after": {"approved": True}}).sealed()
    _put(3, intruder)
    assert _problem(sealed) == (Break.INSERTED, 3)


def test_a_chain_rewritten_and_re_hashed_end_to_end_is_caught_at_its_first_changed_record(sealed):
    records = sealed.audit.records(ENTITY)
    prev = records[0].hash
    for record in records[1:]:
        update = {"prev_hash": prev}
        if record.seq == 2:
            update["after"] = {"n": 2000}
        forged = record.model_copy(update=update).sealed()
        _put(record.seq, forged)
        prev = forged.hash
    from chalicelib.domain.audit import verify_chain

    assert verify_chain(sealed.audit.records(ENTITY)) == []  # the plain chain is fooled
    assert _problem(sealed) == (Break.FORGED, 2)


def test_a_forged_chain_with_no_archived_copy_is_still_caught_by_the_seals_head(stack):
    """The same rewrite, checked with the seal alone (as a verifier holding only the seal would)."""
    from chalicelib.domain.audit_seal import check_trail

    c = bootstrap.container()
    for i in range(3):
        c.audit.append(ENTITY, SYSTEM, "step", None, {"n": i})
    seal = c.audit_trail.seal(ENTITY)
    records = c.audit.records(ENTITY)
    forged = [records[0]]
    for record in records[1:]:
        forged.append(record.model_copy(update={"prev_hash": forged[-1].hash, "after": {"n": 9}}).sealed())
    check = check_trail(ENTITY, [(x.seq, x) for x in forged], [seal], {}, c.audit_trail.sealer.verify)
    assert (check.problem.kind, check.problem.seq) == (Break.FORGED, 3)


def test_a_seal_signed_by_another_key_is_refused(sealed, stack):
    kms = stack.client("kms")
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    sealed.audit.append(ENTITY, SYSTEM, "claim.step_5", None, {"n": 6})
    head = sealed.audit.last(ENTITY)
    fake = Seal(entity=ENTITY, seq=6, head_hash=head.hash, sealed_at=head.at)
    sig = kms.sign(KeyId=other, Message=fake.message(), MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    fake = fake.model_copy(update={"key_id": other, "signature": base64.b64encode(sig["Signature"]).decode()})
    sealed.audit_trail.archive.put(ArchivedSeal(seal=fake, records=[head]))
    assert _problem(sealed) == (Break.SEAL_INVALID, 6)


def test_a_broken_chain_is_never_sealed(sealed):
    sealed.audit.append(ENTITY, SYSTEM, "claim.step_5", None, {"n": 6})
    _item(2).delete()
    with pytest.raises(TrailBroken):
        sealed.audit_trail.seal(ENTITY)
    assert len(sealed.audit_trail.archive.keys(ENTITY)) == 1


def test_records_after_the_last_seal_are_checked_as_a_chain_and_sealed_by_the_sweep(sealed):
    sealed.audit.append(ENTITY, SYSTEM, "claim.step_5", None, {"n": 6})
    assert sealed.audit_trail.check(ENTITY).unsealed == 1
    event = sealed.audit.event("API", sealed.audit.last(ENTITY).at, SYSTEM, "api.call", {"path": "/claims"})
    result = sealed.audit_trail.sweep()
    assert result.sealed == 1 and result.batches == 1 and not result.broken
    check = sealed.audit_trail.check(ENTITY)
    assert check.ok and check.sealed_seq == 6 and check.unsealed == 0
    batches = [k for k in _archive_keys(sealed) if k.startswith("seals/EVENTS#")]
    archived = sealed.audit_trail.archive.get(batches[0])
    assert [x.entity for x in archived.records] == [event]
    assert sealed.audit_trail.sweep().sealed == 0  # nothing behind: no second seal, no second batch


def _archive_keys(c) -> list[str]:
    archive: AuditArchive = c.audit_trail.archive
    pages = archive._s3.get_paginator("list_objects_v2").paginate(Bucket=archive.bucket, Prefix="seals/")
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_the_archive_is_object_locked_in_compliance_mode_for_seven_years(sealed, stack):
    s3 = stack.client("s3")
    bucket = sealed.audit_trail.archive.bucket
    config = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"
    retention = config["Rule"]["DefaultRetention"]  # moto also answers "Days": 0
    assert (retention["Mode"], retention["Years"], retention.get("Days", 0)) == ("COMPLIANCE", 7, 0)
    assert r.AUDIT_ARCHIVE_RETENTION["prod"] == ("COMPLIANCE", {"Years": 7})

    key = AuditArchive.key(ENTITY, 5)
    version = s3.head_object(Bucket=bucket, Key=key)
    assert version["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):  # not even by one who claims to bypass governance
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"], BypassGovernanceRetention=True)

    archive = sealed.audit_trail.archive
    assert archive.put(archive.get(key)) is None  # the archive itself never writes over a seal
    original = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}")  # a plain overwrite only stacks a version on top
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read() == original
    assert archive.raw(key) == original and sealed.audit_trail.check(ENTITY).ok  # the first version is read
