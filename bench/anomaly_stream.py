"""The generated claim histories through the real `score_claim` stream handler (app.py), on moto.

The tables are the deployment's (infra/resources.py, created by harness.local_stack with the same keys, indexes and
stream); the directory holds each generated company's policy, departments (with their company) and people. Each
claim is written as an employee's app writes it (a draft with its expenses, then submitted), and the claims table's
own stream records, as moto's DynamoDB Streams returns them, are handed to `app.score_claim` in batches of
`BATCH` with the `eventSourceARN` an event source mapping adds: the records the handler's own writes produce
(scored, in approval) are fed back too, as the stream would deliver them. Only the handler's time is counted.

What is checked on the way, not assumed: every submitted claim is scored exactly once (one `claim.scored` audit
record, `risk_model_version` set); the records of the handler's own writes change nothing (no claim's version
moves: scoring does not re-trigger itself); a batch delivered twice changes nothing (idempotent per claim version).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tools.claim_histories import Histories, LabelledClaim

BATCH = 100  # the event source mapping's BatchSize (infra/resources.py EVENT_SOURCES)
_IN_MOTO = [0.0]  # seconds spent inside moto (answering an AWS call in Python), summed
FAKE_ACCOUNT = "123456789012"


class Context:
    """The Lambda runtime's context attributes Powertools reads."""

    function_name = "hk-expense-local-score_claim"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:ap-east-1:{FAKE_ACCOUNT}:function:hk-expense-local-score_claim"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-0000"
    log_group_name = "/aws/lambda/hk-expense-local-score_claim"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class StreamResult:
    records: int = 0  # stream records handed to the handler
    submitted: int = 0  # of which: claims moving into `submitted` (the ones that are scored)
    rows: int = 0  # expense rows of the scored claims
    seconds: float = 0.0  # in the handler
    batches: int = 0
    failures: int = 0  # batchItemFailures reported
    emulated: float = 0.0  # of `seconds`: inside moto, emulating DynamoDB, S3 and Step Functions
    rescored: int = 0  # claims whose version moved when their own writes' records came back (must be 0)
    replay_changed: int = 0  # claims changed by a batch delivered twice (must be 0)
    scored_twice: int = 0  # claims with more than one claim.scored audit record (must be 0)
    not_scored: int = 0  # submitted claims left unscored (must be 0)
    versions: dict[str, str] = field(default_factory=dict)  # model version per company as scoring recorded it
    trained: dict[str, str] = field(default_factory=dict)  # the version promoted per company before the run

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else float("nan")

    @property
    def records_per_s_without_moto(self) -> float:
        """The handler's own rate: moto's time answering its AWS calls taken out (a real service answers over the
        network instead: that latency is not in this figure)."""
        own = self.seconds - self.emulated
        return self.records / own if own > 0 else float("nan")

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def _index_partition(query):
    """Plumbing, like harness/dynamodb_shim.py's base-table partition: moto answers a query of a global index by
    comparing the key of every item of the table as DynamoDB types (9M casts for 120 claims: most of the run), where
    DynamoDB reads one partition of the index. The items are pre-selected by the key's raw value, then moto's own
    query runs on them (same matching, sorting, limit and paging)."""

    def partition(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is None or hash_key is None or "all_items" in self.__dict__:
            return query(self, hash_key, *args, **kwargs)
        index = next(i for i in self.all_indexes() if i.name == index_name)
        attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        every = (i for part in self.items.values() for i in (part.values() if self.range_key_attr else [part]))
        items = [i for i in every  # moto's all_items() would sort the whole table first
                 if (v := i.attrs.get(attr)) is not None and v.type == hash_key.type and v.value == hash_key.value]
        self.all_items = lambda: items
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return partition


def _timed(call):
    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return call(self, *args, **kwargs)
        finally:
            _IN_MOTO[0] += time.perf_counter() - start

    return timed


@contextmanager
def local_tables() -> Iterator[object]:
    """moto with the deployment's tables and the approval state machine (its executions are recorded, not run)."""
    fake = "testing"  # moto's credentials
    os.environ.update(AWS_ACCESS_KEY_ID=fake, AWS_SECRET_ACCESS_KEY=fake, AWS_SESSION_TOKEN=fake,
                      AWS_DEFAULT_REGION="ap-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from chalicelib import bootstrap
    from harness import dynamodb_shim
    from harness.local_stack import LocalStack
    from infra import resources as r

    stack = LocalStack(stage="local")
    stack.env = stack.environment()
    os.environ.update(stack.env)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one INFO line a claim would be most of the time measured
    with mock_aws():
        dynamodb_shim.install()
        from moto.core.botocore_stubber import BotocoreStubber
        from moto.dynamodb.models.table import Table

        shimmed, stub = Table.query, BotocoreStubber.__call__
        Table.query = _index_partition(shimmed)
        BotocoreStubber.__call__ = _timed(stub)
        try:
            bootstrap.reset()
            stack._tables()  # noqa: SLF001 - the same table definitions the local stack builds
            iam = stack.client("iam")
            role = iam.create_role(RoleName="bench-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            stack.arns["role:lambda"] = role
            for fn in r.ASL_SUBSTITUTIONS.values():  # the functions are not run here: their names only
                stack.arns[f"function:{fn}"] = f"arn:aws:lambda:ap-east-1:{FAKE_ACCOUNT}:function:{fn}"
            stack._state_machine()  # noqa: SLF001
            yield stack
        finally:
            Table.query = shimmed
            BotocoreStubber.__call__ = stub
            dynamodb_shim.uninstall()
            bootstrap.reset()


def train_models(histories: Histories, cut) -> dict[str, str]:
    """Each company's model trained on its claims submitted before `cut`, stored in the stage's models bucket and
    promoted as retrain_anomaly does; returns the version per company."""
    from chalicelib.adapters import model_store
    from chalicelib.adapters.aws import client
    from chalicelib.services import anomaly_model as am

    bucket = os.environ["MODELS_BUCKET"]
    client("s3", os.environ.get("APP_REGION", "ap-east-1")).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-east-1"})
    store = model_store.from_environment()
    out = {}
    for company in histories.companies:
        rows = [r for c in histories.claims[company.name] if c.submitted_at < cut for r in c.rows]
        outcome = am.retrain(store, company.name, rows, cut)
        out[company.name] = outcome.version if outcome.promoted else am.RULES_ONLY_VERSION
    return out


def load_directory(histories: Histories) -> None:
    from chalicelib import bootstrap

    directory = bootstrap.container().directory
    for company in histories.companies:
        directory.put_policy(company.policy)
        for department in company.departments:
            directory.put_department(department.model_copy(update={"company": company.name}))
        for person in company.people:
            directory.put_employee(person.employee)


def draft_of(claim: LabelledClaim):
    """The claim as the employee's app holds it before submitting: its expenses as extraction read them."""
    from chalicelib.domain.claim import Claim, ClaimStatus
    from chalicelib.domain.expense import Expense, ExpenseStatus

    first = claim.rows[0]
    expenses = [Expense(expense_id=r.expense_id, employee_id=r.employee_id, status=ExpenseStatus.EXTRACTED,
                        created_at=claim.submitted_at, updated_at=claim.submitted_at,
                        s3_key=f"uploads/{r.employee_id}/{r.expense_id}.jpg", file_sha256=r.evidence_key,
                        content_type="image/jpeg", vendor=r.vendor, receipt_date=r.receipt_date, total=r.total,
                        receipt_no=r.receipt_no, receipt_time=r.receipt_time, city=r.city, category=r.category,
                        attendees=r.attendees) for r in claim.rows]
    return Claim(claim_id=claim.claim_id, employee_id=claim.employee_id, department_id=first.department_id,
                 cost_centre=first.cost_centre, status=ClaimStatus.DRAFT, created_at=claim.submitted_at,
                 updated_at=claim.submitted_at, title="monthly expenses", expenses=expenses)


def preload(claims: list[LabelledClaim]) -> None:
    """The months before the run as the stream left them: scored claims in approval, their expenses indexed. Written
    in batches, without audit records (what scoring reads is the claims and expense tables' items, as the
    repositories write them)."""
    from chalicelib.adapters.dynamo_models import ClaimItem, ExpenseItem
    from chalicelib.adapters.repositories import _claim_item, _index_item
    from chalicelib.domain.claim import ClaimStatus

    with ClaimItem.batch_write() as claims_out, ExpenseItem.batch_write() as expenses_out:
        for claim in claims:
            stored = draft_of(claim).model_copy(update={
                "status": ClaimStatus.IN_APPROVAL, "submitted_at": claim.submitted_at, "submission_count": 1,
                "risk_score": 0.0, "risk_model_version": "rules-only", "execution_arn": f"{claim.claim_id}-s1",
                "version": 3})
            claims_out.save(_claim_item(stored))
            for expense in stored.expenses:
                expenses_out.save(_index_item(expense, stored.claim_id))


class Stream:
    """The claims table's stream as moto keeps it (its one shard), turned into event records exactly as moto's own
    DynamoDB event source mapping does (`moto.awslambda.models.LambdaBackend.send_dynamodb_items`): moto's
    DynamoDB Streams API (DescribeStream, GetRecords) answers "Not yet implemented" with this botocore."""

    def __init__(self, stack) -> None:
        from moto.dynamodb.models import dynamodb_backends

        from infra import resources as r

        self.arn = stack.arns["stream:claims"]
        self.region = r.REGION
        backend = dynamodb_backends[FAKE_ACCOUNT][r.REGION]
        self.shard = backend.get_table(stack.name("claims")).stream_shard
        self.seen = 0

    def read(self) -> list[dict]:
        from datetime import datetime

        from moto.core.utils import unix_time

        items, self.seen = self.shard.items[self.seen:], len(self.shard.items)
        out = []
        for item in items:
            record = item.to_json()
            dynamodb = dict(record["dynamodb"])
            if isinstance(dynamodb.get("ApproximateCreationDateTime"), datetime):
                dynamodb["ApproximateCreationDateTime"] = unix_time(dynamodb["ApproximateCreationDateTime"])
            out.append({"eventID": record["eventID"], "eventName": record["eventName"],
                        "eventVersion": record["eventVersion"], "eventSource": record["eventSource"],
                        "awsRegion": self.region, "dynamodb": dynamodb, "eventSourceARN": self.arn})
        return out


def _event(records: list[dict]) -> dict:
    return {"Records": records}


def run(histories: Histories, cut, batch: int = BATCH, limit: int | None = None) -> StreamResult:
    """Every company's claims submitted from `cut` on (the first `limit` of each, if given) through
    `app.score_claim`, each company's model trained on its claims before `cut` (stored in the models bucket and
    loaded by the handler as in AWS), the earlier claims already in the table as scored history."""
    from chalicelib import bootstrap
    from chalicelib.domain.claim import ClaimStatus
    from chalicelib.domain.identity import SYSTEM

    out = StreamResult()
    with local_tables() as stack:
        import app
        from chalicelib.services import anomaly_model

        app._models.cache_clear()  # noqa: SLF001 - this process's earlier stack (tests) is gone
        anomaly_model.forget_loaded()
        out.trained = train_models(histories, cut)
        load_directory(histories)
        c = bootstrap.container()
        preload([cl for company in histories.companies for cl in histories.claims[company.name]
                 if cl.submitted_at < cut])
        stream = Stream(stack)
        stream.read()  # those writes are not part of the run
        pending = [(claim, company.name) for company in histories.companies
                   for claim in [cl for cl in histories.claims[company.name] if cl.submitted_at >= cut][:limit]]
        pending.sort(key=lambda p: (p[0].submitted_at, p[0].claim_id))
        for start in range(0, len(pending), batch):
            chunk = pending[start:start + batch]
            for claim, _ in chunk:
                draft = draft_of(claim)
                c.claims.create(draft, SYSTEM)
                c.claims.save(draft, draft.moved_to(ClaimStatus.SUBMITTED, submitted_at=claim.submitted_at,
                                                    submission_count=1), SYSTEM, action="claim.submitted")
                out.rows += len(claim.rows)
            records = stream.read()
            out.submitted += len(chunk)
            _deliver(app, records, out, batch)
            versions = {cl.claim_id: c.claims.get(cl.claim_id).version for cl, _ in chunk}
            own = stream.read()  # what the handler's writes put on the stream: back through it
            _deliver(app, own, out, batch)
            out.rescored += sum(c.claims.get(cid).version != v for cid, v in versions.items())
            if start == 0:  # the first batch again, as a retried delivery would bring it
                _deliver(app, records, out, batch)
                out.replay_changed += sum(c.claims.get(cid).version != v for cid, v in versions.items())
                stream.read()
        for claim, company in pending:
            stored = c.claims.get(claim.claim_id)
            if stored is None or stored.status in (ClaimStatus.SUBMITTED, ClaimStatus.DRAFT):
                out.not_scored += 1
                continue
            out.versions.setdefault(company, stored.risk_model_version or "")
            scored = [r for r in c.claims.history(claim.claim_id) if r.action == "claim.scored"]
            out.scored_twice += len(scored) > 1
    return out


def _deliver(app, records: list[dict], out: StreamResult, batch: int) -> None:
    for i in range(0, len(records), batch):
        event = _event(records[i:i + batch])
        start, moto = time.perf_counter(), _IN_MOTO[0]
        response = app.score_claim(event, Context())
        out.seconds += time.perf_counter() - start
        out.emulated += _IN_MOTO[0] - moto
        out.records += len(event["Records"])
        out.batches += 1
        out.failures += len((response or {}).get("batchItemFailures", []))
