"""The CloudFormation merge template for `chalice package --merge-template`, built from infra/resources.py.

Chalice generates the REST API, its handler (`APIHandler`), the two `@app.lambda_function`s and one IAM role per
function. This module adds everything else from the one definition in infra/resources.py: tables, buckets, queues,
the topic, secrets, the Step Functions task Lambdas (which Chalice does not own), the event-source mappings and
the approval state machine. It also overrides, by deep merge, what Chalice cannot know:

* each role's policy (least privilege, per function, on the resources of this stack; `access()` below),
* environment values that name an ARN with the placeholder account of `lambda_environment()`,
* deterministic function names and log groups (so the log permissions can name them).

`finalize()` then does what a merge cannot: the OCR function becomes a container image (its pinned wheels need a
newer glibc than the python3.11 zip runtime, Amazon Linux 2 with glibc 2.26, has; and all of requirements.txt is
about 410 MB installed, scikit-learn with numpy and scipy alone about 260 MB, over the 250 MB unzipped limit; see
infra/Dockerfile.extraction), the REST API names its handler by ARN instead of `Fn::GetAtt` (so the handler may
name the API in PUBLIC_BASE_URL without a cycle), and the result is checked for cycles and leftover placeholders.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from infra import alarms
from infra import resources as r

API_HANDLER = "api_handler"  # Chalice's REST API function (handler `app.app`)
# Chalice's CloudFormation names for its own resources (chalice.package.SAMTemplateGenerator).
CHALICE_FUNCTION_IDS = {API_HANDLER: "APIHandler"}
REST_API_ID = "RestAPI"

# Functions shipped as a container image instead of the zip bundle (see the module docstring): image -> (Dockerfile,
# template parameter with the pushed image's URI, its functions). score_claim and retrain_anomaly run the
# per-company anomaly model (scikit-learn, numpy, scipy: about 260 MB installed, over the zip limit) from an image
# without the OCR packages (smaller, so a faster cold start); one image each, the handler by ImageConfig.Command.
IMAGES = {
    "extraction": ("infra/Dockerfile.extraction", "ExtractionImageUri", ("extract_receipt",)),
    "scoring": ("infra/Dockerfile.scoring", "ScoringImageUri", ("score_claim", "retrain_anomaly")),
}
IMAGE_FUNCTIONS = tuple(f for _, _, functions in IMAGES.values() for f in functions)
IMAGE_PARAMETER = IMAGES["extraction"][1]
DOCKERFILE = IMAGES["extraction"][0]


def image_of(logical: str) -> tuple[str, str]:
    """(Dockerfile, template parameter) of an image function."""
    return next((dockerfile, parameter) for dockerfile, parameter, functions in IMAGES.values()
                if logical in functions)

# Not (yet) in infra/resources.py; the local stack hard-codes the same values. The packaging test compares them
# with what the moto stack actually configured, so a drift fails a test.
BUCKET_NOTIFICATIONS = r.BUCKET_NOTIFICATIONS  # bucket, queue, key prefix
VERSIONED_BUCKETS = r.VERSIONED_BUCKETS
# (bucket, prefix, days): raw e-mails are personal data kept 30 days
EXPIRING_PREFIXES = (("raw-mail", "inbound/", 30),)
# API Gateway stage throttling (every method): a flood, a runaway script or token guessing is refused with 429
# before it reaches the API handler; well above what the finance teams need (a few requests a second at peak)
API_THROTTLE_RATE_PER_S = 50
API_THROTTLE_BURST = 100
# API Gateway's own error responses (unknown route, throttled, payload too large) never reach the app's middleware
GATEWAY_RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
                            "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
STREAM_FAILURE_QUEUE = "{source}-stream-dlq"  # on-failure destination of a DynamoDB stream mapping
STREAM_MAX_RETRIES = 2  # 3 attempts in all, as infra/lambda_shim.STREAM_ATTEMPTS delivers locally
STREAM_MAX_RECORD_AGE_S = 6 * 3600
DLQ_RETENTION_S = 14 * 24 * 3600
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}
METRICS_NAMESPACE = "HkExpense"

# Actions that IAM cannot scope to a resource ARN; the only ones allowed with `Resource: "*"`.
# states:SendTask{Success,Failure,Heartbeat} take a task token, and the Service Authorization Reference lists no
# resource type for them, so a state machine or execution ARN in `Resource` would never match.
WILDCARD_ONLY_ACTIONS = frozenset(
    {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
     "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
     "cloudwatch:PutMetricData"}
)
XRAY_WRITE = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")  # X-Ray has no resource types for these

# --- names ------------------------------------------------------------------------------------------------------


def camel(name: str) -> str:
    """Chalice's rule (chalice.utils.to_cfn_resource_name) for CloudFormation logical ids."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def function_id(logical: str) -> str:
    return CHALICE_FUNCTION_IDS.get(logical, camel(logical))


def role_id(logical: str) -> str:
    return camel(f"{logical}_role")  # Chalice: ApiHandlerRole, ExtractReceiptRole, ...


def log_group_id(logical: str) -> str:
    return camel(f"{logical}_log_group")


def table_id(logical: str) -> str:
    return camel(logical) + "Table"


def bucket_id(logical: str) -> str:
    return camel(logical) + "Bucket"


def queue_id(logical: str) -> str:
    return camel(logical) + "Queue"


def topic_id(logical: str) -> str:
    return camel(logical) + "Topic"


def secret_id(logical: str) -> str:
    return camel(logical) + "Secret"


def key_id(logical: str) -> str:
    return camel(logical) + "Key"


def alias_id(logical: str) -> str:
    return camel(logical) + "KeyAlias"


def state_machine_id(logical: str) -> str:
    return camel(logical) + "StateMachine"


def mapping_id(source: r.EventSource) -> str:
    return camel(f"{source.function}_{source.source}") + "Mapping"


def all_functions() -> tuple[r.Function, ...]:
    """Every Lambda of the stack: Chalice's REST handler plus infra/resources.py FUNCTIONS."""
    # not in infra/resources.py FUNCTIONS (the local stack serves the API in-process); API Gateway stops at 29 s
    api = r.Function(API_HANDLER, "app.app", memory_mb=512, timeout_s=29)
    return (api, *r.FUNCTIONS)


def _getatt(logical_id: str, attr: str = "Arn") -> dict:
    return {"Fn::GetAtt": [logical_id, attr]}


def _ref(logical_id: str) -> dict:
    return {"Ref": logical_id}


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def state_machine_arn(stage: str, logical: str) -> dict:
    """Built from the name, not `Ref`: the task functions name the machine that invokes them (no cycle)."""
    return _sub(f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:"
                f"{r.physical_name(stage, logical)}")


# --- least-privilege access, per function -----------------------------------------------------------------------

CLAIM_WRITE = ("dynamodb:GetItem", "dynamodb:PutItem")  # ClaimRepository.get/create/save (TransactWrite of Puts)
AUDIT_APPEND = ("dynamodb:Query", "dynamodb:PutItem")  # AuditLog.last/records + the next chained record
# ExpenseRepository.get/locate, and the expense rows a claim's save writes in the same TransactWrite (an expense
# joining or leaving, re-indexed; a one-receipt claim stored before the expenses table is indexed on every save)
EXPENSE_ROWS = ("dynamodb:GetItem", "dynamodb:PutItem")


@dataclass(frozen=True)
class Access:
    """What one function's code does (read from chalicelib/services and adapters); statements are built below."""

    tables: dict[str, tuple[str, ...]]
    indexes: dict[str, tuple[str, ...]] | None = None  # table -> GSIs it queries
    # table -> (actions, partition-key patterns): writes allowed only on items whose key matches (LeadingKeys)
    keyed_writes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None
    keys: dict[str, tuple[str, ...]] | None = None  # KMS key -> actions (decision signatures)
    objects: dict[str, tuple[str, ...]] | None = None  # bucket -> s3 object actions under the notification prefix
    # bucket -> (actions, prefixes) for object access outside the notification prefix
    other_objects: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None
    lists: dict[str, tuple[str, ...]] | None = None  # bucket -> prefixes it may list (HeadObject 404 vs 403)
    version_lists: dict[str, tuple[str, ...]] | None = None  # bucket -> prefixes whose versions it may list
    # the audit archive: (actions, prefix) pairs, so reading seals and writing exports are granted apart
    archive_objects: tuple[tuple[tuple[str, ...], str], ...] = ()
    secrets: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()  # topics
    start_executions: tuple[str, ...] = ()  # state machines
    stop_executions: tuple[str, ...] = ()  # state machines whose executions it stops (reminder ladders)
    telephony: bool = False  # SMS and voice through AWS End User Messaging, in TELEPHONY_REGION
    task_tokens: bool = False  # SendTaskSuccess/Failure (approval decisions)
    consumes: tuple[str, ...] = ()  # queues of its SQS event source
    sends: tuple[str, ...] = ()  # queues it sends to (looked up by name: GetQueueUrl)
    secret_writes: tuple[str, ...] = ()  # secrets it rewrites (rotated OAuth refresh tokens of the ledgers)
    streams: tuple[str, ...] = ()  # tables whose stream it reads


KEY_PURPOSES = {"bank-details": "reimbursement-bank-account"}  # kms:EncryptionContext:purpose each key requires
POSTING_RECORDS = ("dynamodb:GetItem", "dynamodb:PutItem")  # PostingRecords.queue/get/save (conditional puts)
LINKS_RW = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")  # put_pending, get, mark_used/void
IDEMPOTENCY = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")  # Powertools


def access(stage: str) -> dict[str, Access]:
    """Per function, what its code path touches. `bootstrap.Container.approvals` reads the approval-link key when
    it is built, so every user of the approval service needs that secret."""
    dev_tokens = r.lambda_environment(stage)["ALLOW_DEV_TOKENS"] == "true"
    return {
        API_HANDLER: Access(
            tables={"claims": (*CLAIM_WRITE, "dynamodb:Query"), "audit": AUDIT_APPEND,
                    # the finance dashboard: the department list and members are Queries of the directory,
                    # its figures a Query of each department's buckets (never a Scan)
                    "directory": ("dynamodb:GetItem", "dynamodb:Query"), "finance": ("dynamodb:Query",),
                    # GET /expenses (the caller's unattached); a line without a receipt removed from a draft
                    "expenses": (*EXPENSE_ROWS, "dynamodb:Query", "dynamodb:DeleteItem"),
                    "advances": (*CLAIM_WRITE, "dynamodb:Query"),  # /advances: the same writes as a claim's
                    # the scan: resuming reminders after a typhoon, the escalation desk; the query: my approvals
                    "approvals": (*LINKS_RW, "dynamodb:Scan", "dynamodb:Query"),
                    # GET/POST/PUT /vendors: finance's entries are a small table, listed whole
                    "vendors": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"),
                    # POST /fx-rates (a batch write of the checked upload); reconciliation and the journal CSV
                    # (a Query of one period); a failed posting queued again (POST /finance/claims/{id}/repost)
                    "fx_rates": ("dynamodb:BatchWriteItem", "dynamodb:Query"),
                    "postings": (*POSTING_RECORDS, "dynamodb:Query")},
            indexes={"claims": ("by-department", "by-employee", "by-flagged", "by-review"),
                     "approvals": ("by-approver",), "audit": ("by-hour",),
                     "expenses": ("by-employee",), "advances": ("by-employee", "by-status")},
            # PUT /me/delegation and PUT /admin/weather only
            # and the privacy rows: sealed bank accounts, correction requests (services/privacy.py)
            keyed_writes={"directory": (("dynamodb:PutItem",),
                                        ("DELEGATION#*", "WEATHER#*", "BANK#*", "CORRECTION#*"))},
            # the presigned upload form is signed by this role, so the role itself must be allowed the PUT,
            # and reads the claim's version to copy a corrected receipt into labelled/ (services/labelling.py)
            objects={"uploads": ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion")},
            other_objects={"uploads": (("s3:PutObject",), ("labelled/",))},
            # ID tokens are checked against the user pool's public JWKS over HTTPS (no secret, no IAM)
            secrets=("approval-link-key", *(("dev-signing-key",) if dev_tokens else ())),
            # a returned claim's fresh link, a reassigned step; the claimant told their claim was returned
            publish=("approver-notifications", "employee-notifications"),
            task_tokens=True,
            # decisions stop the link's reminders; reassign/resubmit/weather start new ones
            start_executions=("reminders",),
            stop_executions=("reminders",),
            # decisions signed and checked; audit trails checked against their seals (the sealing key's public
            # half); the auditor's export: its manifest signed, both public keys, seals read, the zip written.
            # Bank details: sealed under a fresh data key (PUT /me/bank-account), opened for payroll (GET
            # /employees/{id}/bank-account); the key's use is bound to that purpose by its encryption context
            keys={"decision-signing": ("kms:Sign", "kms:Verify", "kms:GetPublicKey"),
                  "audit-sealing": ("kms:Sign", "kms:GetPublicKey"),
                  "bank-details": ("kms:GenerateDataKey", "kms:Decrypt")},
            archive_objects=((("s3:GetObjectVersion",), "seals/"), (("s3:PutObject", "s3:GetObject"), "exports/")),
            version_lists={r.AUDIT_ARCHIVE: ("seals/*",)},
            sends=("posting",),
        ),
        "extract_receipt": Access(
            # the expense it reads; the claim an upload or e-mail subject names, among the employee's, joined
            tables={"claims": (*CLAIM_WRITE, "dynamodb:Query"), "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "idempotency": IDEMPOTENCY,
                    "vendors": ("dynamodb:Scan",)},  # finance's vendor entries, merged over the seed directory
            indexes={"claims": ("by-employee",)},
            # HeadObject is authorised by s3:GetObject(Version); the claim's version is read, a replacement is
            # hashed, an object over the size limit is deleted for good (services/extraction.py)
            objects={"uploads": ("s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion")},
            consumes=("upload-events",),
        ),
        "intake_email": Access(
            tables={"audit": AUDIT_APPEND, "directory": ("dynamodb:GetItem",)},
            objects={"raw-mail": ("s3:GetObject",), "uploads": ("s3:GetObject", "s3:PutObject")},  # head, put
            lists={"uploads": ("receipts/*",)},
            consumes=("raw-mail-events",),
        ),
        "score_claim": Access(
            tables={"claims": (*CLAIM_WRITE, "dynamodb:Query"), "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "expenses": (*EXPENSE_ROWS, "dynamodb:Query"),
                    "vendors": ("dynamodb:Scan",)},  # the partner check reads finance's vendor entries
            # duplicates: the same file, the same receipt, the same paper re-photographed (its hash's eight bands);
            # history: the claimant's and the department's claims
            indexes={"expenses": ("by-file-hash", "by-dedupe-key", *(f"by-image-band-{i}" for i in range(8))),
                     "claims": ("by-employee", "by-department")},
            start_executions=("approval",),
            streams=("claims",),
            publish=("employee-notifications",),  # a claim that cannot be scored fails and its claimant is told
            # the company's current anomaly model (read once per container); listing makes a missing one a 404
            other_objects={"models": (("s3:GetObject",), ("anomaly/",))},
            lists={"models": ("anomaly/*",)},
        ),
        # the daily retrain: the company's claims by department (Queries), ranks from the directory; the new
        # version, its metadata and the `current` pointer written under anomaly/
        "retrain_anomaly": Access(
            tables={"claims": ("dynamodb:Query",), "directory": ("dynamodb:GetItem", "dynamodb:Query")},
            indexes={"claims": ("by-department",)},
            other_objects={"models": (("s3:GetObject", "s3:PutObject"), ("anomaly/",))},
            lists={"models": ("anomaly/*",)},
        ),
        # the finance aggregates: markers, buckets and adopters read in batches, written in one transaction each
        "aggregate_claims": Access(
            tables={"finance": ("dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"),
                    "directory": ("dynamodb:GetItem",)},
            streams=("claims",),
        ),
        "route_claim": Access(tables={"claims": ("dynamodb:GetItem",), "directory": ("dynamodb:GetItem",)}),
        "request_approval": Access(
            tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "approvals": LINKS_RW},
            secrets=("approval-link-key",),
            publish=("approver-notifications",),
            start_executions=("reminders",),
            stop_executions=("reminders",),
        ),
        "escalate": Access(  # voids the step's link and moves the claim up; request_approval sends the new link
            tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "approvals": ("dynamodb:GetItem", "dynamodb:UpdateItem")},
            secrets=("approval-link-key",),
            # nobody above: the escalation desk is told; a returned claim's timeout reminds the claimant
            publish=("approver-notifications", "employee-notifications"),
            stop_executions=("reminders",),
        ),
        "plan_reminders": Access(tables={"approvals": ("dynamodb:GetItem",), "claims": ("dynamodb:GetItem",),
                                         "directory": ("dynamodb:GetItem",)}),
        "send_reminder": Access(
            tables={"approvals": ("dynamodb:GetItem",), "claims": ("dynamodb:GetItem",),
                    "directory": ("dynamodb:GetItem",), "audit": AUDIT_APPEND},
            secrets=("approval-link-key",),  # the SMS carries the same signed link as the push
            telephony=True,
        ),
        # the last three tell the claimant how their claim ended (services/claimant_updates.py)
        "record_rejection": Access(tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                                           "directory": ("dynamodb:GetItem",)},
                                   publish=("employee-notifications",)),
        # the approval flow's posting task: the claim approved, its posting record queued, the message sent
        "post_to_ledger": Access(
            tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "postings": POSTING_RECORDS},
            sends=("posting",),
        ),
        # the posting worker: dated rates read, the ledger's adapter (internal journal, or a vendor with the
        # credentials secret, its rotated tokens written back), the claim and its record updated, the claimant
        # told, the approval flow's task answered; a claim naming a cash advance settles it in the same posting
        "post_claims": Access(
            tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                    "directory": ("dynamodb:GetItem",), "ledger": ("dynamodb:GetItem", "dynamodb:PutItem"),
                    "advances": CLAIM_WRITE, "postings": POSTING_RECORDS, "fx_rates": ("dynamodb:Query",)},
            objects={"uploads": ("s3:GetObject", "s3:GetObjectVersion")},  # receipts attached to vendor documents
            secrets=("ledger-credentials",),
            secret_writes=("ledger-credentials",),
            # the claimant told how it ended; finance told of a refusal or a dead-lettered posting (its department's
            # finance controller from the directory)
            publish=("employee-notifications", "approver-notifications"),
            task_tokens=True,
            consumes=("posting",),
        ),
        # the daily overdue-advance reminder: paid advances by status, the policy, one audit note each, the holder told
        "remind_overdue_advances": Access(
            tables={"advances": ("dynamodb:Query",), "audit": AUDIT_APPEND, "directory": ("dynamodb:GetItem",)},
            indexes={"advances": ("by-status",)},
            publish=("employee-notifications",),
        ),
        # audit seals: the chains read (records, the last one, the chains that moved: by-hour), the head signed,
        # the seal and its records written to the Object Lock archive (and earlier seals read back to check)
        "seal_ended_claims": Access(
            tables={"audit": ("dynamodb:Query",)},
            keys={"audit-sealing": ("kms:Sign", "kms:GetPublicKey")},
            archive_objects=((("s3:GetObjectVersion", "s3:PutObject"), "seals/"),),
            version_lists={r.AUDIT_ARCHIVE: ("seals/*",)},
            streams=("claims",),
        ),
        "seal_audit_sweep": Access(
            tables={"audit": ("dynamodb:Query",)},
            indexes={"audit": ("by-hour",)},
            keys={"audit-sealing": ("kms:Sign", "kms:GetPublicKey")},
            archive_objects=((("s3:GetObjectVersion", "s3:PutObject"), "seals/"),),
            version_lists={r.AUDIT_ARCHIVE: ("seals/*",)},
        ),
        # the daily rates feed: which rates of the week the table holds (a Query per currency), the new ones
        # written in one batch, one audit record of the load
        "load_fx_rates": Access(tables={"fx_rates": ("dynamodb:Query", "dynamodb:BatchWriteItem"),
                                        "audit": AUDIT_APPEND}),
        "mark_failed": Access(tables={"claims": CLAIM_WRITE, "expenses": EXPENSE_ROWS, "audit": AUDIT_APPEND,
                                     "directory": ("dynamodb:GetItem",)},
                              publish=("employee-notifications",)),
    }


# What S3 (GenerateDataKey to write, Decrypt to read) and DynamoDB ask of the caller for a customer-managed key
DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def data_key_services(grant: Access) -> list[str]:
    """The services a function reaches the data key through: Lambda (its environment variables, at cold start),
    then S3 and DynamoDB from what it accesses."""
    services = ["lambda"]
    if grant.objects or grant.other_objects:
        services.append("s3")
    if grant.tables or grant.keyed_writes or grant.streams:
        services.append("dynamodb")
    return services


def _statement(sid: str, actions, resources) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": resources}


def function_policy(stage: str, fn: r.Function, grant: Access) -> dict:
    statements = [
        _statement("OwnLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), [_getatt(log_group_id(fn.logical))]),
        _statement("Tracing", XRAY_WRITE, "*"),  # active tracing (Powertools Tracer in the handlers)
    ]
    for table, actions in grant.tables.items():
        resources: list[Any] = [_getatt(table_id(table))]
        for index in (grant.indexes or {}).get(table, ()):
            resources.append(_sub(f"${{{table_id(table)}.Arn}}/index/{index}"))
        statements.append(_statement(camel(f"{table}_table"), actions, resources))
    for table, (actions, patterns) in (grant.keyed_writes or {}).items():
        statement = _statement(camel(f"{table}_keyed_writes"), actions, [_getatt(table_id(table))])
        statement["Condition"] = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}}
        statements.append(statement)
    for key, actions in (grant.keys or {}).items():
        statement = _statement(camel(f"use_{key}_key"), actions, [_getatt(key_id(key))])
        if key in KEY_PURPOSES:  # only with the encryption context the code sends (adapters/privacy_store.py)
            statement["Condition"] = {"StringEquals": {"kms:EncryptionContext:purpose": KEY_PURPOSES[key]}}
        statements.append(statement)
    services = data_key_services(grant)
    if services:  # the stage's data key: only through Lambda/S3/DynamoDB, only the services the function uses
        statement = _statement("UseDataKeyThroughServices", DATA_KEY_ACTIONS, [_getatt(key_id(r.DATA_KEY))])
        statement["Condition"] = {"StringEquals": {"kms:ViaService": [
            _sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in services]}}
        statements.append(statement)
    for bucket, actions in (grant.objects or {}).items():
        prefixes = [p for b, _, p in BUCKET_NOTIFICATIONS if b == bucket] or [""]
        statements.append(_statement(
            camel(f"{bucket}_objects"), actions,
            [_sub(f"${{{bucket_id(bucket)}.Arn}}/{prefix}*") for prefix in prefixes],
        ))
    for bucket, (actions, prefixes) in (grant.other_objects or {}).items():
        statements.append(_statement(camel(f"{bucket}_other_objects"), actions,
                                     [_sub(f"${{{bucket_id(bucket)}.Arn}}/{p}*") for p in prefixes]))
    for bucket, prefixes in (grant.lists or {}).items():
        statement = _statement(camel(f"list_{bucket}"), ("s3:ListBucket",), [_getatt(bucket_id(bucket))])
        statement["Condition"] = {"StringLike": {"s3:prefix": list(prefixes)}}
        statements.append(statement)
    for i, (actions, prefix) in enumerate(grant.archive_objects):
        statements.append(_statement(camel(f"audit_archive_{prefix.strip('/')}_{i}"), actions,
                                     [_sub(f"${{{bucket_id(r.AUDIT_ARCHIVE)}.Arn}}/{prefix}*")]))
    for bucket, prefixes in (grant.version_lists or {}).items():
        statement = _statement(camel(f"list_{bucket}_versions"), ("s3:ListBucketVersions",),
                               [_getatt(bucket_id(bucket))])
        statement["Condition"] = {"StringLike": {"s3:prefix": list(prefixes)}}
        statements.append(statement)
    if grant.secrets:
        statements.append(_statement("ReadSecrets", ("secretsmanager:GetSecretValue",),
                                     [_ref(secret_id(s)) for s in grant.secrets]))
    if grant.publish:
        statements.append(_statement("Notify", ("sns:Publish",), [_ref(topic_id(t)) for t in grant.publish]))
    if grant.start_executions:
        statements.append(_statement("StartExecutions", ("states:StartExecution",),
                                     [_ref(state_machine_id(m)) for m in grant.start_executions]))
    if grant.stop_executions:
        statements.append(_statement("StopReminders", ("states:StopExecution",), [
            _sub(f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:"
                 f"{r.physical_name(stage, m)}:*") for m in grant.stop_executions]))
    if grant.telephony:
        region = r.lambda_environment(stage)["TELEPHONY_REGION"]
        # cross-border by design (not offered in ap-east-1): scoped to this account's identities in that region
        statements.append(_statement("SmsAndVoice", ("sms-voice:SendTextMessage", "sms-voice:SendVoiceMessage"),
                                     [_sub(f"arn:${{AWS::Partition}}:sms-voice:{region}:${{AWS::AccountId}}:*")]))
    if grant.task_tokens:
        # No resource type exists for these actions (task-token APIs): "*" is the only value IAM evaluates.
        statements.append(_statement("ResumeApproval", ("states:SendTaskSuccess", "states:SendTaskFailure"), "*"))
    for queue in grant.consumes:
        statements.append(_statement(
            camel(f"consume_{queue}"),
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
            [_getatt(queue_id(queue))],
        ))
    for queue in grant.sends:
        statements.append(_statement(camel(f"send_{queue}"), ("sqs:SendMessage", "sqs:GetQueueUrl"),
                                     [_getatt(queue_id(queue))]))
    if grant.secret_writes:
        statements.append(_statement("RotateSecrets", ("secretsmanager:PutSecretValue",),
                                     [_ref(secret_id(s)) for s in grant.secret_writes]))
    for table in grant.streams:
        statements.append(_statement(
            camel(f"read_{table}_stream"),
            ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
            [_getatt(table_id(table), "StreamArn")],
        ))
        failure = STREAM_FAILURE_QUEUE.format(source=table)
        statements.append(_statement(camel(f"send_{failure}"), ("sqs:SendMessage",), [_getatt(queue_id(failure))]))
    return {"Version": "2012-10-17", "Statement": statements}


# --- resources ----------------------------------------------------------------------------------------------------


def _retain(resource: dict) -> dict:
    resource["DeletionPolicy"] = "Retain"
    resource["UpdateReplacePolicy"] = "Retain"
    return resource


def _table(stage: str, table: r.Table) -> dict:
    props: dict[str, Any] = {
        "TableName": r.physical_name(stage, table.logical),
        "BillingMode": "PAY_PER_REQUEST",
        **r.table_keys(table),
        # the stage's customer-managed key: key policy, rotation and CloudTrail record of use are the company's
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": _getatt(key_id(r.DATA_KEY))},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": stage == "prod",
    }
    if table.stream:
        props["StreamSpecification"] = {"StreamViewType": table.stream}
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    return _retain({"Type": "AWS::DynamoDB::Table", "Properties": props})


def _bucket(stage: str, bucket: str) -> dict:
    props: dict[str, Any] = {
        "BucketName": _sub(r.bucket_name(stage, bucket, "${AWS::AccountId}")),
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": _getatt(key_id(r.DATA_KEY))},
             "BucketKeyEnabled": True}  # one data key per bucket and period: KMS calls (and cost) down ~99%
        ]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                           "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }
    if bucket in VERSIONED_BUCKETS:
        props["VersioningConfiguration"] = {"Status": "Enabled"}
    if bucket == r.AUDIT_ARCHIVE:  # seals: neither deleted nor overwritten by anyone before retention ends
        mode, period = r.AUDIT_ARCHIVE_RETENTION[stage]
        props["ObjectLockEnabled"] = True
        props["ObjectLockConfiguration"] = {"ObjectLockEnabled": "Enabled",
                                            "Rule": {"DefaultRetention": {"Mode": mode, **period}}}
    cors = [{"AllowedMethods": list(methods), "AllowedHeaders": ["Content-Type"], "MaxAge": 3000,
             "AllowedOrigins": [_sub(f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}")]}
            for b, methods in r.BROWSER_UPLOAD_BUCKETS if b == bucket]
    if cors:  # the phone page POSTs the receipt straight to S3 with the presigned form
        props["CorsConfiguration"] = {"CorsRules": cors}
    rules = [{"Id": f"expire-{prefix.strip('/')}", "Status": "Enabled", "Prefix": prefix, "ExpirationInDays": days,
              # in a versioned bucket expiry only hides the object: the hidden versions go the same day
              **({"NoncurrentVersionExpiration": {"NoncurrentDays": days}} if bucket in VERSIONED_BUCKETS else {})}
             for b, prefix, days in EXPIRING_PREFIXES if b == bucket]
    if rules:
        props["LifecycleConfiguration"] = {"Rules": rules}
    resource: dict[str, Any] = {"Type": "AWS::S3::Bucket", "Properties": props}
    notifications = [(q, p) for b, q, p in BUCKET_NOTIFICATIONS if b == bucket]
    if notifications:
        props["NotificationConfiguration"] = {"QueueConfigurations": [
            {"Event": "s3:ObjectCreated:*", "Queue": _getatt(queue_id(q)),
             "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": p}]}}}
            for q, p in notifications
        ]}
        # S3 checks that it may send to the queue when the configuration is saved
        resource["DependsOn"] = sorted({camel(q) + "QueuePolicy" for q, _ in notifications})
    return _retain(resource)


def _tls_only_policy(bucket: str) -> dict:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": _ref(bucket_id(bucket)),
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [_getatt(bucket_id(bucket)), _sub(f"${{{bucket_id(bucket)}.Arn}}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]},
        },
    }


def _queue(stage: str, queue: r.Queue) -> dict:
    props: dict[str, Any] = {
        "QueueName": r.physical_name(stage, queue.logical),
        "VisibilityTimeout": queue.visibility_timeout,
        "SqsManagedSseEnabled": True,  # S3 notifications cannot use the AWS-managed SQS KMS key
    }
    if queue.dead_letter:
        props["RedrivePolicy"] = {"deadLetterTargetArn": _getatt(queue_id(queue.dead_letter)),
                                  "maxReceiveCount": queue.max_receive_count}
    if any(q.dead_letter == queue.logical for q in r.QUEUES) or queue.logical.endswith("-dlq"):
        props["MessageRetentionPeriod"] = DLQ_RETENTION_S
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def _s3_to_queue_policy(stage: str, bucket: str, queue: str) -> dict:
    bucket_arn = _sub(f"arn:${{AWS::Partition}}:s3:::{r.bucket_name(stage, bucket, '${AWS::AccountId}')}")  # not Ref
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [_ref(queue_id(queue))],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "S3ObjectCreated", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": _getatt(queue_id(queue)),
                "Condition": {
                    "ArnLike": {"aws:SourceArn": bucket_arn},
                    "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")},
                },
            }]},
        },
    }


def _secret(stage: str, logical: str) -> dict:
    value: dict[str, Any] = {"GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True}}
    if logical == "ledger-credentials":  # finance connects a ledger after deploy (factory.py's JSON shape)
        value = {"SecretString": "{}"}
    note = {
        "approval-link-key": "HMAC key of the approval links (generated)",
        "dev-signing-key": "private JWK for dev tokens (read only where ALLOW_DEV_TOKENS=true): put it after deploy",
        "ledger-credentials": "OAuth clients, configs and rotating tokens of the company's ledger (JSON per ledger)",
    }.get(logical, logical)
    return {"Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": r.physical_name(stage, logical), "Description": note, **value}}


# --- sign-in: the Cognito user pool, its groups, the web client and the Hosted UI domain ----------------------------

USER_POOL_ID = "UserPool"
USER_POOL_CLIENT_ID = "UserPoolWebClient"
USER_POOL_DOMAIN_ID = "UserPoolDomain"
SIGNIN_DOMAIN_PARAMETER = "SignInDomainPrefix"
PASSWORD_POLICY = {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True, "RequireNumbers": True,
                   "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}


def group_id(role: str) -> str:
    return camel(f"{role}_group")


def api_url(path: str = "") -> dict:
    """The stage's API address (the pages are served by the API), as CloudFormation knows it."""
    return _sub(f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/api{path}")


def _user_pool(stage: str) -> dict:
    """Users are created by an administrator (no self sign-up); the username is the employee id."""
    return _retain({
        "Type": "AWS::Cognito::UserPool",
        "Properties": {
            "UserPoolName": r.physical_name(stage, r.USER_POOL),
            "UsernameConfiguration": {"CaseSensitive": False},
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Schema": [{"Name": name, "AttributeDataType": "String", "Mutable": False,
                        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "32"}}
                       for name in r.USER_POOL_CUSTOM_ATTRIBUTES]
                      + [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
            "AutoVerifiedAttributes": ["email"],
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            "Policies": {"PasswordPolicy": PASSWORD_POLICY},
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "UserPoolTags": {"app": r.APP_NAME, "stage": stage},
            "DeletionProtection": "ACTIVE" if stage == "prod" else "INACTIVE",
        },
    })


def _user_pool_client(stage: str) -> dict:
    """The pages' client: public (a browser keeps no secret), so the Hosted UI's code grant needs PKCE (S256, sent
    by static/signin.js; Cognito requires it of clients without a secret when a code_challenge is given)."""
    return {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "ClientName": r.client_id_placeholder(stage),
            "UserPoolId": _ref(USER_POOL_ID),
            "GenerateSecret": False,
            "ExplicitAuthFlows": list(r.AUTH_FLOWS),
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": list(r.OAUTH_SCOPES),
            "SupportedIdentityProviders": ["COGNITO"],
            "CallbackURLs": [api_url(r.SIGNIN_PATH)],
            "LogoutURLs": [api_url(r.SIGNIN_PATH)],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "ReadAttributes": ["email", "name", *(f"custom:{a}" for a in r.USER_POOL_CUSTOM_ATTRIBUTES)],
            "WriteAttributes": ["name"],  # never the employee id (immutable anyway) nor the recovery e-mail
            "IdTokenValidity": r.ID_TOKEN_MINUTES,
            "AccessTokenValidity": r.ID_TOKEN_MINUTES,
            "RefreshTokenValidity": r.REFRESH_TOKEN_DAYS,
            "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "days"},
        },
    }


def sign_in_resources(stage: str) -> dict[str, dict]:
    resources = {
        USER_POOL_ID: _user_pool(stage),
        USER_POOL_CLIENT_ID: _user_pool_client(stage),
        USER_POOL_DOMAIN_ID: {"Type": "AWS::Cognito::UserPoolDomain", "Properties": {
            "Domain": _ref(SIGNIN_DOMAIN_PARAMETER), "UserPoolId": _ref(USER_POOL_ID)}},
    }
    for role in r.USER_POOL_GROUPS:
        resources[group_id(role)] = {"Type": "AWS::Cognito::UserPoolGroup", "Properties": {
            "GroupName": role, "UserPoolId": _ref(USER_POOL_ID),
            "Description": f"{role}: mirrors the directory's role (the directory decides at request time)"}}
    return resources


def sign_in_environment(stage: str) -> dict[str, Any]:
    """The pool's names for the API (and every function: they share one environment)."""
    pool_issuer = _sub(f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{USER_POOL_ID}}}")
    return {
        "AUTH_ISSUER": pool_issuer,
        "AUTH_JWKS_URL": _sub(f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{USER_POOL_ID}}}"
                              "/.well-known/jwks.json"),
        "AUTH_CLIENT_ID": _ref(USER_POOL_CLIENT_ID),
        "AUTH_HOSTED_UI_DOMAIN": _sub(f"${{{USER_POOL_DOMAIN_ID}}}.auth.${{AWS::Region}}.amazoncognito.com"),
        "COGNITO_ENDPOINT": r.cognito_endpoint(),
    }


def kms_alias(stage: str, logical: str) -> str:
    return f"alias/{r.physical_name(stage, logical)}"


def _kms_key(stage: str, logical: str, spec: str, usage: str) -> dict:
    """Retained: decisions signed with it must stay verifiable, and data encrypted under it readable, for as long
    as the records are kept. A symmetric key rotates yearly (KMS keeps the old material to decrypt). Never
    MultiRegion (infra/residency.py): the key material stays in Hong Kong."""
    return _retain({
        "Type": "AWS::KMS::Key",
        "Properties": {
            "Description": f"{r.physical_name(stage, logical)} ({usage})",
            "KeySpec": spec,
            "KeyUsage": usage,
            "PendingWindowInDays": 30,
            **({"EnableKeyRotation": True} if usage == "ENCRYPT_DECRYPT" else {}),
            # The standard first statement: the account (i.e. IAM policies) controls use of the key. In a key
            # policy `Resource: "*"` means this key only; the function roles name it by ARN.
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                "Sid": "AccountIamPoliciesControlTheKey", "Effect": "Allow",
                "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                "Action": "kms:*", "Resource": "*",
            }]},
        },
    })


def environment(stage: str, fn: r.Function) -> dict[str, Any]:
    """`lambda_environment(stage)` with every placeholder-account ARN replaced by a CloudFormation reference."""
    env: dict[str, Any] = dict(r.lambda_environment(stage))
    replacements: dict[str, Any] = {r.topic_arn(stage, t): _ref(topic_id(t)) for t in r.TOPICS}
    replacements.update({r.state_machine_arn(stage, m): state_machine_arn(stage, m) for m in r.STATE_MACHINES})
    replacements.update({kms_alias(stage, k): _ref(alias_id(k)) for k in r.KMS_KEYS})  # same value, ordered
    replacements.update({r.bucket_name(stage, b): _ref(bucket_id(b)) for b in r.BUCKETS})
    env.update(sign_in_environment(stage))
    for key, value in env.items():
        if not isinstance(value, str):
            continue
        if value in replacements:
            env[key] = replacements[value]
        elif r.ACCOUNT_PLACEHOLDER in value:
            raise ValueError(f"{key} names the placeholder account and has no CloudFormation reference")
    env["POWERTOOLS_METRICS_NAMESPACE"] = METRICS_NAMESPACE
    # approval links point at the API (the REST handler issues them too: returned claims, reassignments);
    # finalize() makes the API name its handler by ARN, so the handler may name the API without a cycle
    env["PUBLIC_BASE_URL"] = _sub(f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/api")
    return env


def _role(stage: str, fn: r.Function, grant: Access) -> dict:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
            }]},
            "Policies": [{"PolicyName": f"{role_id(fn.logical)}Policy",
                          "PolicyDocument": function_policy(stage, fn, grant)}],
        },
    }


def _log_group(stage: str, fn: r.Function) -> dict:
    return {"Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{r.function_name(stage, fn.logical)}",
                           "RetentionInDays": LOG_RETENTION_DAYS.get(stage, 30)}}


def _function_props(stage: str, fn: r.Function) -> dict:
    """The merged part of a function: Chalice supplies Runtime/Handler/CodeUri/memory for its own ones."""
    props: dict[str, Any] = {
        "FunctionName": r.function_name(stage, fn.logical),
        "Role": _getatt(role_id(fn.logical)),
        "Environment": {"Variables": environment(stage, fn)},
        "KmsKeyArn": _getatt(key_id(r.DATA_KEY)),  # the variables at rest under the stage's key (no secrets in them)
        "Tracing": "Active",
    }
    if fn.logical == API_HANDLER:  # .chalice/config.json sizes only the FUNCTIONS; Chalice's default is 128 MB
        props.update({"MemorySize": fn.memory_mb, "Timeout": fn.timeout_s})
    return props


def _task_function(stage: str, fn: r.Function) -> dict:
    props = {
        "Runtime": "python3.11",
        "Architectures": ["x86_64"],
        "Handler": fn.handler,
        "CodeUri": "./deployment.zip",  # Chalice's bundle; `functions/` is added to it (infra/package.py)
        "MemorySize": fn.memory_mb,
        "Timeout": fn.timeout_s,
        "Tags": {"app": r.APP_NAME, "stage": stage},
        **_function_props(stage, fn),
    }
    return {"Type": "AWS::Serverless::Function", "DependsOn": [log_group_id(fn.logical)], "Properties": props}


def _mapping(stage: str, source: r.EventSource) -> dict:
    props: dict[str, Any] = {"FunctionName": _ref(function_id(source.function)), "BatchSize": source.batch_size,
                             "Enabled": True, "FunctionResponseTypes": list(source.response_types)}
    if source.source_kind == "sqs":
        props["EventSourceArn"] = _getatt(queue_id(source.source))
    elif source.source_kind == "dynamodb":
        failure = STREAM_FAILURE_QUEUE.format(source=source.source)
        if failure not in {q.logical for q in r.QUEUES}:
            raise ValueError(f"no on-failure queue {failure!r} for the {source.source} stream")
        props.update({
            "EventSourceArn": _getatt(table_id(source.source), "StreamArn"),
            "StartingPosition": "LATEST",
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": STREAM_MAX_RETRIES,
            "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE_S,
            "DestinationConfig": {"OnFailure": {"Destination": _getatt(queue_id(failure))}},
        })
    else:
        raise ValueError(f"unknown event source kind {source.source_kind!r}")
    return {"Type": "AWS::Lambda::EventSourceMapping", "Properties": props}


def _schedule(logical: str, expression: str) -> dict[str, dict]:
    """An EventBridge rule that runs `logical` on `expression`, and the permission for it to invoke it."""
    rule = camel(f"{logical}_schedule")
    return {
        rule: {"Type": "AWS::Events::Rule", "Properties": {
            "ScheduleExpression": expression, "State": "ENABLED",
            "Targets": [{"Arn": _getatt(function_id(logical)), "Id": camel(logical)}]}},
        rule + "Permission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": _ref(function_id(logical)),
            "Principal": "events.amazonaws.com", "SourceArn": _getatt(rule)}},
    }


def _rest_api() -> dict:
    """Stage-wide throttling, and the security headers on the errors API Gateway answers by itself."""
    headers = {name: f"'{value}'" for name, value in GATEWAY_RESPONSE_HEADERS.items()}  # static values are quoted
    return {"Properties": {
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": API_THROTTLE_RATE_PER_S,
                            "ThrottlingBurstLimit": API_THROTTLE_BURST}],
        "GatewayResponses": {kind: {"ResponseParameters": {"Headers": headers}} for kind in ("DEFAULT_4XX",
                                                                                           "DEFAULT_5XX")},
    }}


def _state_machine(stage: str, logical: str) -> dict:
    definition = json.loads(r.STATE_MACHINES[logical].read_text(encoding="utf-8"))
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": r.physical_name(stage, logical),
            "StateMachineType": "STANDARD",
            "RoleArn": _getatt(state_machine_id(logical) + "Role"),
            "TracingConfiguration": {"Enabled": True},
            "Definition": definition,
            "DefinitionSubstitutions": {
                placeholder: _getatt(function_id(fn)) for placeholder, fn in substitutions(logical).items()
            },
        },
    }


def substitutions(logical: str) -> dict[str, str]:
    """The placeholders this machine's definition uses: its role may invoke only those functions."""
    text = r.STATE_MACHINES[logical].read_text(encoding="utf-8")
    return {p: fn for p, fn in r.ASL_SUBSTITUTIONS.items() if "${" + p + "}" in text}


def _state_machine_role(logical: str) -> dict:
    targets = sorted(set(substitutions(logical).values()))
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}},
            }]},
            "Policies": [{"PolicyName": "InvokeTaskFunctions", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_statement("InvokeTasks", ("lambda:InvokeFunction",),
                                         [_getatt(function_id(fn)) for fn in targets]),
                              _statement("Tracing", (*XRAY_WRITE, "xray:GetSamplingRules",
                                                     "xray:GetSamplingTargets"), "*")],
            }}],
        },
    }


def build(stage: str) -> dict:
    """The merge template for `stage` (a plain dict, JSON-serialisable)."""
    if stage not in r.STAGES or stage == "local":
        raise ValueError(f"unknown deploy stage {stage!r}")
    resources: dict[str, Any] = {}
    for table in r.TABLES:
        resources[table_id(table.logical)] = _table(stage, table)
    for queue in r.QUEUES:
        resources[queue_id(queue.logical)] = _queue(stage, queue)
    for bucket in r.BUCKETS:
        resources[bucket_id(bucket)] = _bucket(stage, bucket)
        resources[bucket_id(bucket) + "Policy"] = _tls_only_policy(bucket)
    for bucket, queue, _ in BUCKET_NOTIFICATIONS:
        resources[camel(queue) + "QueuePolicy"] = _s3_to_queue_policy(stage, bucket, queue)
    for topic in r.TOPICS:
        resources[topic_id(topic)] = {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": r.physical_name(stage, topic), "KmsMasterKeyId": "alias/aws/sns"}}
    for secret in r.SECRETS:
        resources[secret_id(secret)] = _secret(stage, secret)
    for key, (spec, usage) in r.KMS_KEYS.items():
        resources[key_id(key)] = _kms_key(stage, key, spec, usage)
        resources[alias_id(key)] = {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": kms_alias(stage, key), "TargetKeyId": _ref(key_id(key))}}

    grants = access(stage)
    undeclared = [fn.logical for fn in all_functions() if fn.logical not in grants]
    if undeclared:  # least privilege: a new function states what it touches before it can be packaged
        raise ValueError(f"no IAM access declared in infra/template.py access() for {undeclared}")
    for fn in all_functions():
        resources[log_group_id(fn.logical)] = _log_group(stage, fn)
        resources[role_id(fn.logical)] = _role(stage, fn, grants[fn.logical])
        if fn.owner == "functions":
            resources[function_id(fn.logical)] = _task_function(stage, fn)
        else:  # merged into Chalice's definition
            resources[function_id(fn.logical)] = {"DependsOn": [log_group_id(fn.logical)],
                                                  "Properties": _function_props(stage, fn)}
    for source in r.EVENT_SOURCES:
        resources[mapping_id(source)] = _mapping(stage, source)
    for logical, expression in r.SCHEDULES.items():
        resources.update(_schedule(logical, expression))
    resources[REST_API_ID] = _rest_api()  # merged into Chalice's AWS::Serverless::Api
    for machine in r.STATE_MACHINES:
        resources[state_machine_id(machine) + "Role"] = _state_machine_role(machine)
        resources[state_machine_id(machine)] = _state_machine(stage, machine)
    resources.update(alarms.resources(stage, all_functions(), queue_id, state_machine_id))
    resources.update(sign_in_resources(stage))

    return {
        "Parameters": {
            **{parameter: {"Type": "String",
                           "Description": f"ECR image URI (with digest) from {dockerfile} ({', '.join(functions)})"}
               for dockerfile, parameter, functions in IMAGES.values()},
            SIGNIN_DOMAIN_PARAMETER: {
                "Type": "String", "Default": r.hosted_ui_prefix(stage),
                "AllowedPattern": "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
                "Description": "Hosted UI domain prefix (<prefix>.auth.<region>.amazoncognito.com; unique per region)",
            },
        },
        "Resources": resources,
        "Outputs": {
            "ApprovalStateMachineArn": {"Value": _ref(state_machine_id("approval"))},
            "UploadsBucketName": {"Value": _ref(bucket_id("uploads"))},
            "RawMailBucketName": {"Value": _ref(bucket_id("raw-mail")),
                                  "Description": "the SES receiving stack writes here (its RawMailBucket parameter)"},
            "DataKeyArn": {"Value": _getatt(key_id(r.DATA_KEY)),
                           "Description": "SSE-KMS key of the buckets and tables (the SES stack's DataKeyArn)"},
            "UserPoolId": {"Value": _ref(USER_POOL_ID)},
            "UserPoolWebClientId": {"Value": _ref(USER_POOL_CLIENT_ID)},
            "SignInHostedUiDomain": {"Value": sign_in_environment(stage)["AUTH_HOSTED_UI_DOMAIN"]},
            "OpsAlertsTopicArn": {"Value": _ref(alarms.ops_topic_id()),
                                  "Description": "subscribe the on-call e-mail or chat relay here"},
        },
    }


def finalize(template: dict, stage: str, docker_context: str = "../..") -> dict:
    """After Chalice's merge: what a deep merge cannot express, then consistency checks. Returns a new dict.

    `docker_context` is the project root relative to the template's directory (for `sam build`).
    """
    out = copy.deepcopy(template)
    res = out["Resources"]
    for logical in IMAGE_FUNCTIONS:
        fn = next(f for f in r.FUNCTIONS if f.logical == logical)
        props = res[function_id(logical)]["Properties"]
        for key in ("Runtime", "Handler", "CodeUri", "Layers"):
            props.pop(key, None)
        dockerfile, parameter = image_of(logical)
        props.update({"PackageType": "Image", "ImageUri": _ref(parameter),
                      "ImageConfig": {"Command": [fn.handler]}, "Architectures": ["x86_64"]})
        res[function_id(logical)]["Metadata"] = {
            "Dockerfile": dockerfile, "DockerContext": docker_context,
            "DockerTag": f"{r.APP_NAME}-{stage}-{next(k for k, v in IMAGES.items() if v[0] == dockerfile)}",
        }
    # Chalice's swagger integrates `${APIHandler.Arn}` (RestAPI -> APIHandler); the handler's PUBLIC_BASE_URL names
    # the API (APIHandler -> RestAPI). The function's ARN is known from its fixed name, which breaks the cycle.
    api_fid = function_id(API_HANDLER)
    api_text = json.dumps(res[REST_API_ID])
    if f"${{{api_fid}.Arn}}" not in api_text:
        raise RuntimeError(f"{REST_API_ID} no longer integrates ${{{api_fid}.Arn}}: check Chalice's swagger")
    api_arn = (f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:"
               f"{r.function_name(stage, API_HANDLER)}")
    res[REST_API_ID] = json.loads(api_text.replace(f"${{{api_fid}.Arn}}", api_arn))
    for logical in [f.logical for f in all_functions()]:
        fid = function_id(logical)
        if fid not in res or "Type" not in res[fid]:
            raise RuntimeError(f"function {logical} ({fid}) is not in the packaged template")
        if res[fid]["Properties"].get("Role") != _getatt(role_id(logical)):
            raise RuntimeError(f"function {fid} does not use its own role {role_id(logical)}")
    cycle = dependency_cycle(out)
    if cycle:  # cfn-lint does not see cycles that pass through SAM resources' Fn::Sub strings
        raise RuntimeError(f"circular dependency: {' -> '.join(cycle)}")
    text = json.dumps(out)
    if "ReplacedByMergeTemplate" in text:  # infra/package.py's stand-in for Chalice's iam_policy_file
        raise RuntimeError("a role still carries the placeholder policy from .chalice/policy-<stage>.json")
    if r.ACCOUNT_PLACEHOLDER in text:
        raise RuntimeError(f"the placeholder account {r.ACCOUNT_PLACEHOLDER} is left in the template")
    return out


def wildcard_statements(template: dict) -> list[tuple[str, dict]]:
    """IAM statements with `Resource: "*"` whose actions are not all in WILDCARD_ONLY_ACTIONS."""
    found = []
    for logical, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        documents = [p.get("PolicyDocument", {}) for p in props.get("Policies", []) if isinstance(p, dict)]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document.get("Statement", []):
                resources = statement.get("Resource", [])
                resources = resources if isinstance(resources, list) else [resources]
                actions = statement.get("Action", [])
                actions = actions if isinstance(actions, list) else [actions]
                allowed_anywhere = set(actions) <= WILDCARD_ONLY_ACTIONS
                if statement.get("Effect") == "Allow" and "*" in resources and not allowed_anywhere:
                    found.append((logical, statement))
    return found


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def _references(value: Any, names: set[str], local: frozenset[str] = frozenset()) -> set[str]:
    """Logical ids that `value` refers to (Ref, Fn::GetAtt, Fn::Sub placeholders)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and value["Ref"] in names:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target[0] if isinstance(target, list) else str(target).split(".")[0]
            if target in names:
                found.add(target)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            found |= {m for m in _SUB_NAME.findall(text) if m in names and m not in variables}
            found |= _references(variables, names)
        for key, item in value.items():
            if key not in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                found |= _references(item, names)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item, names)
    return found


def dependency_cycle(template: dict) -> list[str] | None:
    """The first cycle among the template's resources (through references and DependsOn), or None."""
    resources = template.get("Resources", {})
    names = set(resources)
    edges: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        edges[logical] = (_references(resource.get("Properties", {}), names) | set(depends)) - {logical}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(names):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
