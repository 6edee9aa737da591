"""Audit trail benchmark: append, seal, export and verify 100,000 records; then tamper with the bundle.

Two runs, both printed (`name: value`):
- `chain`: 100,000 records on the domain chain (chalicelib.domain.audit, in memory: 5,000 claims of 20 records),
  sealed by the real AuditTrail with the real KMS adapter on moto (one ECDSA P-256 signature per chain), archived
  in memory, exported by the real exporter and checked by the offline verifier (tools/verify_audit_bundle.py).
  Through moto's DynamoDB an append (the query for the chain's last record, then a conditional put) runs at tens
  a second on a shared two-core machine: 100,000 would take an hour and time the emulator; hence, smaller:
- `dynamodb`: --dynamo-records records (default 1,000) through the real AuditLog on moto's DynamoDB, sealed into
  the Object Lock archive bucket on moto's S3, exported from there and verified.
Each prints: append records/s, seal time (all chains, and per seal), bundle size, verify time, and tamper cases
detected/total (each kind of tampering applied to a copy of the bundle; all must be detected).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.adapters.audit_store import ArchivedSeal, AuditArchive
from chalicelib.adapters.repositories import hour_shard
from chalicelib.domain.audit import GENESIS, AuditRecord
from chalicelib.domain.identity import SYSTEM
from chalicelib.services.audit_export import ExportSources, export_bundle
from chalicelib.services.audit_trail import AuditTrail
from tools import verify_audit_bundle as verifier

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class MemoryChains:
    """The audit table's reads (AuditLog.slots/last/touched) over lists in memory."""

    def __init__(self):
        self.chains: dict[str, list[AuditRecord]] = defaultdict(list)
        self.by_hour: dict[str, set[str]] = defaultdict(set)

    def append(self, entity: str, at: datetime, action: str, after: dict) -> AuditRecord:
        chain = self.chains[entity]
        record = AuditRecord(entity=entity, seq=len(chain) + 1, at=at, actor_id="E201", role="employee",
                             source_ip="203.0.113.7", user_agent="bench", action=action, before=None, after=after,
                             prev_hash=chain[-1].hash if chain else GENESIS).sealed()
        chain.append(record)
        self.by_hour[hour_shard(entity, at).split("#")[0]].add(entity)
        return record

    def slots(self, entity: str):
        return [(r.seq, r) for r in self.chains.get(entity, [])]

    def last(self, entity: str):
        chain = self.chains.get(entity)
        return chain[-1] if chain else None

    def touched(self, hour: datetime) -> set[str]:
        return set(self.by_hour.get(f"{hour:%Y-%m-%dT%H}", ()))


class MemoryArchive:
    """The archive's interface (adapters/audit_store.AuditArchive) in memory: write once, read the first."""

    bucket = "memory"

    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def put(self, archived: ArchivedSeal) -> str | None:
        key = AuditArchive.key(archived.seal.entity, archived.seal.seq)
        if key in self.objects:
            return None
        self.objects[key] = archived.model_dump_json().encode()
        return "v1"

    def keys(self, entity: str) -> list[str]:
        prefix = f"{AuditArchive.PREFIX}{entity}/"
        return sorted(k for k in self.objects if k.startswith(prefix))

    def raw(self, key: str, version: str | None = None) -> bytes:
        return self.objects[key]

    def get(self, key: str, version: str | None = None) -> ArchivedSeal:
        return ArchivedSeal.model_validate_json(self.objects[key])

    def seals(self, entity: str) -> list[ArchivedSeal]:
        return [self.get(k) for k in self.keys(entity)]


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


# --- tampering: each returns the copy's expected kind of finding ---------------------------------------------------

def _lines(b: Path) -> list[dict]:
    return [json.loads(x) for x in (b / "records.jsonl").read_text(encoding="utf-8").splitlines() if x]


def _write(b: Path, records: list[dict]) -> None:
    (b / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                     encoding="utf-8")


def _chain_rows(records: list[dict]) -> list[int]:
    entity = next(r["entity"] for r in records if r["entity"].startswith("CLAIM#"))
    return [i for i, r in enumerate(records) if r["entity"] == entity]


def _edit(b: Path):
    r = _lines(b)
    r[_chain_rows(r)[2]]["after"] = {"amount": "99999.00"}
    _write(b, r)


def _delete(b: Path):
    r = _lines(b)
    del r[_chain_rows(r)[2]]
    _write(b, r)


def _delete_newest(b: Path):
    r = _lines(b)
    del r[_chain_rows(r)[-1]]
    _write(b, r)


def _reorder(b: Path):
    r = _lines(b)
    i, j = _chain_rows(r)[1:3]
    r[i], r[j] = r[j], r[i]
    _write(b, r)


def _insert(b: Path):
    r = _lines(b)
    i = _chain_rows(r)[2]
    r.insert(i + 1, dict(r[i]))
    _write(b, r)


def _rehash(b: Path):
    r = _lines(b)
    rows = _chain_rows(r)
    prev = r[rows[0]]["hash"]
    for n, i in enumerate(rows[1:], start=2):
        r[i]["prev_hash"] = prev
        if n == 3:
            r[i]["actor_id"] = "E999"
        r[i]["hash"] = verifier.record_hash(r[i])
        prev = r[i]["hash"]
    _write(b, r)


def _seal(b: Path):
    path = sorted((b / "seals").rglob("*.json"))[0]
    archived = json.loads(path.read_text())
    archived["seal"]["seq"] += 1
    path.write_text(json.dumps(archived))


def _manifest(b: Path):
    m = json.loads((b / "manifest.json").read_text())
    m["files"]["README.txt"] = "0" * 64
    (b / "README.txt").write_text("changed")
    (b / "manifest.json").write_text(json.dumps(m))


def _added(b: Path):
    (b / "records-2.jsonl").write_text("{}\n")


TAMPERS = {"edited record": _edit, "deleted record": _delete, "deleted newest record": _delete_newest,
           "reordered records": _reorder, "inserted record": _insert, "re-hashed forgery": _rehash,
           "changed seal": _seal, "rewritten manifest": _manifest, "added file": _added}


def tamper_cases(bundle: Path) -> tuple[int, int, list[str]]:
    detected, missed = 0, []
    for name, tamper in TAMPERS.items():
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "b"
            shutil.copytree(bundle, copy)
            tamper(copy)
            if verifier.verify(copy).problems:
                detected += 1
            else:
                missed.append(name)
    return detected, len(TAMPERS), missed


def report(label: str, records: int, append_s: float, seals: int, seal_s: float, bundle: Path, size: int,
           verify_s: float, problems: list[str]) -> None:
    detected, total, missed = tamper_cases(bundle)
    print(f"{label}.records: {records}")
    print(f"{label}.append_records_per_s: {records / append_s:,.0f}")
    print(f"{label}.seal_s: {seal_s:.2f} ({seals} seals, {1000 * seal_s / max(seals, 1):.2f} ms each)")
    print(f"{label}.bundle_bytes: {size:,}")
    print(f"{label}.verify_s: {verify_s:.2f} ({'OK' if not problems else 'FAILED: ' + problems[0]})")
    print(f"{label}.tamper_detected: {detected}/{total}" + (f" (missed: {', '.join(missed)})" if missed else ""))


def _environment() -> None:
    os.environ.update({name: "testing" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                    "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN")})
    os.environ["AWS_DEFAULT_REGION"] = "ap-east-1"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from harness.local_stack import LocalStack

    os.environ.update(LocalStack().environment())


def run_chain(records: int, per_chain: int, out: Path) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    chains = MemoryChains()
    n_chains = records // per_chain

    def append():
        for i in range(records):
            step = i // n_chains
            at = START + timedelta(seconds=i)
            chains.append(f"CLAIM#bench-{i % n_chains:06d}",
                          at, f"claim.step_{step}", {"step": step, "amount": f"{(i % 997) + 1}.50"})

    _, append_s = _timed(append)
    trail = AuditTrail(chains=chains, archive=MemoryArchive(), sealer=c.audit_trail.sealer)
    sealed, seal_s = _timed(lambda: [trail.seal(e) for e in sorted(chains.chains)])
    src = ExportSources(audit=chains, trail=trail, claim=lambda _id: None, receipt=lambda _e: None,
                        signatures=lambda _c: [], decision_key_pem=c.audit_export_sources.decision_key_pem)
    last_day = (START + timedelta(seconds=records)).date()
    summary, _ = _timed(lambda: export_bundle(src, START.date(), last_day, out))
    result, verify_s = _timed(lambda: verifier.verify(out))
    report("chain", records, append_s, len([s for s in sealed if s]), seal_s, out, summary.bytes, verify_s,
           result.problems)


def run_dynamodb(records: int, per_chain: int, out: Path) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    n_chains = max(1, records // per_chain)

    def append():
        for i in range(records):
            c.audit.append(f"CLAIM#bench-{i % n_chains:06d}", SYSTEM, "claim.step", None, {"i": i})

    _, append_s = _timed(append)
    entities = sorted(c.audit.touched(datetime.now(UTC)) | c.audit.touched(datetime.now(UTC) - timedelta(hours=1)))
    sealed, seal_s = _timed(lambda: [c.audit_trail.seal(e) for e in entities])
    today = datetime.now(UTC).date()
    summary, _ = _timed(lambda: export_bundle(c.audit_export_sources, today - timedelta(days=1), today, out))
    result, verify_s = _timed(lambda: verifier.verify(out))
    report("dynamodb", records, append_s, len([s for s in sealed if s]), seal_s, out, summary.bytes, verify_s,
           result.problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-chain", type=int, default=20)
    parser.add_argument("--dynamo-records", type=int, default=1_000)
    args = parser.parse_args(argv)
    _environment()
    from moto import mock_aws

    from chalicelib import bootstrap
    from harness import dynamodb_shim
    from harness.local_stack import LocalStack

    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        dynamodb_shim.install()
        try:
            bootstrap.reset()
            LocalStack().create()
            run_chain(args.records, args.per_chain, Path(tmp) / "chain")
            if args.dynamo_records:
                run_dynamodb(args.dynamo_records, 10, Path(tmp) / "dynamodb")
        finally:
            with contextlib.suppress(Exception):
                dynamodb_shim.uninstall()
            bootstrap.reset()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
