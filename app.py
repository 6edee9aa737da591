"""Chalice app: HTTP routes and Lambda registrations only; the work lives in chalicelib.services."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from urllib.parse import unquote

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from chalice import Chalice, Response
from pydantic import BaseModel, Field

from chalicelib import bootstrap
from chalicelib.adapters import model_store
from chalicelib.adapters.events import RAW_MAIL_PREFIX, ClaimStreamRecord, S3EventMessage, S3NotificationRecord
from chalicelib.adapters.intake_uploads import UploadsBucketStarter
from chalicelib.adapters.repositories import claim_from_body
from chalicelib.adapters.tokens import KeysUnavailable, Unauthorized
from chalicelib.domain import transfers
from chalicelib.domain.access import require_dashboard
from chalicelib.domain.approval_link import LinkRefused
from chalicelib.domain.claim import Claim, ClaimStatus, InvalidClaim
from chalicelib.domain.identity import Principal
from chalicelib.domain.reporting import summarise
from chalicelib.intake.metadata import web_upload_metadata
from chalicelib.observability import lambda_logger
from chalicelib.services import (
    anomaly_model,
    claims,
    email_intake,
    extraction,
    labelling,
    reminders,
    scoring,
    uploads,
)
from chalicelib.services.approvals import decisions, delegation, requests, review, views
from chalicelib.web import (
    advance_routes,
    approval_pages,
    audit_routes,
    audit_view,
    auth,
    claim_routes,
    finance_routes,
    http,
    i18n,
    inbox_routes,
    ledger_routes,
    model_routes,
    page_routes,
    pages,
    privacy_routes,
    vendor_routes,
)
from chalicelib.web.security import NO_STORE

app = Chalice(app_name="hk-expense", configure_logs=False)  # its log is the Powertools Logger below (same name)
MAX_EMAIL_BYTES = 40 * 1024 * 1024  # SES receiving's largest message
logger = lambda_logger("hk-expense")  # chalicelib's loggers share its handler
metrics = Metrics(namespace="HkExpense", service="hk-expense")
# X-Ray in AWS (active tracing on every function); off outside Lambda. Responses are never captured: they hold
# claim data. boto3 calls become subsegments, so a slow DynamoDB or KMS call shows in the trace.
tracer = Tracer(service="hk-expense")
app.register_blueprint(advance_routes.blueprint)  # cash advances (備用金): POST/GET /advances...
app.register_blueprint(page_routes.blueprint)  # /signin, GET /me, receipt images
app.register_blueprint(finance_routes.blueprint)  # /finance page, its overview, claim list, queues and export
app.api.binary_types.append(finance_routes.XLSX_TYPE)  # the XLSX export's bytes pass API Gateway as binary
app.register_blueprint(audit_routes.blueprint)  # POST /audit/exports: the auditor's bundle
app.register_blueprint(claim_routes.blueprint)  # the claim page /claim/{id} and GET /claims/{id}/timeline
app.register_blueprint(inbox_routes.blueprint)  # /inbox: what waits for the signed-in approver
app.register_blueprint(ledger_routes.blueprint)  # POST /fx-rates, reconciliation, the journal CSV, repost
app.register_blueprint(vendor_routes.blueprint)  # GET/POST/PUT /vendors: finance extends the vendor directory
app.register_blueprint(privacy_routes.blueprint)  # PDPO: bank details, data access and correction requests
app.api.binary_types.append(privacy_routes.ZIP_TYPE)  # the data export's ZIP
app.register_blueprint(model_routes.blueprint)  # GET /finance/models: the anomaly model each company is scored with

def _source_ip() -> str:
    return http.source_ip(app.current_request)


def _principal() -> Principal:
    return http.principal(app.current_request)


def _caller() -> Principal | None:
    """Approval links may be used signed in or not; a caller who sends credentials is held to them."""
    return _principal() if app.current_request.headers.get("authorization") else None


def _body() -> dict:
    try:
        body = app.current_request.json_body
    except Exception as exc:
        raise InvalidClaim("the request body is not valid JSON") from exc
    return body or {}


_json = http.json_response
_error_response = http.error_response
api = http.api


@app.middleware("http")
def security_headers(event, get_response):
    """Registered first, so it is outermost: every response gets the headers, an audit failure's 500 too."""
    try:
        response = get_response(event)
    except Exception as exc:
        response = _error_response(exc)
    response.headers.update(bootstrap.container().security_headers)
    response.headers.setdefault("Cache-Control", NO_STORE)
    if not any(name.lower() == "content-type" for name in response.headers):  # Chalice's own errors: a JSON dict
        response.headers["Content-Type"] = "application/json"  # stated, as nosniff forbids guessing
    return response


@app.middleware("http")
def audit_calls(event, get_response):
    """Every API call leaves an audit record: who, role, source IP, UTC time, method, path, outcome."""
    started = datetime.now(UTC)
    response = get_response(event)
    _audit_call(event, response.status_code, started)
    return response


@app.middleware("http")
def role_table(event, get_response):
    """Innermost: the route's row of the RBAC table (domain/rbac.py) is checked before its body runs, in one
    place (web/auth.py); a refusal (403 in words) is still audited and still gets the security headers. A method
    the path has no view for runs nothing: Chalice answers it 405."""
    if event.method not in app.routes.get(event.path, {}):
        return get_response(event)
    try:
        auth.authorize(event.method, event.path, event.uri_params, event.query_params, i18n.locale_of(event),
                       lambda: http.principal(event), bootstrap.container().directory)
    except Exception as exc:  # noqa: BLE001 (mapped to 401/403/503 by the shared error table)
        return _error_response(exc)
    return get_response(event)


def _audit_call(event, status: int, started: datetime) -> None:
    c = bootstrap.container()
    try:
        actor = _principal()
    except (Unauthorized, KeysUnavailable):
        actor = Principal(user_id="anonymous", employee_id="", department_id="", roles=frozenset(),
                          source_ip=_source_ip(), user_agent=http.user_agent(app.current_request))
    path = _concrete_path(event)
    c.audit.event("API", started, actor, "api.call",
                  {"method": event.method, "path": path, "route": event.path, "status": status,
                   "at": started.isoformat()}, resource=f"{event.method} {path}")


def _concrete_path(event) -> str:
    """The path with its real ids (which claim was read), from the route pattern Chalice gives as `path`;
    an approval token stays `{token}`: the link is a credential and is never stored."""
    path = event.path
    for name, value in (event.uri_params or {}).items():
        if name != "token":
            path = path.replace("{" + name + "}", str(value))
    return path


# ---- pages -----------------------------------------------------------------------------------------------


@app.route("/", methods=["GET"])
@api
def index():
    """The employee's home: capture receipts, check what was read, their unattached receipts and claims."""
    return pages.page("home.html", app.current_request, root="", title_key="home.title",
                      max_upload_bytes=bootstrap.container().settings.max_upload_bytes)


@app.route("/dev/token", methods=["POST"])
@api
def dev_token():
    """Local/dev only: a Cognito-shaped ID token for a directory employee (refused in staging/prod)."""
    c = bootstrap.container()
    if c.dev_issuer is None:
        return _json({"error": "dev tokens are disabled on this stage"}, 404)
    employee_id = str(_body().get("employee_id", ""))
    employee = c.directory.employee(employee_id)
    if employee is None:
        raise claims.NotFound(f"no employee {employee_id} in the directory 員工編號不存在")
    token = c.dev_issuer.issue(employee.employee_id)  # who only: roles and department come from the directory
    return _json({"token": token, "employee_id": employee.employee_id, "roles": employee.roles})


@app.route("/static/{name}", methods=["GET"])
@api
def static_file(name):
    """The pages' script and style files (inline ones would need a weaker CSP)."""
    return _asset(pages.static_asset(name), max_age=300)


@app.route("/static/vendor/{name}", methods=["GET"])
@api
def vendor_file(name):
    """The pages' browser libraries (package-lock.json, copied by `make deps`): served by the app, never a CDN."""
    return _asset(pages.vendor_asset(name), max_age=3600)


def _asset(asset: tuple[str, str] | None, max_age: int) -> Response:
    if asset is None:
        return _json({"error": "not found"}, 404)
    content, content_type = asset
    return Response(body=content, status_code=200,
                    headers={"Content-Type": content_type, "Cache-Control": f"public, max-age={max_age}"})


# ---- claims ----------------------------------------------------------------------------------------------


@app.route("/uploads", methods=["POST"])
@api
def create_upload():
    """Where to send a receipt: it arrives as an expense (`expense_id`), in the draft claim named if any."""
    principal = _principal()
    c = bootstrap.container()
    request = uploads.UploadRequest.model_validate(_body())
    if request.claim_id:  # only into the caller's own draft or returned claim
        claims.own_editable(principal, c.claims, request.claim_id)
    expense_id, key = uploads.plan_upload(principal, request, c.settings.max_upload_bytes)
    # the POST policy binds the size to what was declared (plan_upload refused anything above the limit)
    target = c.uploads.presigned_post(key, request.content_type, request.size_bytes,
                                      c.settings.upload_url_ttl_seconds,
                                      metadata=web_upload_metadata(request.claim_id))
    return _json({"expense_id": expense_id, "claim_id": request.claim_id, "key": key, "upload": target}, 201)


def _claim_json(claim) -> dict:
    return {**claim.model_dump(mode="json"), "summary": views.summary(claim)}


@app.route("/claims", methods=["GET"])
@api
def list_claims():
    principal = _principal()
    params = app.current_request.query_params or {}
    found = claims.list_claims(principal, bootstrap.container().claims, params.get("department"))
    return _json({"claims": [_claim_json(claim) for claim in found]})


@app.route("/claims", methods=["POST"])
@api
def create_claim():
    """A draft claim (報銷單): title, purpose, period, cost centre, and any unattached expenses to hold."""
    c = bootstrap.container()
    request = claims.NewClaim.model_validate(_body())
    claim = claims.create_claim(_principal(), c.claims, c.expenses, c.directory, request, c.advances)
    return _json(_claim_json(claim), 201)


@app.route("/claims/{claim_id}", methods=["GET"])
@api
def get_claim(claim_id):
    claim = claims.get_claim(_principal(), bootstrap.container().claims, claim_id)
    return _json(_claim_json(claim))


@app.route("/claims/{claim_id}", methods=["PATCH"])
@api
def edit_claim(claim_id):
    edits = claims.ClaimEdits.model_validate(_body())
    c = bootstrap.container()
    claim = claims.edit_claim(_principal(), c.claims, claim_id, edits, c.advances)
    return _json(_claim_json(claim))


class AddExpenses(BaseModel):
    expense_ids: list[str] = Field(min_length=1, max_length=50)


@app.route("/claims/{claim_id}/expenses", methods=["POST"])
@api
def add_to_claim(claim_id):
    """Attach unattached expenses ({"expense_ids": [...]}) or add a line without a receipt ({"line": {...}}:
    mileage, per diem, lost receipt)."""
    c = bootstrap.container()
    body = _body()
    if "line" in body:
        line = claims.LineRequest.model_validate(body).line
        claim = claims.add_line(_principal(), c.claims, c.directory, claim_id, line)
    else:
        claim = claims.add_expenses(_principal(), c.claims, c.expenses, claim_id,
                                    AddExpenses.model_validate(body).expense_ids)
    return _json(_claim_json(claim), 201)


@app.route("/claims/{claim_id}/expenses/{expense_id}", methods=["DELETE"])
@api
def remove_from_claim(claim_id, expense_id):
    """The expense leaves the claim: a receipt becomes unattached again, a line without one is dropped."""
    claim = claims.remove_expense(_principal(), bootstrap.container().claims, claim_id, expense_id)
    return _json(_claim_json(claim))


@app.route("/claims/{claim_id}/submit", methods=["POST"])
@api
def submit_claim(claim_id):
    """Submit for approval; a claim returned for correction goes back to the step that returned it."""
    principal = _principal()
    c = bootstrap.container()
    edits = claims.ClaimEdits.model_validate(_body())
    current = claims.get_claim(principal, c.claims, claim_id)
    if current.status == ClaimStatus.RETURNED and current.employee_id == principal.employee_id:
        claim = requests.resubmit_after_return(c.approvals, principal, current, edits.apply_to(current))
    else:
        claim = claims.submit_claim(principal, c.claims, c.directory, claim_id, edits, advances=c.advances)
    _keep_corrections(current.expenses, claim)
    return _json(_claim_json(claim))


def _keep_corrections(read: list, after: Claim) -> None:
    """What the employee corrected on receipts extraction read becomes labelled data."""
    c = bootstrap.container()
    before = {e.expense_id: e for e in read}
    for expense in after.expenses:
        if expense.expense_id in before and labelling.record_corrections(c.uploads, before[expense.expense_id],
                                                                         expense):
            logger.info("corrections kept as labelled data", extra={"expense_id": expense.expense_id})


def _expense_json(expense, claim) -> dict:
    return {**expense.model_dump(mode="json"), "claim_id": claim.claim_id if claim else None,
            "claim_status": claim.status.value if claim else None, "summary": views.expense_summary(expense)}


@app.route("/expenses", methods=["GET"])
@api
def list_expenses():
    """The caller's unattached expenses (receipts uploaded or e-mailed, not yet in a claim), newest first."""
    found = claims.unattached_expenses(_principal(), bootstrap.container().expenses)
    return _json({"expenses": [_expense_json(e, None) for e in found]})


@app.route("/expenses/{expense_id}", methods=["GET"])
@api
def get_expense(expense_id):
    c = bootstrap.container()
    expense, claim = claims.get_expense(_principal(), c.expenses, c.claims, expense_id)
    return _json(_expense_json(expense, claim))


@app.route("/expenses/{expense_id}", methods=["PATCH"])
@api
def edit_expense(expense_id):
    c = bootstrap.container()
    edits = claims.ExpenseEdits.model_validate(_body())
    before, _ = claims.get_expense(_principal(), c.expenses, c.claims, expense_id)
    expense, claim = claims.edit_expense(_principal(), c.claims, c.expenses, expense_id, edits)
    if labelling.record_corrections(c.uploads, before, expense):
        logger.info("corrections kept as labelled data", extra={"expense_id": expense_id})
    return _json(_expense_json(expense, claim))


@app.route("/expenses/{expense_id}/audit", methods=["GET"])
@api
def expense_audit(expense_id):
    """The expense's own hash-chained trail while it was unattached, checked against its seals, and the claim
    holding it now."""
    c = bootstrap.container()
    _, claim = claims.get_expense(_principal(), c.expenses, c.claims, expense_id)  # the expense's read rules
    entity = c.expenses.entity(expense_id)
    return _json({"expense_id": expense_id, "claim_id": claim.claim_id if claim else None,
                  "records": [r.model_dump(mode="json") for r in c.expenses.history(expense_id)],
                  "verification": audit_view.verification(c.audit_trail.check(entity),
                                                          i18n.locale_of(app.current_request))})


@app.route("/expenses/{expense_id}/submit", methods=["POST"])
@api
def submit_expense(expense_id):
    """A receipt submitted on its own: it becomes a one-expense claim, submitted for approval."""
    principal = _principal()
    c = bootstrap.container()
    edits = claims.ClaimEdits.model_validate(_body())
    before = c.expenses.get(expense_id)
    claim = claims.submit_alone(principal, c.claims, c.expenses, c.directory, expense_id, edits)
    _keep_corrections([before] if before else [], claim)
    return _json(_claim_json(claim), 201)


@app.route("/claims/{claim_id}/audit", methods=["GET"])
@api
def claim_audit(claim_id):
    """The claim's records and each expense's from before it joined, with whether each trail verifies up to its
    last seal (and, where it does not, which record breaks it, in words)."""
    principal = _principal()
    c = bootstrap.container()
    claim = claims.get_claim(principal, c.claims, claim_id)  # the same read rules as the claim itself
    locale = i18n.locale_of(app.current_request)
    records = c.audit.records(c.claims.entity(claim_id))
    # each expense's own trail from before it joined the claim (uploaded, read, corrected, evidence replaced)
    before = {e.expense_id: [r.model_dump(mode="json") for r in c.expenses.history(e.expense_id)]
              for e in claim.expenses}
    trails = {e: audit_view.verification(c.audit_trail.check(c.expenses.entity(e)), locale)
              for e, v in before.items() if v}
    return _json({"records": [r.model_dump(mode="json") for r in records],
                  "expenses": {k: v for k, v in before.items() if v},
                  "verification": audit_view.verification(c.audit_trail.check(c.claims.entity(claim_id)), locale),
                  "expense_verification": trails})


@app.route("/claims/{claim_id}/signatures", methods=["GET"])
@api
def claim_signatures(claim_id):
    """Each approval decision's KMS signature, verified now."""
    c = bootstrap.container()
    claim = claims.get_claim(_principal(), c.claims, claim_id)
    return _json({"claim_id": claim_id, "signatures": decisions.verify_signatures(c.approvals, claim)})


@app.route("/admin/claims/{claim_id}/reassign", methods=["POST"])
@api
def reassign_approval(claim_id):
    body = ReassignRequest.model_validate(_body())
    claim = requests.reassign(bootstrap.container().approvals, _principal(), claim_id, body.approver_id, body.reason)
    return _json({"claim_id": claim.claim_id, "approval_level": claim.approval_level,
                  "pending_link_id": claim.pending_link_id})


@app.route("/admin/escalations", methods=["GET"])
@api
def escalation_desk():
    """Claims whose late approver has nobody above: the admin chases or reassigns them."""
    return _json({"claims": views.escalation_queue(bootstrap.container().approvals, _principal())})


@app.route("/me/approvals", methods=["GET"])
@api
def my_approvals():
    """What waits for the signed-in approver (or for them as a delegate), each with its approval link."""
    return _json({"approvals": views.waiting_for(bootstrap.container().approvals, _principal())})


@app.route("/me/approvals/decisions", methods=["POST"])
@api
def decide_my_approvals():
    """Approve (or reject, or return) several waiting claims at once; each keeps its own e-signature."""
    batch = decisions.BatchDecision.model_validate(_body())
    results = decisions.decide_many(bootstrap.container().approvals, _principal(), batch, _source_ip())
    return _json({"results": results})


@app.route("/me/delegation", methods=["PUT"])
@api
def set_delegation():
    """An approver going on leave names a delegate for a period."""
    body = delegation.DelegationRequest.model_validate(_body())
    return _json(delegation.set_delegation(bootstrap.container().approvals, _principal(), body))


@app.route("/admin/weather", methods=["PUT"])
@api
def set_weather():
    """Typhoon No. 8+ or Black Rainstorm pauses reminders; lowering it resumes them, staggered."""
    body = WeatherRequest.model_validate(_body())
    return _json(reminders.set_weather(bootstrap.container().approvals, _principal(), body.signal))


class WeatherRequest(BaseModel):
    signal: str = Field(pattern="^(none|T1|T3|T8|T9|T10|amber_rainstorm|red_rainstorm|black_rainstorm)$")


class ReassignRequest(BaseModel):
    approver_id: str
    reason: str = Field(min_length=1, max_length=500)


@app.route("/dashboard/summary", methods=["GET"])
@api
def dashboard_summary():
    principal = _principal()
    require_dashboard(principal)
    c = bootstrap.container()
    found = claims.list_claims(principal, c.claims)
    summary = summarise(found, c.directory.policy().fx)
    return _json({"department_id": principal.department_id, **summary.model_dump(mode="json")})


@app.route("/dashboard/approvals", methods=["GET"])
@api
def dashboard_approvals():
    """Who is sitting on claims, longest wait first (finance: own department; auditors and admins: all)."""
    return _json({"approvers": views.bottlenecks(bootstrap.container().approvals, _principal())})


# ---- approvals -------------------------------------------------------------------------------------------


@app.route("/approvals/{token}", methods=["GET"])
@api
def approval_page(token):
    """The claim the link is for, as its approver reads it (names, receipt images, corrections, history)."""
    c = bootstrap.container()
    token = unquote(token)
    try:
        summary = review.approval_page(c.approvals, decisions.open_link(c.approvals, token, _caller()), c.expenses,
                                       c.uploads)
    except LinkRefused as exc:
        if "json" in (app.current_request.headers.get("accept") or ""):
            raise
        return pages.html_response(approval_pages.refused(exc.reason, app.current_request), 410)
    if "json" in (app.current_request.headers.get("accept") or ""):
        return _json(summary)
    return pages.html_response(approval_pages.approval(summary, app.current_request))


@app.route("/approvals/{token}/decision", methods=["POST"])
@api
def approval_decision(token):
    """Decide once; the answer says what happened and who has the claim next, for the page's sentence."""
    c = bootstrap.container()
    request = decisions.DecisionRequest.model_validate(_body())
    claim = decisions.decide(c.approvals, unquote(token), request, _caller(), _source_ip())
    return _json(review.outcome(c.approvals, claim))


# ---- event-driven Lambdas (wired by infra/resources.py EVENT_SOURCES) ------------------------------------


_upload_messages = BatchProcessor(event_type=EventType.SQS, model=S3EventMessage, logger=logger)
def _count(name: str) -> None:
    """One CloudWatch count. With metrics disabled (local runs), nothing is added: Powertools would keep the
    unpublished values and print them all to stdout once 100 had piled up."""
    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


_raw_mail_messages = BatchProcessor(event_type=EventType.SQS, model=S3EventMessage, logger=logger)
_claim_changes = BatchProcessor(event_type=EventType.DynamoDBStreams, model=ClaimStreamRecord, logger=logger)


@app.lambda_function(name="extract_receipt")
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def extract_receipt(event, context):
    """SQS (S3 ObjectCreated notifications) -> one expense per uploaded receipt; a failed message alone is
    retried."""
    return process_partial_response(event=event, record_handler=_extract_message, processor=_upload_messages,
                                    context=context)


def _extract_message(record: S3EventMessage, lambda_context) -> None:
    c = bootstrap.container()
    for upload in record.objects_created():
        result = c.once(_extract_upload, "upload", lambda_context)(upload=upload)
        logger.info("receipt processed", extra=result)
        _count(f"Expenses_{result['status']}")


def _extract_upload(upload: S3NotificationRecord) -> dict:
    """One uploaded object -> its expense; run once per object version (the idempotency key is the record)."""
    c = bootstrap.container()
    expense = extraction.process_upload(upload.key, c.uploads, c.expenses, c.claims, c.directory, c.extractor,
                                        c.settings.max_upload_bytes, version_id=upload.version_id)
    return {"expense_id": expense.expense_id, "status": expense.status.value}


@app.lambda_function(name="intake_email")
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def intake_email(event, context):
    """SQS (raw-mail ObjectCreated under inbound/, written by SES receiving) -> one expense per e-mailed receipt."""
    return process_partial_response(event=event, record_handler=_intake_message, processor=_raw_mail_messages,
                                    context=context)


def _intake_message(record: S3EventMessage) -> None:
    for mail in record.objects_created(RAW_MAIL_PREFIX):
        result = _intake_email(mail)
        logger.info("email processed", extra=result)
        _count(f"Emails_{result['status']}")


def _intake_email(mail: S3NotificationRecord) -> dict:
    """Idempotent by itself (deterministic expense ids, replay detection): no Powertools wrapper needed."""
    c = bootstrap.container()
    raw = c.raw_mail.read(mail.key, MAX_EMAIL_BYTES)
    transfers.log_transfer("ses-receiving", c.settings.ses_receiving_region, size_bytes=len(raw))
    result = email_intake.process_raw_email(mail.key, raw, c.directory, UploadsBucketStarter(c.uploads),
                                            c.audit, max_bytes=c.settings.max_upload_bytes)
    return {"key": mail.key, "status": result.status, "expenses": len(result.expense_ids), "sender": result.sender}


@functools.cache
def _models():
    """The models bucket (the per-company anomaly models; none configured: rules only)."""
    return model_store.from_environment()


@app.lambda_function(name="score_claim")
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def score_claim(event, context):
    """DynamoDB stream of the claims table -> score newly submitted claims and start their approval. The batch
    shares one read of each department's history and of the directory (scoring.BatchHistory, CachedDirectory)."""
    c = bootstrap.container()
    batch = _ScoringBatch(scoring.CachedDirectory(c.directory))
    batch.history = scoring.BatchHistory(c.claims, batch.directory)
    return process_partial_response(event=event, record_handler=functools.partial(_score_change, batch=batch),
                                    processor=_claim_changes, context=context)


class _ScoringBatch:
    def __init__(self, directory) -> None:
        self.directory = directory
        self.history = None
        self.vendors = None


def _score_change(record: ClaimStreamRecord, batch: _ScoringBatch) -> None:
    new_image, old_image = record.dynamodb.NewImage, record.dynamodb.OldImage
    if new_image is None:
        return
    new = claim_from_body(new_image.body)
    old = claim_from_body(old_image.body) if old_image else None
    if scoring.needs_scoring(old, new):
        c = bootstrap.container()
        company = scoring.company_of(new, batch.directory)
        model = anomaly_model.scorer(_models(), company)  # loaded once per container
        if batch.vendors is None:
            batch.vendors = c.vendors.directory()
        scored = scoring.score_and_route(new.claim_id, c.claims, c.expenses, batch.directory, c.workflow,
                                         c.claimant_updates.tell, history=batch.history, vendors=batch.vendors,
                                         model=model)
        logger.info("claim scored", extra={"claim_id": new.claim_id, "status": scored.status.value if scored else None})
