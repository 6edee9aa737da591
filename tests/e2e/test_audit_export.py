"""The auditor's bundle on the local stack: a claim uploaded, approved and posted (so sealed at its end), exported
through the CLI and through the auditor API; the offline verifier passes the untouched bundle and names the first
bad record or file of each tampered copy."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib import bootstrap, cli
from tools import verify_audit_bundle as verifier


@contextlib.contextmanager
def _stack_with_a_posted_claim():
    """The conftest's `stack` and `driver`, once for the module: building a posted claim takes a while."""
    from tests import conftest

    stack_gen = conftest.stack.__wrapped__()
    stack = next(stack_gen)
    try:
        from chalice.test import Client

        from app import app
        from harness.driver import Driver

        with Client(app, stage_name="local") as client:
            def call(method, path, body, headers):
                resp = client.http.request(method, path, headers={"Content-Type": "application/json", **headers},
                                           body=json.dumps(body).encode() if body is not None else b"")
                try:
                    return resp.status_code, json.loads(resp.body) if resp.body else {}
                except ValueError:
                    return resp.status_code, {"raw": resp.body.decode("utf-8", "replace")}

            driver = Driver(call, stack)
            from tests.e2e.test_approval_flow import submitted

            claim_id = submitted(driver)
            message = driver.approval_message(claim_id, level=1)
            assert driver.decide_signed_in(message["link"], "approve")[0] == 200
            assert driver.wait_status("E201", claim_id, {"posted", "failed"})["status"] == "posted"
            yield stack, driver, claim_id
    finally:
        with contextlib.suppress(StopIteration):
            next(stack_gen)


@pytest.fixture(scope="module")
def posted(tmp_path_factory):
    with _stack_with_a_posted_claim() as (stack, driver, claim_id):
        from harness import lambda_shim

        assert lambda_shim.drain()
        c = bootstrap.container()
        c.audit_trail.sweep()  # the API calls of the run, sealed in their hourly batches
        today = datetime.now(UTC).date()
        out = tmp_path_factory.mktemp("bundle") / "claim"
        assert cli.main(["audit-export", "--from", (today - timedelta(days=1)).isoformat(),
                         "--to", today.isoformat(), "--claim", claim_id, "--out", str(out)]) == 0
        status, api_export = driver.call("POST", "/audit/exports", {"from": today.isoformat(),
                                                                    "to": today.isoformat(), "claim_id": claim_id},
                                         driver.auth("E400"))
        refused = driver.call("POST", "/audit/exports", {"from": today.isoformat(), "to": today.isoformat()},
                              driver.auth("E300"))[0]
        zipped = None
        if status == 201:
            key = f"exports/{api_export['export_id']}.zip"
            zipped = tmp_path_factory.mktemp("api") / "bundle.zip"
            zipped.write_bytes(c.audit_trail.archive._s3.get_object(Bucket=c.audit_trail.archive.bucket,
                                                                    Key=key)["Body"].read())
        verdict = driver.call("GET", f"/claims/{claim_id}/audit", None,
                              {**driver.auth("E400"), "Accept-Language": "en"})
        yield {"dir": out, "claim_id": claim_id, "api_status": status, "api": api_export, "zip": zipped,
               "refused": refused, "verdict": verdict}


def _copy(posted, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(posted["dir"], target)
    return target


def _failure(bundle: Path) -> str:
    report = verifier.verify(bundle)
    assert report.problems, "the tampered bundle verified"
    return report.problems


def _lines(bundle: Path) -> list[dict]:
    return [json.loads(x) for x in (bundle / "records.jsonl").read_text(encoding="utf-8").splitlines() if x]


def _write_lines(bundle: Path, records: list[dict]) -> None:
    (bundle / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                          encoding="utf-8")


def _claim_records(bundle: Path, claim_id: str) -> list[int]:
    return [i for i, r in enumerate(_lines(bundle)) if r["entity"] == f"CLAIM#{claim_id}"]


def test_the_claim_page_api_says_the_posted_claims_trail_verifies_up_to_its_seal(posted):
    status, body = posted["verdict"]
    assert status == 200, body
    v = body["verification"]
    assert v["status"] == "verified" and v["sealed_seq"] == len(body["records"]) and v["problem"] is None
    assert v["message"].startswith("Verified up to ") and "CLAIM#" not in v["message"]


def test_an_untouched_bundle_verifies_offline_with_its_own_verifier(posted):
    bundle = posted["dir"]
    assert {"records.jsonl", "manifest.json", "manifest.sig.json", "signatures.json", "README.txt",
            "verify_audit_bundle.py", "keys/audit-sealing.pem", "keys/decision-signing.pem",
            "receipts/index.json"} <= {p.relative_to(bundle).as_posix() for p in bundle.rglob("*")}
    assert any((bundle / "receipts").glob("*.png")) and any((bundle / "seals").rglob("*.json"))
    signatures = json.loads((bundle / "signatures.json").read_text())[posted["claim_id"]]
    assert signatures and all(s["valid"] for s in signatures)
    reads = [r for r in _lines(bundle) if r["entity"].startswith("API#")]
    assert any(r["resource"] == f"GET /claims/{posted['claim_id']}/audit" for r in reads) or reads
    run = subprocess.run([sys.executable, str(bundle / "verify_audit_bundle.py"), str(bundle)],
                         capture_output=True, text=True, cwd=bundle, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: the bundle verifies" in run.stdout and "fingerprint" in run.stdout


def test_the_auditor_api_exports_a_zip_that_verifies_and_others_are_refused(posted):
    assert posted["api_status"] == 201, posted["api"]
    assert posted["refused"] == 403  # finance may read claims, not export the trail
    assert zipfile.is_zipfile(posted["zip"]) and verifier.verify(posted["zip"]).problems == []


def test_an_edited_record_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    i = _claim_records(bundle, posted["claim_id"])[1]
    records[i]["actor_id"] = "someone-else"
    _write_lines(bundle, records)
    problems = _failure(bundle)
    assert any(f"CLAIM#{posted['claim_id']} record 2: its content does not match" in p for p in problems)


def test_a_deleted_record_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    del records[_claim_records(bundle, posted["claim_id"])[1]]
    _write_lines(bundle, records)
    assert any(f"CLAIM#{posted['claim_id']} record 2: missing" in p for p in _failure(bundle))


def test_deleting_the_newest_record_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    index = _claim_records(bundle, posted["claim_id"])
    del records[index[-1]]
    _write_lines(bundle, records)
    assert any(f"record {len(index)}: sealed but missing" in p for p in _failure(bundle))


def test_reordered_records_are_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    a, b = _claim_records(bundle, posted["claim_id"])[1:3]
    records[a], records[b] = records[b], records[a]
    _write_lines(bundle, records)
    assert any(f"CLAIM#{posted['claim_id']} record 2: out of place" in p for p in _failure(bundle))


def test_an_inserted_record_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    i = _claim_records(bundle, posted["claim_id"])[1]
    records.insert(i + 1, dict(records[i]))
    _write_lines(bundle, records)
    assert any(f"CLAIM#{posted['claim_id']} record 3: inserted" in p for p in _failure(bundle))


def test_a_chain_re_hashed_end_to_end_is_named_where_it_was_changed(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    records = _lines(bundle)
    index = _claim_records(bundle, posted["claim_id"])
    prev = records[index[0]]["hash"]
    for n, i in enumerate(index[1:], start=2):
        records[i]["prev_hash"] = prev
        if n == 2:
            records[i]["source_ip"] = "10.9.9.9"
        records[i]["hash"] = verifier.record_hash(records[i])
        prev = records[i]["hash"]
    _write_lines(bundle, records)
    assert any(f"CLAIM#{posted['claim_id']} record 2: differs from the archived, sealed copy" in p
               for p in _failure(bundle))


def test_a_changed_receipt_image_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    image = next((bundle / "receipts").glob("*.png"))
    image.write_bytes(image.read_bytes() + b"\0")
    name = image.relative_to(bundle).as_posix()
    problems = _failure(bundle)
    assert problems[0] == f"file {name}: its SHA-256 differs from the manifest (the file was changed)"
    assert any("not the one its claim recorded" in p for p in problems)


def test_a_changed_seal_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    seal_path = sorted((bundle / "seals" / f"CLAIM#{posted['claim_id']}").glob("*.json"))[-1]
    archived = json.loads(seal_path.read_text())
    archived["seal"]["sealed_at"] = "2020-01-01T00:00:00Z"
    seal_path.write_text(json.dumps(archived))
    problems = _failure(bundle)
    assert any(f"seal at record {archived['seal']['seq']}: its signature does not verify" in p for p in problems)


def test_a_changed_decision_signature_file_is_named(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    path = bundle / "signatures.json"
    signatures = json.loads(path.read_text())
    first = signatures[posted["claim_id"]][0]
    first["signed_payload"] = first["signed_payload"][:-4] + "AAA="
    path.write_text(json.dumps(signatures))
    problems = _failure(bundle)
    assert problems[0] == "file signatures.json: its SHA-256 differs from the manifest (the file was changed)"
    assert any("level 1 decision signature does not verify" in p for p in problems)


def test_a_manifest_rewritten_to_match_is_refused_by_its_signature(posted, tmp_path):
    bundle = _copy(posted, tmp_path)
    readme = bundle / "README.txt"
    readme.write_text("nothing to see here")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["README.txt"] = verifier.sha256(readme.read_bytes())
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert _failure(bundle)[0].startswith("manifest.json: its signature does not verify")


def test_a_replaced_key_is_caught_by_its_fingerprint_and_an_added_file_is_named(posted, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    bundle = _copy(posted, tmp_path)
    given = verifier.fingerprint((bundle / "keys" / "audit-sealing.pem").read_bytes())
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (bundle / "keys" / "audit-sealing.pem").write_bytes(other)
    assert verifier.verify(bundle, given).problems[0].startswith("keys/audit-sealing.pem: not the key")
    clean = tmp_path / "clean"
    shutil.copytree(posted["dir"], clean)
    (clean / "records-extra.jsonl").write_text("{}")
    assert _failure(clean) == ["file records-extra.jsonl: not in the manifest (added afterwards)"]
