"""Finance dashboard benchmark: 100,000 claims in the local stack's tables (moto, in process), the aggregates
built by the claims-stream consumer from stream-shaped records, then the dashboard's overview timed.

- Load: the sample organisation plus generated departments and staff (directory rows as `put_employee` writes
  them); claims spread over departments, 24 Hong Kong months, statuses, categories and currencies, written to the
  claims table as `ClaimRepository` writes them (batch writes: the bench does not pay for audit records). Each
  claim's stream history (INSERT as submitted, then MODIFY to where it ended) is handed, in batches of 1,000
  records, to `functions.finance_aggregates.handler`: the Lambda's own code, as the event-source mapping calls it.
  The claims table's live mappings are removed first, so nothing else consumes those writes.
- Measured: `GET /finance/overview` through the Chalice app (token check, audit record, the route) for a finance
  user (own department, 12 months) and an auditor (all departments, 24 months), `--loads` times each: p50/p95
  latency and the DynamoDB items read per load (what the repositories returned: buckets and department rows).
- Beside it: the same answer computed by a Scan of the claims table (every item read, contributions added up), its
  time and items read. The two answers must agree, and the targets hold: items read <= 1/100 of the Scan's, p95
  <= 150 ms. Each figure is printed as `name: value unit`.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

os.environ.update({name: "testing" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN",
                                                "AWS_SESSION_TOKEN")})  # moto's fake credentials, as the tests'
os.environ["AWS_DEFAULT_REGION"] = "ap-east-1"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from harness.local_stack import LocalStack  # noqa: E402

os.environ.update(LocalStack().environment())

from bench.e2e import percentile  # noqa: E402

STATUSES = (("posted", 52), ("approved", 6), ("rejected", 5), ("in_approval", 12), ("returned", 3),
            ("submitted", 2), ("scored", 1), ("draft", 15), ("failed", 4))
CATEGORIES = (("meals", 35), ("taxi", 25), ("travel", 20), ("entertainment", 8), ("general", 12))
CURRENCIES = (("HKD", 78), ("CNY", 12), ("USD", 5), ("MOP", 3), ("TWD", 2))
MONTHS = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
DEPARTMENTS = 8  # generated, besides the sample organisation's three
STAFF = 60  # per generated department
TARGET_P95_MS = 150.0
TARGET_READ_RATIO = 100


def _pick(rng: random.Random, weighted):
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


class _Context:
    function_name = "hk-expense-local-aggregate_claims"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:ap-east-1:123456789012:function:{function_name}"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def organisation(directory, rng: random.Random) -> list[tuple[str, list[str]]]:
    """Departments (id, staff ids): the sample organisation's and generated ones."""
    from chalicelib.domain.directory import Department, Employee
    from harness import sample_org

    sample_org.load(directory)
    out = [(d.department_id, [e.employee_id for e in sample_org.EMPLOYEES if e.department_id == d.department_id])
           for d in sample_org.DEPARTMENTS]
    surnames = ("陳 Chan", "李 Lee", "張 Cheung", "黃 Wong", "何 Ho", "林 Lam", "梁 Leung", "吳 Ng")
    for d in range(DEPARTMENTS):
        dept = f"BENCH-{d:02d}"
        directory.put_department(Department(department_id=dept, name=f"Bench dept {d} 部門{d}", office_id="HK-CWB",
                                            head_id=f"B{d:02d}00", cost_centre=f"CC-9{d:02d}",
                                            finance_controller_id="E100"))
        staff = []
        for i in range(STAFF):
            emp = f"B{d:02d}{i:02d}"
            directory.put_employee(Employee(employee_id=emp, name=f"{rng.choice(surnames)} {i}",
                                            email=f"{emp.lower()}@bench.example.com", department_id=dept, rank=2,
                                            roles=["employee"]))
            staff.append(emp)
        out.append((dept, staff))
    return out


def make_claims(n: int, departments, rng: random.Random, fx) -> list[tuple[dict | None, dict]]:
    """(submitted image or None for a draft, final image) per claim, as claim JSON dicts (the stream's `body`)."""
    from chalicelib.domain.claim import Claim, ClaimStatus, Decision
    from chalicelib.domain.expense import Expense
    from chalicelib.domain.finance import HK
    from chalicelib.domain.money import Money

    weights = [rng.uniform(0.3, 3.0) for _ in departments]  # some departments far busier than others
    out = []
    for i in range(n):
        dept, staff = rng.choices(departments, weights=weights)[0]
        employee = rng.choice(staff)
        month = rng.choice(MONTHS)
        y, m = (int(x) for x in month.split("-"))
        created = datetime(y, m, rng.randint(1, 28), rng.randint(8, 19), rng.randint(0, 59), tzinfo=HK).astimezone(UTC)
        expenses = []
        for j in range(rng.choice((1, 1, 1, 2, 2, 3))):
            amount = Decimal(rng.randint(2_000, 250_000)) / 100
            unsure = rng.random() < 0.04
            expenses.append(Expense(expense_id=f"e-b{i:06d}-{j}", employee_id=employee,
                                    status="needs_review" if unsure else "extracted",
                                    vendor=rng.choice(("Tsui Wah 翠華", "Maxim's 美心", "HK Taxi 的士", "MTR 港鐵",
                                                       "Cathay Pacific 國泰", "Marriott 萬豪")),
                                    total=Money.of(amount, _pick(rng, CURRENCIES)), category=_pick(rng, CATEGORIES),
                                    review_reasons=["the total was hard to read"] if unsure else [],
                                    created_at=created, updated_at=created))
        final = ClaimStatus(_pick(rng, STATUSES))
        claim = Claim(claim_id=f"c-bench-{i:06d}", employee_id=employee, department_id=dept,
                      title=f"Claim {i} 報銷 {month}", expenses=expenses, created_at=created, updated_at=created)
        if final == ClaimStatus.DRAFT:
            out.append((None, claim.model_dump(mode="json")))
            continue
        submitted_at = created + timedelta(hours=rng.uniform(0, 72))
        changes: dict = {"status": final, "version": 5, "submitted_at": submitted_at, "submission_count": 1,
                         "updated_at": submitted_at + timedelta(hours=1), "valuation": claim.valued(fx)}
        if rng.random() < 0.06:
            changes["risk_reasons"] = ["Possible duplicate of another claim 可能重複報銷"]
        if final in (ClaimStatus.APPROVED, ClaimStatus.POSTED, ClaimStatus.REJECTED):
            hours = rng.lognormvariate(3.0, 0.8)  # median ~20 h, a long tail past 48 h
            verdict = "rejected" if final == ClaimStatus.REJECTED else "approved"
            decided = submitted_at + timedelta(hours=hours)
            changes["decisions"] = [Decision(level=1, approver_id="E100", decision=verdict, decided_at=decided,
                                             content_hash="bench")]
            changes["updated_at"] = decided
        if final == ClaimStatus.FAILED:
            changes["failure_reason"] = "ledger unavailable"
        last = claim.model_copy(update=changes).model_dump(mode="json")
        first = {**last, "status": "submitted", "version": 1, "updated_at": last["submitted_at"], "decisions": [],
                 "risk_reasons": [], "failure_reason": None}
        out.append((first, last))
    return out


def _record(seq: int, new: dict, old: dict | None) -> dict:
    image = lambda c: {"claim_id": {"S": c["claim_id"]}, "body": {"S": json.dumps(c, ensure_ascii=False)}}  # noqa: E731
    dynamodb = {"Keys": {"claim_id": {"S": new["claim_id"]}}, "SequenceNumber": f"{seq:021d}",
                "SizeBytes": 1000, "StreamViewType": "NEW_AND_OLD_IMAGES", "NewImage": image(new)}
    if old is not None:
        dynamodb["OldImage"] = image(old)
    return {"eventID": str(seq), "eventName": "MODIFY" if old else "INSERT", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "ap-east-1", "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:ap-east-1:123456789012:table/hk-expense-local-claims/stream/bench"}


BATCH = 100  # infra/resources.py EVENT_SOURCES: the aggregate_claims mapping's batch size


def _moto_table(name: str):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra import resources as r

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][r.REGION].tables[name]


def _buckets(c) -> dict:
    """Every bucket of the aggregates table (the bench's own check, not a dashboard read)."""
    from chalicelib.adapters.dynamo_models import FinanceItem

    return {(i.pk, i.sk): i for i in FinanceItem.scan(FinanceItem.pk.startswith("BUCKET#"))}


def _detach_claims_stream(stack: LocalStack) -> None:
    """The bench hands the stream's records to the consumer itself, so nothing may consume the claims table's
    writes meanwhile. moto's DeleteEventSourceMapping leaves a mapping attached to the table's stream, and its
    stream keeps every record in memory: both are detached on moto's table object (local plumbing only)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra import resources as r

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][r.REGION].tables[stack.name("claims")]
    table.lambda_event_source_mappings.clear()
    table.stream_shard = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=200)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--live", type=int, default=3000, help="latest stream records sent through the Lambda")
    parser.add_argument("--profile", action="store_true", help="cProfile the loads (stderr)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("hk-expense", "hk-expense-finance"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import ClaimItem
    from chalicelib.adapters.repositories import DirectoryRepository, _claim_item, claim_from_body
    from chalicelib.domain import finance as fin
    from chalicelib.services import finance
    from functions import finance_aggregates
    from harness import dynamodb_shim, lambda_shim

    rng = random.Random(args.seed)
    with mock_aws():
        dynamodb_shim.install()
        lambda_shim.install()  # the stack's other handlers (S3's test event on the upload queue) run in process
        try:
            bootstrap.reset()
            stack = LocalStack().create()
            _detach_claims_stream(stack)
            c = bootstrap.container()
            fx = c.directory.policy().fx
            began = time.monotonic()
            departments = organisation(c.directory, rng)
            pairs = make_claims(args.claims, departments, rng, fx)
            claims_table = _moto_table(stack.name("claims"))
            for _, final in pairs:  # a bulk load straight into moto's table (loading is not what is measured)
                claims_table.put_item(_claim_item(claim_from_body(json.dumps(final))).serialize())
            print(f"# {len(pairs)} claims loaded in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)

            events = []
            for first, final in pairs:  # each claim's records at the times they happened, claims interleaved
                if first is not None:
                    events.append((first["updated_at"], first, None))
                events.append((final["updated_at"], final, first))
            events.sort(key=lambda e: e[0])
            records = [_record(seq, new, old) for seq, (_, new, old) in enumerate(events, start=1)]
            history, tail = records[:-args.live], records[-args.live:]

            # the history: the consumer's own parsing and arithmetic in its backfill mode, items imported
            began = time.monotonic()
            changes, unreadable = finance_aggregates.changes({"Records": history})
            markers, buckets, adopters = finance.rebuild(changes, fx)
            finance_table = _moto_table(stack.name("finance"))
            for item in c.aggregates.backfill_items(markers, buckets, adopters):
                finance_table.put_item(item.serialize())
            rebuilt = time.monotonic() - began
            print(f"# {len(history)} stream records rebuilt in {rebuilt:.0f} s", file=sys.stderr, flush=True)

            # the latest records through the Lambda handler, in the event-source mapping's batches
            began, failed = time.monotonic(), len(unreadable)
            for i in range(0, len(tail), BATCH):
                answer = finance_aggregates.handler({"Records": tail[i:i + BATCH]}, _Context())
                failed += len(answer["batchItemFailures"])
            live = time.monotonic() - began
            # and a redelivery of the last batches: nothing may change
            before = {k: v.body for k, v in _buckets(c).items()}
            for i in range(max(0, len(tail) - 3 * BATCH), len(tail), BATCH):
                finance_aggregates.handler({"Records": tail[i:i + BATCH]}, _Context())
            redelivery_harmless = before == {k: v.body for k, v in _buckets(c).items()}

            # moto keeps every table in this process: frozen, its millions of objects are not walked by each garbage
            # collection during the timed loads (in AWS the API's process holds none of them)
            gc.collect()
            gc.freeze()
            counted = {"directory": 0}
            departments_of = DirectoryRepository.departments

            def counting_departments(self, only=None):
                rows = departments_of(self, only)
                counted["directory"] += len(rows)
                return rows

            DirectoryRepository.departments = counting_departments
            results = {}
            with Client(__import__("app").app, stage_name="local") as client:
                def token(employee: str) -> dict:
                    body = json.loads(client.http.post("/dev/token", body=json.dumps({"employee_id": employee}),
                                                       headers={"Content-Type": "application/json"}).body)
                    return {"Authorization": f"Bearer {body['token']}"}

                views = {"finance_own_12m": ("E300", "/finance/overview?from=2026-01&to=2026-12"),
                         "auditor_all_24m": ("E400", "/finance/overview?department=all&from=2025-01&to=2026-12")}
                profiler = None
                if args.profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                for name, (who, path) in views.items():
                    headers = token(who)
                    times, reads, answer = [], [], None
                    for _ in range(args.loads):
                        before = c.aggregates.items_read
                        counted["directory"] = 0
                        started = time.perf_counter()
                        resp = client.http.get(path, headers=headers)
                        times.append((time.perf_counter() - started) * 1000)
                        assert resp.status_code == 200, resp.body
                        reads.append(c.aggregates.items_read - before + counted["directory"])
                        answer = json.loads(resp.body)
                    results[name] = (times, reads, answer)
            DirectoryRepository.departments = departments_of
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)

            # the same answers by a Scan of the claims table
            began = time.perf_counter()
            scanned = [claim_from_body(item.body) for item in ClaimItem.scan(attributes_to_get=["body"])]
            scan_ms = (time.perf_counter() - began) * 1000
            infos = [fin.DepartmentInfo(department_id=d.department_id, name=d.name, headcount=n)
                     for d, n in c.directory.departments()]
            ok = failed == 0 and redelivery_harmless
            print(f"dashboard_claims: {len(scanned)} count")
            print(f"dashboard_stream_records: {len(records)} count")
            print(f"dashboard_backfill_records_per_s: {len(history) / rebuilt:.0f} records/s")
            print(f"dashboard_lambda_records: {len(tail)} count")
            print(f"dashboard_lambda_records_per_s: {len(tail) / live:.0f} records/s")
            print(f"dashboard_lambda_records_failed: {failed} count")
            print(f"dashboard_redelivery_harmless: {int(redelivery_harmless)} bool")
            for name, (times, reads, answer) in results.items():
                scope = answer["departments"]
                wanted = [d for d in infos if d.department_id in {s["department_id"] for s in scope}]
                query = finance.DashboardQuery(department=None, from_month=answer["range"]["from"],
                                               to_month=answer["range"]["to"])
                in_scope = {d.department_id for d in wanted}
                began = time.perf_counter()
                mine = [cl for cl in scanned if cl.department_id in in_scope]
                expected = fin.overview_from_claims(mine, wanted, query.filters(), fx)
                by_scan_ms = scan_ms + (time.perf_counter() - began) * 1000
                expected_json = finance.overview_json(expected, wanted, query.filters())
                got = {k: v for k, v in answer.items() if k not in ("choices", "can_pick_department")}
                agree = got == json.loads(json.dumps(expected_json, default=str))
                p50, p95 = statistics.median(times), percentile(times, 95)
                read = max(reads)
                print(f"dashboard_{name}_p50_ms: {p50:.1f} ms")
                print(f"dashboard_{name}_p95_ms: {p95:.1f} ms")
                print(f"dashboard_{name}_items_read_per_load: {read} items")
                print(f"dashboard_{name}_scan_items_read: {len(scanned)} items")
                print(f"dashboard_{name}_scan_ms: {by_scan_ms:.0f} ms")
                print(f"dashboard_{name}_claims_in_view: {answer['claims']} count")
                print(f"dashboard_{name}_spend_hkd: {answer['spend']['amount']} HKD")
                print(f"dashboard_{name}_answers_agree: {int(agree)} bool")
                if not agree:
                    for key in sorted(set(got) | set(expected_json)):
                        if got.get(key) != json.loads(json.dumps(expected_json.get(key), default=str)):
                            print(f"# {name} differs on {key}", file=sys.stderr)
                ok &= agree and p95 <= TARGET_P95_MS and read * TARGET_READ_RATIO <= len(scanned)
            print(f"dashboard_targets_met: {int(ok)} bool")
            return 0 if ok else 1
        finally:
            lambda_shim.drain(60)
            lambda_shim.uninstall()
            dynamodb_shim.uninstall()
            bootstrap.reset()


if __name__ == "__main__":
    sys.exit(main())
