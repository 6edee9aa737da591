"""The one definition of every AWS resource the pipeline uses.

Both the local stack (moto) and the deploy template read this module, so a renamed key or index breaks a
test instead of production. Lambda code never imports it: it only sees the environment variables that
`lambda_environment()` derives from it (and `.chalice/config.json` is generated from the same function).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

APP_NAME = "hk-expense"
REGION = "ap-east-1"
STAGES = ("local", "dev", "staging", "prod")
ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = ROOT / "infra" / "approval.asl.json"
REMINDERS_ASL_PATH = ROOT / "infra" / "reminders.asl.json"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None
    include: tuple[str, ...] = ()  # project only these attributes (and the keys); none: every attribute
    keys_only: bool = False  # project the table's and the index's keys only


@dataclass(frozen=True)
class Table:
    logical: str
    hash_key: str
    range_key: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    indexes: tuple[Index, ...] = ()
    stream: str | None = None
    ttl_attribute: str | None = None


def key_schema(hash_key: str, range_key: str | None) -> list[dict]:
    return [{"AttributeName": hash_key, "KeyType": "HASH"}] + (
        [{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])


def table_keys(table: Table) -> dict:
    """KeySchema, AttributeDefinitions and GSIs: the same in the CreateTable call and in the template."""
    keys: dict = {
        "KeySchema": key_schema(table.hash_key, table.range_key),
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in table.attributes.items()],
    }
    if table.indexes:
        keys["GlobalSecondaryIndexes"] = [
            {"IndexName": ix.name, "KeySchema": key_schema(ix.hash_key, ix.range_key),
             "Projection": ({"ProjectionType": "KEYS_ONLY"} if ix.keys_only
                            else {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(ix.include)} if ix.include
                            else {"ProjectionType": "ALL"})}
            for ix in table.indexes
        ]
    return keys


@dataclass(frozen=True)
class Queue:
    logical: str
    dead_letter: str | None = None
    max_receive_count: int = 3
    visibility_timeout: int = 960


@dataclass(frozen=True)
class Function:
    """A Lambda function: `handler` is the module.attribute that Lambda imports."""

    logical: str
    handler: str
    memory_mb: int = 512
    timeout_s: int = 60
    owner: str = "chalice"  # chalice: declared in app.py; functions: declared in the merge template


@dataclass(frozen=True)
class EventSource:
    function: str
    source_kind: str  # "sqs" | "dynamodb"
    source: str  # logical queue or table name
    batch_size: int = 1
    # the handlers return Powertools' partial batch response: only the failed records are retried
    response_types: tuple[str, ...] = ("ReportBatchItemFailures",)


TABLES = (
    Table(
        "claims",
        hash_key="claim_id",
        attributes={
            "claim_id": "S",
            "department_id": "S",
            "created_at": "S",
            "employee_id": "S",
            "flagged_department": "S",
            "review_department": "S",
        },
        indexes=(
            Index("by-department", "department_id", "created_at"),
            Index("by-employee", "employee_id", "created_at"),
            # sparse: only open claims with risk reasons / with an expense extraction was unsure of carry the key,
            # so finance's anomaly and needs-review queues are a Query of a few items, never a Scan
            Index("by-flagged", "flagged_department", "created_at"),
            Index("by-review", "review_department", "created_at"),
        ),
        stream="NEW_AND_OLD_IMAGES",
    ),
    # Every expense: the whole expense while it is unattached, an index row (which claim holds it, its file hash
    # and content key for duplicate checks) once a claim holds it.
    Table(
        "expenses",
        hash_key="expense_id",
        attributes={
            "expense_id": "S",
            "employee_id": "S",
            "created_at": "S",
            "file_sha256": "S",
            "dedupe_key": "S",
            **{f"image_band_{i}": "S" for i in range(8)},
        },
        indexes=(
            Index("by-employee", "employee_id", "created_at"),
            Index("by-file-hash", "file_sha256"),
            Index("by-dedupe-key", "dedupe_key"),
            # the same paper re-photographed: the photo's 64-bit perceptual hash in eight 8-bit bands, one sparse
            # index each holding only the hash and where the expense is (near hashes share a band; the Hamming
            # distance is checked on what comes back). bench/rephoto.py: 96% of re-photographs share a band of 8
            # bits, 45% one of 16 bits.
            *(Index(f"by-image-band-{i}", f"image_band_{i}", include=("image_hash", "employee_id", "claim_id"))
              for i in range(8)),
        ),
    ),
    Table("directory", hash_key="pk", range_key="sk", attributes={"pk": "S", "sk": "S"}),
    # finance's vendor entries (chalicelib/domain/vendors.py), merged over the shipped seed; a few hundred at most
    Table("vendors", hash_key="vendor_id", attributes={"vendor_id": "S"}),
    # the audit chains; by-hour (keys only) names the chains that moved in an hour, in eight shards so no one
    # index partition takes every write: the seal sweep and the auditor export read it (never a Scan)
    Table("audit", hash_key="entity", range_key="seq", attributes={"entity": "S", "seq": "S", "hour_shard": "S"},
          indexes=(Index("by-hour", "hour_shard", keys_only=True),)),
    Table("approvals", hash_key="link_id", attributes={"link_id": "S", "approver_id": "S", "state": "S"},
          indexes=(Index("by-approver", "approver_id", "state"),), ttl_attribute="expires_epoch"),
    Table("ledger", hash_key="journal_id", attributes={"journal_id": "S"}),
    Table(
        "advances",  # cash advances (備用金), settled against a later claim
        hash_key="advance_id",
        attributes={"advance_id": "S", "employee_id": "S", "status": "S", "created_at": "S"},
        indexes=(Index("by-employee", "employee_id", "created_at"), Index("by-status", "status", "created_at")),
    ),
    # The finance dashboard's figures, kept current from the claims stream (functions/finance_aggregates.py):
    # BUCKET#<department> / <yyyy-mm> counters, CLAIM#<id> / APPLIED (what each claim contributed: makes a
    # redelivered record harmless), ADOPTER#<department> / <employee> (first month filed electronically)
    Table("finance", hash_key="pk", range_key="sk", attributes={"pk": "S", "sk": "S"}),
    Table("idempotency", hash_key="id", attributes={"id": "S"}, ttl_attribute="expiration"),
    # Dated FX rates finance loads (POST /fx-rates) or a feed delivers: currency / "<date>#<loaded_at>", every load
    Table("fx_rates", hash_key="currency", range_key="sk", attributes={"currency": "S", "sk": "S"}),
    # Approved claims on their way to the books: period (YYYY-MM) / claim id, queued | posted | failed with the
    # ledger, the document and the reason (reconciliation, the general-journal CSV)
    Table("postings", hash_key="period", range_key="claim_id", attributes={"period": "S", "claim_id": "S"}),
)

# models: the per-company anomaly models (anomaly/<company>/<version>/model.joblib + metadata.json, and a
# `current` pointer), written by retrain_anomaly and read by score_claim (chalicelib/adapters/model_store.py)
BUCKETS = ("uploads", "raw-mail", "audit-archive", "models")
TOPICS = ("approver-notifications", "employee-notifications")
QUEUES = (
    Queue("upload-events", dead_letter="upload-events-dlq"),
    Queue("upload-events-dlq"),
    Queue("raw-mail-events", dead_letter="raw-mail-events-dlq"),
    Queue("raw-mail-events-dlq"),
    Queue("claims-stream-dlq"),
    # Approved claims to post (functions/posting_worker.py): a message carries the claim id and the approval
    # execution's task token; a retryable ledger failure is retried by redelivery, then dead-lettered
    Queue("posting", dead_letter="posting-dlq", max_receive_count=5, visibility_timeout=360),
    Queue("posting-dlq"),
)
FUNCTIONS = (
    Function("extract_receipt", "app.extract_receipt", memory_mb=1536, timeout_s=120),
    # a container image (infra/template.py IMAGE_FUNCTIONS): the anomaly model needs scikit-learn
    Function("score_claim", "app.score_claim", memory_mb=1024, timeout_s=60),
    Function("intake_email", "app.intake_email", memory_mb=512, timeout_s=60),
    Function("route_claim", "functions.approval_tasks.route_claim", owner="functions"),
    Function("request_approval", "functions.approval_tasks.request_approval", owner="functions"),
    Function("escalate", "functions.approval_tasks.escalate", owner="functions"),
    Function("record_rejection", "functions.approval_tasks.record_rejection", owner="functions"),
    Function("post_to_ledger", "functions.approval_tasks.post_to_ledger", owner="functions"),
    Function("mark_failed", "functions.approval_tasks.mark_failed", owner="functions"),
    Function("plan_reminders", "functions.reminder_tasks.plan_reminders", owner="functions"),
    Function("send_reminder", "functions.reminder_tasks.send_reminder", owner="functions"),
    Function("remind_overdue_advances", "functions.advance_reminders.handler", owner="functions"),
    Function("aggregate_claims", "functions.finance_aggregates.handler", owner="functions"),
    Function("post_claims", "functions.posting_worker.handler", timeout_s=60, owner="functions"),
    # the HKMA's daily exchange rates into fx_rates (the public HKMA API over HTTPS; no credentials)
    Function("load_fx_rates", "functions.fx_rate_feed.handler", timeout_s=60, owner="functions"),
    # trains the company's anomaly model from its claims, validates it and promotes it (an image: scikit-learn)
    Function("retrain_anomaly", "functions.retrain_anomaly.handler", memory_mb=2048, timeout_s=900,
             owner="functions"),
    # audit seals (functions/seal_audit.py): at a claim's end, from the claims stream; hourly, every chain behind
    Function("seal_ended_claims", "functions.seal_audit.on_claim_change", timeout_s=60, owner="functions"),
    Function("seal_audit_sweep", "functions.seal_audit.sweep", timeout_s=900, owner="functions"),
)
# Functions run on a schedule (EventBridge rules in the template): logical function -> schedule expression (UTC)
SCHEDULES = {"remind_overdue_advances": "cron(0 1 * * ? *)",  # 09:00 Hong Kong, daily
             "retrain_anomaly": "cron(0 19 * * ? *)",  # 03:00 Hong Kong, daily (the quietest hour)
             "seal_audit_sweep": "cron(5 * * * ? *)",  # hourly, five minutes past
             "load_fx_rates": "cron(30 1 * * ? *)"}  # 09:30 Hong Kong: the previous day's end-of-day rates
EVENT_SOURCES = (
    EventSource("extract_receipt", "sqs", "upload-events"),
    EventSource("score_claim", "dynamodb", "claims", batch_size=10),
    EventSource("intake_email", "sqs", "raw-mail-events"),
    EventSource("aggregate_claims", "dynamodb", "claims", batch_size=100),
    EventSource("post_claims", "sqs", "posting", batch_size=5),
    EventSource("seal_ended_claims", "dynamodb", "claims", batch_size=25),
)
# S3 ObjectCreated notifications: (bucket, queue, key prefix); read by the local stack and the template
BUCKET_NOTIFICATIONS = (("uploads", "upload-events", "receipts/"), ("raw-mail", "raw-mail-events", "inbound/"))
# Buckets that browsers write to with presigned POST forms: (bucket, methods); the origin is the app's own site
BROWSER_UPLOAD_BUCKETS = (("uploads", ("POST",)),)
# Versioned buckets: a receipt written again under its key (an upload form reused within its 15 minutes) adds a
# version; the one a claim was read from stays (claims keep its version id). The audit archive keeps history.
VERSIONED_BUCKETS = ("uploads", "audit-archive", "models")  # models: a replaced artefact stays inspectable
# Amazon SES receiving is not offered in ap-east-1: the receipt rule lives here and writes into the HK bucket.
# The one declared exception to residency (infra/residency.py); its transfer is in chalicelib/domain/transfers.py.
SES_RECEIVING_REGION = "ap-southeast-1"
# Regions besides REGION where a stage's app may start and its resources may be (chalicelib/config.py and
# infra/residency.py read it). None: every stage is Hong Kong only. Adding one is a decision to record here, e.g.
# {"dev": ("ap-southeast-1",)} for a developer sandbox that never holds real claims.
STAGE_ALLOWED_REGIONS: dict[str, tuple[str, ...]] = {}
STATE_MACHINES = {"approval": ASL_PATH, "reminders": REMINDERS_ASL_PATH}
# ASL DefinitionSubstitutions (for every state machine): placeholder -> logical function name
ASL_SUBSTITUTIONS = {
    "RouteClaimArn": "route_claim",
    "RequestApprovalArn": "request_approval",
    "EscalateArn": "escalate",
    "RecordRejectionArn": "record_rejection",
    "PostToLedgerArn": "post_to_ledger",
    "MarkFailedArn": "mark_failed",
    "PlanRemindersArn": "plan_reminders",
    "SendReminderArn": "send_reminder",
}
# The ID tokens are verified against the user pool's published JWKS (fetched and cached), so no key is held as a
# secret; the dev-signing-key signs `POST /dev/token`'s tokens on the local and dev stages only.
SECRETS = ("approval-link-key", "dev-signing-key", "ledger-credentials")
DEV_TOKEN_STAGES = ("local", "dev")
# Sign-in: one Cognito user pool per stage. Username = employee id (case-insensitive), the immutable custom attribute
# `employee_id` names the directory entry, groups mirror the roles (the directory stays the authority at request
# time). One public web client: no secret, authorization code + PKCE through the Hosted UI, plus the flows the
# local page (USER_PASSWORD_AUTH, straight from the browser to Cognito) and SRP clients use.
USER_POOL = "users"
# chalicelib.domain.identity.Role, except `delegate`: a standing-in approver's column, never granted (domain/rbac.py)
USER_POOL_GROUPS = ("employee", "approver", "finance", "finance_admin", "payroll", "auditor", "admin")
USER_POOL_CUSTOM_ATTRIBUTES = ("employee_id",)
AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
OAUTH_SCOPES = ("openid", "email", "profile")
SIGNIN_PATH = "/signin"  # the Hosted UI's callback and logout page (the same page handles both)
ID_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 1


def cognito_endpoint(region: str = REGION) -> str:
    """Cognito's API endpoint; InitiateAuth is unsigned, so the sign-in page calls it from the browser."""
    return f"https://cognito-idp.{region}.amazonaws.com/"


def issuer(pool_id: str, region: str = REGION) -> str:
    """The `iss` of the pool's tokens; its JWKS is `<issuer>/.well-known/jwks.json`."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def user_pool_placeholder(stage: str) -> str:
    """Stands for the pool id until it exists: the template replaces it with `Ref`, the local stack with moto's id."""
    return f"{REGION}_{APP_NAME.replace('-', '')}{stage}"


def client_id_placeholder(stage: str) -> str:
    return f"{physical_name(stage, 'web-client')}"


def hosted_ui_prefix(stage: str) -> str:
    """The Hosted UI's default domain prefix (unique per region across AWS: the template takes it as a parameter)."""
    return physical_name(stage, "signin")


def hosted_ui_domain(prefix: str, region: str = REGION) -> str:
    return f"{prefix}.auth.{region}.amazoncognito.com"


# KMS keys: logical -> (KeySpec, KeyUsage); referenced by alias alias/<app>-<stage>-<logical>
# data: the stage's customer-managed key for S3 SSE-KMS and DynamoDB encryption at rest (infra/template.py)
KMS_KEYS = {"decision-signing": ("RSA_2048", "SIGN_VERIFY"), "data": ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
            # envelope encryption of employees' bank accounts: a data key per record (adapters/privacy_store.py)
            "bank-details": ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
            # audit seals (chalicelib/adapters/audit_store.py): ECDSA P-256, verifiable offline with the PEM
            "audit-sealing": ("ECC_NIST_P256", "SIGN_VERIFY")}
DATA_KEY = "data"
# The audit archive: S3 Object Lock in compliance mode, so no one (root included) can delete or overwrite a seal
# before it expires. Seven years: the Inland Revenue Ordinance (s.51C) and the SFC's record-keeping rules both
# ask for seven. dev keeps a day: a compliance-mode object cannot be removed early, even to tear a stack down.
AUDIT_ARCHIVE = "audit-archive"
AUDIT_ARCHIVE_RETENTION = {"local": ("COMPLIANCE", {"Years": 7}), "dev": ("COMPLIANCE", {"Days": 1}),
                           "staging": ("COMPLIANCE", {"Years": 7}), "prod": ("COMPLIANCE", {"Years": 7})}


def physical_name(stage: str, logical: str) -> str:
    return f"{APP_NAME}-{stage}-{logical}"


def bucket_name(stage: str, logical: str, account: str | None = None) -> str:
    """S3 names are global: the account id makes a bucket this deployment's (no clash, no squatting).
    CloudFormation fills in `${AWS::AccountId}`; locally it is moto's account, the placeholder."""
    return f"{physical_name(stage, logical)}-{account or ACCOUNT_PLACEHOLDER}"


def env_key(logical: str, kind: str) -> str:
    return f"{logical.upper().replace('-', '_')}_{kind}"


def lambda_environment(stage: str) -> dict[str, str]:
    """The environment every Lambda of `stage` receives: resource names, never hand-written twice."""
    env = {"STAGE": stage, "POWERTOOLS_SERVICE_NAME": APP_NAME, "APP_REGION": REGION}
    for table in TABLES:
        env[env_key(table.logical, "TABLE")] = physical_name(stage, table.logical)
    for bucket in BUCKETS:
        env[env_key(bucket, "BUCKET")] = bucket_name(stage, bucket)
    for topic in TOPICS:
        env[env_key(topic, "TOPIC_ARN")] = topic_arn(stage, topic)
    for name in STATE_MACHINES:
        env[env_key(name, "STATE_MACHINE_ARN")] = state_machine_arn(stage, name)
    for secret in SECRETS:
        env[env_key(secret, "SECRET")] = physical_name(stage, secret)
    for key in KMS_KEYS:
        env[env_key(key, "KEY_ID")] = f"alias/{physical_name(stage, key)}"
    # the approval flow's posting task sends approved claims here (the posting worker consumes it)
    env["POSTING_QUEUE"] = physical_name(stage, "posting")
    env["POSTING_MAX_RECEIVES"] = str(next(q.max_receive_count for q in QUEUES if q.logical == "posting"))
    env["ALLOW_DEV_TOKENS"] = "true" if stage in DEV_TOKEN_STAGES else "false"
    # SMS/voice: not offered in ap-east-1; the local stack writes to an outbox queue instead (plumbing)
    env["TELEPHONY"] = "outbox" if stage == "local" else "pinpoint"
    # extraction stays in region by default; Textract (not in ap-east-1) is an explicit per-stage opt-in
    env["OCR_BACKEND"] = "local"
    env["TEXTRACT_REGION"] = "ap-southeast-1"
    env["TELEPHONY_REGION"] = "ap-southeast-1"
    env["SES_RECEIVING_REGION"] = SES_RECEIVING_REGION  # logged as a transfer for each e-mail taken in
    env["RESIDENCY_ALLOWED_REGIONS"] = ",".join(STAGE_ALLOWED_REGIONS.get(stage, ()))
    env["TELEPHONY_ORIGINATION"] = f"{APP_NAME}-{stage}-sender"
    env["TELEPHONY_OUTBOX_QUEUE"] = physical_name(stage, "telephony-outbox")
    pool = user_pool_placeholder(stage)
    env["AUTH_ISSUER"] = issuer(pool)
    env["AUTH_JWKS_URL"] = issuer(pool) + "/.well-known/jwks.json"  # the local stack points it at moto's server
    env["AUTH_CLIENT_ID"] = client_id_placeholder(stage)
    # no Hosted UI locally (moto has none): the page signs in with InitiateAuth against moto's server instead
    env["AUTH_HOSTED_UI_DOMAIN"] = "" if stage == "local" else hosted_ui_domain(hosted_ui_prefix(stage))
    env["COGNITO_ENDPOINT"] = cognito_endpoint()
    if stage in DEV_TOKEN_STAGES:  # a separate issuer: staging and prod do not know it, so its tokens mean nothing
        env["DEV_TOKEN_ISSUER"] = f"urn:{APP_NAME}:{stage}:dev-tokens"
    return env


ACCOUNT_PLACEHOLDER = "123456789012"
# The sign-in variables of the local stage that harness/local_stack.py fills in from the moto pool it creates
LOCAL_STACK_SETS = ("AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_CLIENT_ID", "AUTH_HOSTED_UI_DOMAIN", "COGNITO_ENDPOINT")


def topic_arn(stage: str, logical: str, account: str = ACCOUNT_PLACEHOLDER) -> str:
    return f"arn:aws:sns:{REGION}:{account}:{physical_name(stage, logical)}"


def state_machine_arn(stage: str, logical: str, account: str = ACCOUNT_PLACEHOLDER) -> str:
    return f"arn:aws:states:{REGION}:{account}:stateMachine:{physical_name(stage, logical)}"


def function_name(stage: str, logical: str) -> str:
    """Chalice names its functions `{app}-{stage}-{name}`; the merge template uses the same rule."""
    return physical_name(stage, logical)


def load_asl(name: str = "approval") -> dict:
    return json.loads(STATE_MACHINES[name].read_text(encoding="utf-8"))


def chalice_config() -> dict:
    """`.chalice/config.json`, generated so stage variables cannot drift from the resources above."""
    stages = {}
    for stage in STAGES:  # "local" too: chalice's test client and `chalice local` read its variables
        env = lambda_environment(stage)
        if stage == "local":  # the local stack sets these once its pool exists (moto's ids are random); the test
            for key in LOCAL_STACK_SETS:  # client would put the placeholders in the process during each request
                env.pop(key)
        stages[stage] = {
            "api_gateway_stage": "api",
            "environment_variables": env,
            "lambda_functions": {
                fn.logical: {"lambda_memory_size": fn.memory_mb, "lambda_timeout": fn.timeout_s}
                for fn in FUNCTIONS
                if fn.owner == "chalice"
            },
            "autogen_policy": False,
            "iam_policy_file": f"policy-{stage}.json",
        }
    return {"version": "2.0", "app_name": APP_NAME, "stages": stages}


if __name__ == "__main__":  # python -m infra.resources > .chalice/config.json
    print(json.dumps(chalice_config(), indent=2, ensure_ascii=False))


def substitute(definition: str, values: dict[str, str]) -> str:
    """What CloudFormation's DefinitionSubstitutions does to `${Name}`, for the local stack."""
    for placeholder, value in values.items():
        definition = definition.replace("${" + placeholder + "}", value)
    if "${" in definition:
        raise ValueError("unresolved substitution left in the state machine definition")
    return definition
