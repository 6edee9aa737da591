#!/usr/bin/env python3
"""Offline verifier of an hk-expense audit bundle: the Python standard library plus `cryptography`.

    python verify_audit_bundle.py BUNDLE_DIR_OR_ZIP [--seal-key-fingerprint HEX]

Checks, in this order, and reports every problem with the first one named on the last line:
1. manifest.json is signed by the sealing key (keys/audit-sealing.pem), and every file's SHA-256 matches it;
   no file is missing and none was added.
2. Each chain in records.jsonl: every record's content matches its hash, each follows the one before it, its
   place (seq) is its own; each seal (seals/<entity>/<seq>.json) carries a valid signature of the sealing key,
   the record at the seal's seq has the sealed head hash, the records match the seal's archived copies, and no
   sealed record is missing (the newest included).
3. Standalone events (one record each) appear in a signed hourly batch seal (seals/EVENTS#...).
4. Each receipt image's SHA-256 equals the hash its claim recorded when the receipt was read.
5. Each approval decision's signature verifies with keys/decision-signing.pem over the payload it signed.
The keys come with the bundle: compare the printed fingerprint with one obtained independently of it.
Exit status 0 when everything verifies, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

GENESIS = "0" * 64
SEAL_CONTEXT = "hk-expense audit seal v1"
MANIFEST_CONTEXT = "hk-expense audit bundle manifest v1"
STANDALONE = re.compile(r"^[A-Z_]+#\d{4}-\d{2}-\d{2}#[0-9a-f]{32}$")
UNSIGNED = {"manifest.json", "manifest.sig.json"}


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict) -> str:
    return sha256(canonical({k: v for k, v in record.items() if k != "hash"}))


def fingerprint(pem: bytes) -> str:
    return sha256(b"".join(pem.split()))


class Report:
    def __init__(self):
        self.problems: list[str] = []
        self.notes: list[str] = []

    def bad(self, text: str) -> None:
        self.problems.append(text)


def ecdsa_ok(key, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64), message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def decision_ok(key, payload: bytes, signature_b64: str) -> bool:
    """KMS RSASSA_PSS_SHA_256 over the payload's SHA-256 digest (MessageType DIGEST). The local emulator (moto)
    signs that digest as if it were the message; both need the private key, so either is accepted."""
    signature = base64.b64decode(signature_b64)
    digest = hashlib.sha256(payload).digest()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    for message, algorithm in ((digest, utils.Prehashed(hashes.SHA256())), (digest, hashes.SHA256())):
        try:
            key.verify(signature, message, pss, algorithm)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def check_manifest(root: Path, seal_key, report: Report) -> dict:
    try:
        manifest_bytes = (root / "manifest.json").read_bytes()
        manifest = json.loads(manifest_bytes)
        sig = json.loads((root / "manifest.sig.json").read_bytes())
    except (OSError, ValueError) as exc:
        report.bad(f"manifest.json / manifest.sig.json: cannot be read ({exc})")
        return {}
    statement = canonical({"context": MANIFEST_CONTEXT, "manifest_sha256": sha256(manifest_bytes)})
    if not ecdsa_ok(seal_key, statement, sig.get("signature", "")):
        report.bad("manifest.json: its signature does not verify with the sealing key (the manifest was changed)")
    listed = manifest.get("files", {})
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - UNSIGNED
    for name in sorted(listed):
        path = root / name
        if not path.is_file():
            report.bad(f"file {name}: listed in the manifest but missing")
        elif sha256(path.read_bytes()) != listed[name]:
            report.bad(f"file {name}: its SHA-256 differs from the manifest (the file was changed)")
    for name in sorted(present - set(listed)):
        report.bad(f"file {name}: not in the manifest (added afterwards)")
    return manifest


def load_seals(root: Path, entity: str, report: Report) -> list[dict]:
    folder = root / "seals" / entity
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_bytes()))
        except ValueError:
            report.bad(f"file {path.relative_to(root).as_posix()}: not a readable seal")
    return out


def seal_ok(seal: dict, seal_key) -> bool:
    message = canonical({"context": SEAL_CONTEXT, "entity": seal["entity"], "seq": seal["seq"],
                         "head_hash": seal["head_hash"], "sealed_at": _iso(seal["sealed_at"])})
    return seal.get("algorithm") == "ECDSA_SHA_256" and ecdsa_ok(seal_key, message, seal.get("signature", ""))


def _iso(text: str) -> str:
    """The seal's time as Python's isoformat() wrote it when signing (pydantic writes 'Z' for UTC)."""
    return text[:-1] + "+00:00" if text.endswith("Z") else text


def check_chain(entity: str, records: list[dict], archived: list[dict], seal_key, report: Report) -> int:
    """One chain, its records in bundle order (their places); returns how many are sealed."""
    for item in archived:
        if item["seal"]["entity"] != entity or not seal_ok(item["seal"], seal_key):
            report.bad(f"{entity} seal at record {item['seal']['seq']}: its signature does not verify")
            return 0
    copies = {r["seq"]: r["hash"] for item in archived for r in item["records"]}
    prev_hash, prev_seq = GENESIS, 0
    for place, record in enumerate(records, start=1):
        seq = record.get("seq")
        if seq != place:
            later = [r.get("seq") for r in records[place - 1:]]
            if seq == prev_seq:
                report.bad(f"{entity} record {place}: inserted (two records claim place {seq})")
            elif isinstance(seq, int) and seq > place and later == list(range(seq, seq + len(later))):
                report.bad(f"{entity} record {place}: missing (deleted)")
            else:
                report.bad(f"{entity} record {place}: out of place (it says it is record {seq})")
            return 0
        if record_hash(record) != record.get("hash"):
            report.bad(f"{entity} record {seq}: its content does not match its hash (edited)")
            return 0
        if record.get("prev_hash") != prev_hash:
            report.bad(f"{entity} record {seq}: does not follow the record before it")
            return 0
        if seq in copies and copies[seq] != record["hash"]:
            report.bad(f"{entity} record {seq}: differs from the archived, sealed copy (the chain was rewritten)")
            return 0
        prev_hash, prev_seq = record["hash"], seq
    if archived:
        last = max((item["seal"] for item in archived), key=lambda s: s["seq"])
        if last["seq"] > len(records):
            report.bad(f"{entity} record {len(records) + 1}: sealed but missing (the newest records were deleted)")
            return 0
        if records[last["seq"] - 1]["hash"] != last["head_hash"]:
            report.bad(f"{entity} record {last['seq']}: does not match the sealed head (the chain was rewritten)")
            return 0
        return last["seq"]
    return 0


def check_batches(root: Path, standalone: dict[str, list[dict]], seal_key, report: Report) -> int:
    sealed_pairs = set()
    for folder in sorted((root / "seals").glob("EVENTS#*")) if (root / "seals").is_dir() else []:
        for path in sorted(folder.glob("*.json")):
            item = json.loads(path.read_bytes())
            head = sha256("\n".join(sorted(f"{r['entity']} {r['hash']}" for r in item["records"])).encode())
            if not seal_ok(item["seal"], seal_key) or head != item["seal"]["head_hash"]:
                report.bad(f"file {path.relative_to(root).as_posix()}: the batch seal does not verify")
                continue
            sealed_pairs.update((r["entity"], r["hash"]) for r in item["records"])
    sealed = 0
    for entity, records in sorted(standalone.items()):
        before = len(report.problems)
        check_chain(entity, records, [], seal_key, report)
        if len(report.problems) > before:
            continue
        if all((entity, r["hash"]) in sealed_pairs for r in records):
            sealed += len(records)
    return sealed


def check_receipts(root: Path, report: Report) -> int:
    index = json.loads((root / "receipts" / "index.json").read_bytes()) if (root / "receipts/index.json").is_file() \
        else {}
    for expense_id, entry in sorted(index.items()):
        path = root / entry["file"]
        if not path.is_file():
            report.bad(f"file {entry['file']}: the receipt of expense {expense_id} is missing")
        elif entry.get("recorded_sha256") and sha256(path.read_bytes()) != entry["recorded_sha256"]:
            report.bad(f"file {entry['file']}: the receipt image is not the one its claim recorded")
    return len(index)


def check_signatures(root: Path, report: Report) -> int:
    path = root / "signatures.json"
    signatures = json.loads(path.read_bytes()) if path.is_file() else {}
    key_path = root / "keys" / "decision-signing.pem"
    count = 0
    if signatures and any(signatures.values()):
        key = serialization.load_pem_public_key(key_path.read_bytes())
        for claim_id, decisions in sorted(signatures.items()):
            for d in decisions:
                count += 1
                if not d.get("signature") or not decision_ok(key, base64.b64decode(d["signed_payload"]),
                                                             d["signature"]):
                    report.bad(f"signatures.json: claim {claim_id} level {d.get('level')} decision signature "
                               "does not verify")
    return count


def verify(bundle: Path, expected_fingerprint: str | None = None) -> Report:
    report = Report()
    if bundle.is_file() and zipfile.is_zipfile(bundle):
        tmp = tempfile.TemporaryDirectory()
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(tmp.name)
        root = Path(tmp.name)
        report._tmp = tmp  # kept alive with the report
    else:
        root = bundle
    pem_path = root / "keys" / "audit-sealing.pem"
    if not pem_path.is_file():
        report.bad("file keys/audit-sealing.pem: missing (nothing can be verified)")
        return report
    pem = pem_path.read_bytes()
    report.notes.append(f"sealing key fingerprint: {fingerprint(pem)}")
    if expected_fingerprint and fingerprint(pem) != expected_fingerprint.lower():
        report.bad("keys/audit-sealing.pem: not the key whose fingerprint you were given")
        return report
    seal_key = serialization.load_pem_public_key(pem)
    check_manifest(root, seal_key, report)

    chains: dict[str, list[dict]] = {}
    lines = (root / "records.jsonl").read_text(encoding="utf-8").splitlines() if (root / "records.jsonl").is_file() \
        else []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            report.bad(f"records.jsonl line {number}: not a record")
            continue
        chains.setdefault(record.get("entity", "?"), []).append(record)
    standalone = {e: r for e, r in chains.items() if STANDALONE.match(e)}
    sealed = total = 0
    for entity, records in chains.items():
        total += len(records)
        if entity not in standalone:
            sealed += check_chain(entity, records, load_seals(root, entity, report), seal_key, report)
    sealed += check_batches(root, standalone, seal_key, report)
    receipts = check_receipts(root, report)
    signatures = check_signatures(root, report)
    report.notes.append(f"{total} records in {len(chains)} chains, {sealed} sealed and {total - sealed} not yet; "
                        f"{receipts} receipts; {signatures} decision signatures")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--seal-key-fingerprint", help="the sealing key's fingerprint, obtained independently")
    args = parser.parse_args(argv)
    report = verify(args.bundle, args.seal_key_fingerprint)
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print("PROBLEM:", problem)
    if report.problems:
        print(f"FAILED: {report.problems[0]}")
        return 1
    print("OK: the bundle verifies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
