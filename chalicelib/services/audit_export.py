"""The auditor's bundle: everything an inspector needs to check the trail without trusting us or our systems.

One directory (or zip) holding the audit records (JSON lines), the archived seals (the first, locked version of
each), the receipt images with the hashes the claims recorded, the approval decisions' signatures with what they
signed, the public keys (PEM), a manifest of every file's SHA-256 signed with the sealing key, and the offline
verifier (tools/verify_audit_bundle.py: the standard library plus `cryptography`). README.txt says how to run it.

Scope: the chains that moved between two dates (from the audit table's by-hour index), or one claim's (its
chain, its expenses' and the API calls that touched it). Every chain is exported whole, from its first record,
since a chain only verifies from the start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from chalicelib.domain.audit import AuditRecord, canonical
from chalicelib.services.audit_trail import BATCH_PREFIX, STANDALONE

FORMAT = "hk-expense audit bundle v1"
MANIFEST_CONTEXT = "hk-expense audit bundle manifest v1"  # what the manifest signature is over, with its hash
# tools/verify_audit_bundle.py, reached through a link inside chalicelib: only chalicelib travels in the Lambda
# package (infra/package.py copies the link's target), and the API's export ships the verifier too
VERIFIER = Path(__file__).parent / "verify_audit_bundle.py"
README = """Audit bundle: {scope}
Exported {created_at} (UTC).

To check it (Python 3.10 or later, and the `cryptography` package: pip install cryptography):

    python verify_audit_bundle.py .  --seal-key-fingerprint <the fingerprint the company gave you>

It checks the manifest's signature, every file's SHA-256, every record's hash and link, every chain against its
signed seals and the archived copies, receipt images against the hashes the claims recorded, and the approval
signatures. It prints OK, or the first record or file that does not verify (and exits 1).
Compare the key fingerprint it prints with one obtained independently of this bundle.
"""


@dataclass
class ExportSources:
    """What an export reads; the container's adapters in the app and the CLI, fakes in unit tests."""

    audit: object  # AuditLog: touched(hour), slots(entity)
    trail: object  # AuditTrail: archive (keys, raw), sealer (sign_bytes, public_key_pem, key_id)
    claim: Callable[[str], object | None]  # claim id -> Claim
    receipt: Callable[[object], bytes | None]  # expense -> its image (the version it was read from)
    signatures: Callable[[object], list[dict]]  # claim -> its decisions' signatures, checked with KMS now
    decision_key_pem: Callable[[], bytes]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class BundleSummary:
    path: Path
    records: int
    chains: int
    seals: int
    receipts: int
    bytes: int


def hours(start: date, end: date) -> Iterable[datetime]:
    moment = datetime.combine(start, time(), UTC)
    stop = datetime.combine(end + timedelta(days=1), time(), UTC)
    while moment < stop:
        yield moment
        moment += timedelta(hours=1)


def entities_between(audit, start: date, end: date) -> set[str]:
    return {e for hour in hours(start, end) for e in audit.touched(hour) if not e.startswith(BATCH_PREFIX)}


def claim_entities(audit, claim, start: date, end: date) -> set[str]:
    """The claim's chain, its expenses' chains, and the API calls between the dates that named the claim."""
    own = {f"CLAIM#{claim.claim_id}", *(f"EXPENSE#{e.expense_id}" for e in claim.expenses)}
    marker = f"/claims/{claim.claim_id}"
    calls = set()
    for entity in entities_between(audit, start, end):
        if STANDALONE.match(entity) and any(
                marker in r.resource or any(f"/expenses/{e.expense_id}" in r.resource for e in claim.expenses)
                for _, r in audit.slots(entity)):
            calls.add(entity)
    return own | calls


def export_bundle(src: ExportSources, start: date, end: date, out: Path, claim_id: str | None = None) -> BundleSummary:
    if end < start:
        raise ValueError("the end date is before the start date")
    claim = src.claim(claim_id) if claim_id else None
    if claim_id and claim is None:
        raise LookupError(f"claim {claim_id} not found")
    entities = sorted(claim_entities(src.audit, claim, start, end) if claim else
                      entities_between(src.audit, start, end))
    work = Path(tempfile.mkdtemp(prefix="audit-bundle-"))
    try:
        summary = _write(src, work, entities, start, end, claim_id)
        target = _place(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = target.stat().st_size if target.is_file() else sum(p.stat().st_size for p in target.rglob("*")
                                                               if p.is_file())
    return BundleSummary(path=target, bytes=size, **summary)


def _write(src: ExportSources, root: Path, entities: list[str], start: date, end: date,
           claim_id: str | None) -> dict:
    archive, sealer = src.trail.archive, src.trail.sealer
    lines, seals, batch_buckets, claims = [], 0, set(), []
    chains = 0
    for entity in entities:
        records = [r for _, r in src.audit.slots(entity)]
        if not records:
            continue
        chains += 1
        lines.extend(r.model_dump_json() for r in records)
        if STANDALONE.match(entity):
            from chalicelib.adapters.repositories import hour_shard

            batch_buckets.update(BATCH_PREFIX + hour_shard(entity, r.at) for r in records)
        else:
            seals += _copy_seals(archive, entity, root)
        if entity.startswith("CLAIM#"):
            claims.append(entity.removeprefix("CLAIM#"))
    for bucket in sorted(batch_buckets):
        seals += _copy_seals(archive, bucket, root)
    _file(root / "records.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")

    receipts = {}
    signatures = {}
    for cid in claims:
        claim = src.claim(cid)
        if claim is None:
            continue
        for expense in claim.expenses:
            data = src.receipt(expense) if expense.s3_key else None
            if data is None:
                continue
            suffix = expense.s3_key.rsplit(".", 1)[-1][:5] if "." in expense.s3_key else "bin"
            name = f"receipts/{expense.expense_id}.{suffix}"
            _file(root / name, data)
            receipts[expense.expense_id] = {"file": name, "claim_id": cid, "recorded_sha256": expense.file_sha256}
        signatures[cid] = [
            {**checked, "signing_key_id": d.signing_key_id, "signature": d.signature, "algorithm": "RSASSA_PSS_SHA_256",
             "signed_payload": base64.b64encode(d.signed_payload(cid)).decode()}
            for checked, d in zip(src.signatures(claim), claim.decisions, strict=True)]
    _file(root / "receipts" / "index.json", _json(receipts))
    _file(root / "signatures.json", _json(signatures))
    _file(root / "keys" / "audit-sealing.pem", sealer.public_key_pem())
    _file(root / "keys" / "decision-signing.pem", src.decision_key_pem())
    created = src.clock()
    scope = f"claim {claim_id}, records {start} to {end}" if claim_id else f"records {start} to {end}"
    _file(root / "README.txt", README.format(scope=scope, created_at=created.isoformat()).encode())
    _file(root / "verify_audit_bundle.py", VERIFIER.read_bytes())

    files = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(root.rglob("*")) if p.is_file()}
    manifest = {"format": FORMAT, "created_at": created.isoformat(), "from": start.isoformat(),
                "to": end.isoformat(), "claim_id": claim_id, "files": files,
                "seal_key_id": sealer.trusted_key(), "seal_key_fingerprint": fingerprint(sealer.public_key_pem())}
    manifest_bytes = _json(manifest)
    _file(root / "manifest.json", manifest_bytes)
    statement = canonical({"context": MANIFEST_CONTEXT, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()})
    key_id, signature = sealer.sign_bytes(statement)
    _file(root / "manifest.sig.json", _json({"key_id": key_id, "algorithm": "ECDSA_SHA_256",
                                             "signature": signature}))
    return {"records": len(lines), "chains": chains, "seals": seals, "receipts": len(receipts)}


def fingerprint(pem: bytes) -> str:
    """SHA-256 of the key's PEM text with whitespace removed: what an inspector compares out of band."""
    return hashlib.sha256(b"".join(pem.split())).hexdigest()


def _copy_seals(archive, entity: str, root: Path) -> int:
    keys = archive.keys(entity)
    for key in keys:
        _file(root / key, archive.raw(key))
    return len(keys)


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode()


def _file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _place(work: Path, out: Path) -> Path:
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(work.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(work).as_posix())
        return out
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    shutil.copytree(work, out, dirs_exist_ok=True)
    return out


def records_of(path: Path) -> list[AuditRecord]:
    """The records of an exported bundle directory (tests, the bench)."""
    text = (path / "records.jsonl").read_text(encoding="utf-8")
    return [AuditRecord.model_validate_json(line) for line in text.splitlines() if line.strip()]
