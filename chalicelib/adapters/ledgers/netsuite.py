"""Oracle NetSuite: an approved claim as an expense report (`expenseReport`, the default) or a vendor bill
(`vendorBill`) through the SuiteTalk REST record service (`/services/rest/record/v1/`), validated against the
record definitions of the REST API Browser (schemas/netsuite_record_v1_components.json) before anything is sent.

Sources (read 2026-12-02):
- Upsert by external id: "Using the Upsert Operation",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html: "You can only use the
  upsert operation when you use an external ID in the request URL and when you use the PUT HTTP method", e.g.
  `PUT .../services/rest/record/v1/customer/eid:CID002`; "If the record does not exist, it will be added. If the
  record already exists, it will be updated."
- External ids: "Using External IDs", https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
  (`eid:` prefix anywhere an internal id goes in the URL; "letters, numbers, underscore (_), and hyphen (-)").
- Create answers 204 with the record URL in `Location`: "Creating a Record Instance",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141395.html.
- Record fields: the REST API Browser definitions expenseReport / expenseReport-expenseElement (amount, category,
  expenseaccount, currency, foreignamount, exchangerate, department, memo, expensedate) and vendorBill /
  vendorBill-expenseElement (account, amount, department, memo); "Expense Report",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_71141027565.html (record id expensereport).
- Errors: "Error Handling in REST Web Services",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html:
  `{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"?}]}`; 401 INVALID_LOGIN.
- Auth: OAuth 2.0 client credentials (M2M), "POST Request to the Token Endpoint and the Access Token Response",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html, and "The Request Token
  Structure", https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html: a JWT
  (typ JWT, alg PS256, kid = the certificate id of the M2M mapping; iss = client id, scope, aud = the token
  endpoint, iat, exp at most 60 minutes after iat) signed with the certificate's private key, posted as
  `grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
  &client_assertion=<jwt>`. There is no refresh token: "refresh" is a new assertion.

Never twice: `post` looks the claim up by external id first (`GET .../{type}/eid:{id}`), writes with the upsert
(`PUT .../{type}/eid:{id}`: even a blind retry updates the one record rather than adding a second), and after a
timeout or 5xx looks it up again before writing again (LedgerHttp.write_once).

Not confirmed from public documentation: the `o:errorCode` NetSuite answers for a missing record (404: any 404 on
the lookup is read as "not there"); whether the REST service sends Retry-After with a 429 (concurrency limit; the
documented RESTlet/SOAP equivalents differ): without one the policy's backoff is used; the external id's maximum
length (claim ids are at most 100 characters; one with characters NetSuite does not allow becomes "EC" + 40 hex
characters of its SHA-256). Receipts are not uploaded (the record service has no file upload in the sources
above): the document is returned without attachments. Whether NetSuite recomputes a foreign line's amount from
foreignamount x exchangerate (a cent away from the HKD worked out once for the claim) is not documented: the amount
sent is the posting's; `usemulticurrency` is set when a line is not in HKD.

Cash advances: an expense report applies the part of the employee's advance the claim used through the record's
`advance` field (REST API Browser expenseReport.advance, a number; the form's "Advance to Apply" as we read it), so
NetSuite owes the employee the rest; an advance the claim did not use up stays open on the employee's advance
balance in NetSuite, which is the refund due (the memo says how much). This assumes the advance was paid through
NetSuite. A vendor bill instead carries the advance as lines: the advances account credited in full (a negative
line) and the unused part debited to the employee receivable.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

import jwt
import requests
from pydantic import BaseModel, Field

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import (
    Clock,
    LedgerHttp,
    RetryPolicy,
    Sleep,
    WriteOutcomeUnknown,
    dumps,
    loads,
    utcnow,
)
from chalicelib.adapters.ledgers.port import (
    ExternalDocument,
    LedgerAuthFailed,
    LedgerUnavailable,
    PayloadInvalid,
    PostingRejected,
)
from chalicelib.domain.fx_rates import BASE_CURRENCY
from chalicelib.domain.ledger_mapping import Posting, PostingLine, ReceiptFile

log = logging.getLogger(__name__)

LEDGER = "netsuite"
SCHEMA = "netsuite_record_v1"
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = timedelta(minutes=5)  # "less than 60 minutes greater than the value of the iat parameter"
VIEW = {"expenseReport": "/app/accounting/transactions/exprept.nl?id={id}",
        "vendorBill": "/app/accounting/transactions/vendbill.nl?id={id}"}


def account_host(account_id: str) -> str:
    """The account id as NetSuite's host names spell it: `1234567_SB1` -> `1234567-sb1`."""
    return account_id.strip().lower().replace("_", "-")


class NetSuiteConfig(BaseModel):
    """A company's NetSuite set-up. Every reference is a NetSuite internal id, mapped by finance."""

    account_id: str  # e.g. "1234567" or "1234567_SB1"
    record_type: Literal["expenseReport", "vendorBill"] = "expenseReport"
    subsidiary_id: str | None = None  # OneWorld accounts: the subsidiary the claim is booked in
    employee_ids: dict[str, str] = Field(default_factory=dict)  # employee id -> employee record (expense report)
    vendor_ids: dict[str, str] = Field(default_factory=dict)  # employee id -> vendor record (vendor bill)
    expense_categories: dict[str, str] = Field(default_factory=dict)  # category -> expenseCategory (expense report)
    expense_accounts: dict[str, str] = Field(default_factory=dict)  # category -> account
    default_account: str
    rounding_account: str  # FX rounding line: the difference between the claim total and its lines
    department_ids: dict[str, str] = Field(default_factory=dict)  # cost centre -> department
    advances_account: str | None = None  # vendor bill: employee advances receivable (a claim clearing an advance)
    employee_receivable_account: str | None = None  # vendor bill: what an employee owes back of an advance
    #: profits tax tag (deductible | non_deductible) -> classification (`class`) internal id; unmapped: the tag is
    #: written at the end of the line's memo
    profits_tax_class_ids: dict[str, str] = Field(default_factory=dict)
    currency_ids: dict[str, str] = Field(default_factory=lambda: {BASE_CURRENCY: "1"})  # ISO 4217 -> currency
    due_days: int = Field(default=14, ge=0)
    complete: bool = True  # expense report "Complete" (ready for approval)
    api_url: str | None = None  # default: https://<account>.suitetalk.api.netsuite.com/services/rest/record/v1
    token_url: str | None = None  # default: https://<account>.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token
    app_url: str | None = None  # default: https://<account>.app.netsuite.com

    def base(self) -> str:
        return f"https://{account_host(self.account_id)}.suitetalk.api.netsuite.com/services/rest"

    def record_url(self) -> str:
        return self.api_url or f"{self.base()}/record/v1"

    def token_endpoint(self) -> str:
        return self.token_url or f"{self.base()}/auth/oauth2/v1/token"

    def ui_url(self) -> str:
        return self.app_url or f"https://{account_host(self.account_id)}.app.netsuite.com"

    def account(self, category: str) -> str:
        return self.expense_accounts.get(category, self.default_account)


def external_id(claim_id: str) -> str:
    """The claim id as a NetSuite external id: as it is when NetSuite allows its characters, else a digest."""
    if EXTERNAL_ID.match(claim_id):
        return claim_id
    return "EC" + hashlib.sha256(claim_id.encode()).hexdigest()[:40]


def memo(claim_id: str) -> str:
    return f"Expense claim {claim_id}"


def _ref(internal_id: str) -> dict:
    return {"id": internal_id}


def _department(config: NetSuiteConfig, cost_centre: str | None) -> dict | None:
    department = config.department_ids.get(cost_centre or "")
    return _ref(department) if department else None


def _currency(config: NetSuiteConfig, code: str) -> str:
    try:
        return config.currency_ids[code]
    except KeyError:
        raise PostingRejected(LEDGER, [f"currency {code} has no NetSuite currency record mapped: finance must map "
                                       f"one before the claim can be posted"]) from None


def _unmapped_cost_centres(config: NetSuiteConfig, posting: Posting) -> list[str]:
    used = {line.cost_centre for line in posting.lines} | {posting.cost_centre}
    return sorted(c for c in used if c and config.department_ids and c not in config.department_ids)


def _tax_class(config: NetSuiteConfig, line: PostingLine, item: dict) -> dict:
    """The line's profits tax tag as its `class` when finance mapped one, else at the end of its memo."""
    tax_class = config.profits_tax_class_ids.get(line.profits_tax.code) if line.profits_tax else None
    if tax_class:
        item["class"] = _ref(tax_class)
    else:
        item["memo"] = line.described(4000)
    return item


def _expense_line(config: NetSuiteConfig, line: PostingLine) -> dict:
    item: dict = {"amount": line.hkd.amount, "currency": _ref(_currency(config, line.original.currency)),
                  "foreignamount": line.original.amount, "exchangerate": line.rate.hkd_per_unit,
                  "expensedate": line.rate.wanted_date.isoformat(), "memo": line.description}
    _tax_class(config, line, item)
    category = config.expense_categories.get(line.category)
    if category:
        item["category"] = _ref(category)
    else:
        item["expenseaccount"] = _ref(config.account(line.category))
    department = _department(config, line.cost_centre)
    if department:
        item["department"] = department
    return item


def build_expense_report(posting: Posting, config: NetSuiteConfig) -> dict:
    """The claim as an expense report in HKD: one expense line per expense (its original amount, currency and
    rate beside the HKD amount booked), plus the FX rounding line when not zero."""
    employee = config.employee_ids.get(posting.employee_id)
    if employee is None:
        raise PostingRejected(LEDGER, [f"employee {posting.employee_id} has no NetSuite employee record mapped: "
                                       f"finance must map one before the claim can be posted"])
    missing = _unmapped_cost_centres(config, posting)
    if missing:
        raise PostingRejected(LEDGER, [f"cost centre {c} has no NetSuite department mapped" for c in missing])
    hkd = _currency(config, BASE_CURRENCY)
    items = [_expense_line(config, line) for line in posting.lines]
    if posting.rounding.amount:
        rounding: dict = {"amount": posting.rounding.amount, "currency": _ref(hkd),
                          "foreignamount": posting.rounding.amount, "exchangerate": Decimal(1),
                          "expensedate": posting.entry_date.isoformat(),
                          "memo": "FX rounding: claim total converted once",
                          "expenseaccount": _ref(config.rounding_account)}
        department = _department(config, posting.cost_centre)
        if department:
            rounding["department"] = department
        items.append(rounding)
    report: dict = {"entity": _ref(employee), "tranDate": posting.entry_date.isoformat(),
                    "memo": memo(posting.external_id), "expensereportcurrency": _ref(hkd),
                    "expensereportexchangerate": Decimal(1), "complete": config.complete,
                    "expense": {"items": items}}
    if any(line.original.currency != BASE_CURRENCY for line in posting.lines):
        report["usemulticurrency"] = True  # the lines' own currency, foreign amount and rate are used
    if posting.advance is not None:
        a = posting.advance
        report["advance"] = a.advance.amount - a.recover_from_employee.amount  # "Advance to Apply": the part used
        report["memo"] = f"{report['memo']}; cash advance {a.advance_id} applied"
        if a.recover_from_employee.amount:
            report["memo"] += f", HKD {a.recover_from_employee.amount} unused: to be repaid by the employee"
    return _header(report, posting, config)


def build_vendor_bill(posting: Posting, config: NetSuiteConfig) -> dict:
    """The claim as a bill owed to the employee's vendor record, in HKD: one expense line per expense."""
    vendor = config.vendor_ids.get(posting.employee_id)
    if vendor is None:
        raise PostingRejected(LEDGER, [f"employee {posting.employee_id} has no NetSuite vendor record mapped: "
                                       f"finance must map one before the claim can be posted"])
    missing = _unmapped_cost_centres(config, posting)
    if missing:
        raise PostingRejected(LEDGER, [f"cost centre {c} has no NetSuite department mapped" for c in missing])
    items = []
    for line in posting.lines:
        item: dict = _tax_class(config, line, {"account": _ref(config.account(line.category)),
                                               "amount": line.hkd.amount, "memo": line.description})
        department = _department(config, line.cost_centre)
        if department:
            item["department"] = department
        items.append(item)
    if posting.rounding.amount:
        item = {"account": _ref(config.rounding_account), "amount": posting.rounding.amount,
                "memo": "FX rounding: claim total converted once"}
        department = _department(config, posting.cost_centre)
        if department:
            item["department"] = department
        items.append(item)
    items.extend(_advance_items(posting, config))
    bill: dict = {"entity": _ref(vendor), "tranDate": posting.entry_date.isoformat(),
                  "dueDate": (posting.entry_date + timedelta(days=config.due_days)).isoformat(),
                  "tranId": posting.external_id[:45],  # Reference No.; its length limit is not confirmed
                  "memo": memo(posting.external_id),
                  "currency": _ref(_currency(config, BASE_CURRENCY)), "exchangeRate": Decimal(1),
                  "expense": {"items": items}}
    return _header(bill, posting, config)


def _advance_items(posting: Posting, config: NetSuiteConfig) -> list[dict]:
    """Vendor bill: the advances account credited with the whole advance (a negative line) and the unused part
    debited to the employee receivable, so the bill owes the claim less the advance. Unmapped: refused."""
    a = posting.advance
    if a is None:
        return []
    if config.advances_account is None or (a.recover_from_employee.amount and
                                           config.employee_receivable_account is None):
        raise PostingRejected(LEDGER, [f"claim {posting.external_id} clears cash advance {a.advance_id}: the "
                                       f"NetSuite advances and employee receivable accounts must be mapped"])
    department = _department(config, posting.cost_centre)
    items = [{"account": _ref(config.advances_account), "amount": -a.advance.amount, "memo": a.cleared_text}]
    if a.recover_from_employee.amount:
        items.append({"account": _ref(config.employee_receivable_account or ""),
                      "amount": a.recover_from_employee.amount, "memo": a.recover_text})
    return [{**item, "department": department} if department else item for item in items]


def _header(record: dict, posting: Posting, config: NetSuiteConfig) -> dict:
    if config.subsidiary_id:
        record["subsidiary"] = _ref(config.subsidiary_id)
    department = _department(config, posting.cost_centre)
    if department:
        record["department"] = department
    return record


def validated(posting: Posting, config: NetSuiteConfig) -> dict:
    """The record body, or PayloadInvalid naming every way it breaks the REST API Browser definition."""
    build = build_expense_report if config.record_type == "expenseReport" else build_vendor_bill
    body = build(posting, config)
    errors = openapi.load(SCHEMA).errors(config.record_type, body)
    if errors:
        raise PayloadInvalid(LEDGER, errors)
    return body


def error_details(response: requests.Response) -> list[str]:
    """The vendor's words: each `o:errorDetails[].detail` (with its error code) of a NetSuite error body."""
    try:
        body = loads(response.content)
    except ValueError:
        return [f"HTTP {response.status_code}: {response.text[:200]}"]
    if not isinstance(body, dict):
        return [f"HTTP {response.status_code}"]
    details = body.get("o:errorDetails") or []
    messages = [f"{d.get('detail')} ({d.get('o:errorCode')})" if d.get("o:errorCode") else str(d.get("detail"))
                for d in details if isinstance(d, dict) and d.get("detail")]
    return messages or [str(body.get("title") or f"HTTP {response.status_code}")]


# --- auth: OAuth 2.0 client credentials (M2M) ------------------------------------------------------------------
class NetSuiteM2M:
    """Access tokens for an integration record mapped to a certificate (NetSuite's client credentials flow).

    Held in memory, refreshed ahead of expiry and on demand; the private key and tokens are never logged."""

    def __init__(self, session: requests.Session, token_url: str, client_id: str, certificate_id: str,
                 private_key_pem: str | bytes, *, algorithm: str = "PS256", scope: str = "rest_webservices",
                 clock: Clock = utcnow, timeout: float = 10.0, early: timedelta = timedelta(seconds=60)):
        self.session, self.token_url = session, token_url
        self.client_id, self.certificate_id = client_id, certificate_id
        self._key, self.algorithm, self.scope = private_key_pem, algorithm, scope
        self.clock, self.timeout, self.early = clock, timeout, early
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = threading.Lock()

    def access_token(self) -> str:
        with self._lock:
            if self._token and self._expires_at and self._expires_at - self.early > self.clock():
                return self._token
        return self.refresh()

    def assertion(self) -> str:
        now = self.clock()
        claims = {"iss": self.client_id, "scope": self.scope, "aud": self.token_url,
                  "iat": int(now.timestamp()), "exp": int((now + ASSERTION_LIFETIME).timestamp()),
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self._key, algorithm=self.algorithm,
                          headers={"typ": "JWT", "kid": self.certificate_id})

    def refresh(self) -> str:
        form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.assertion()}
        try:
            response = self.session.post(self.token_url, data=form, timeout=self.timeout,
                                         headers={"Accept": "application/json"})
        except requests.RequestException as e:
            raise LedgerUnavailable(f"{LEDGER} token endpoint unreachable: {type(e).__name__}") from e
        if response.status_code in (400, 401, 403):
            try:
                error = loads(response.content).get("error", response.status_code)
            except (ValueError, AttributeError):
                error = response.status_code
            raise LedgerAuthFailed(f"{LEDGER} refused the client credentials ({error}): finance must check the "
                                   f"integration record and its certificate mapping")
        if response.status_code != 200:
            raise LedgerUnavailable(f"{LEDGER} token endpoint answered {response.status_code}")
        try:
            body = loads(response.content)
        except ValueError:
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise LedgerUnavailable(f"{LEDGER} token endpoint answered without an access token")
        with self._lock:
            self._token = str(token)
            self._expires_at = self.clock() + timedelta(seconds=int(body.get("expires_in", 3600)))
        log.info("ledger token refreshed", extra={"ledger": LEDGER})
        return self._token


# --- the adapter -----------------------------------------------------------------------------------------------
class NetSuiteLedger:
    """The LedgerAdapter for NetSuite (see port.py)."""

    name = LEDGER
    books_advances = True

    def __init__(self, config: NetSuiteConfig, http: LedgerHttp):
        self.config, self.http = config, http
        self.path = f"/{config.record_type}"

    @classmethod
    def connect(cls, config: NetSuiteConfig, session: requests.Session, client_id: str, certificate_id: str,
                private_key_pem: str | bytes, *, policy: RetryPolicy | None = None, sleep: Sleep = time.sleep,
                clock: Clock = utcnow, algorithm: str = "PS256") -> NetSuiteLedger:
        """The adapter wired to NetSuite (or to whatever `session` routes to: the fake, in tests)."""
        auth = NetSuiteM2M(session, config.token_endpoint(), client_id, certificate_id, private_key_pem,
                           algorithm=algorithm, clock=clock)
        http = LedgerHttp(LEDGER, session, config.record_url(), auth, policy=policy, sleep=sleep, clock=clock,
                          headers={"Accept": "application/json"})
        return cls(config, http)

    def build(self, posting: Posting) -> dict:
        return validated(posting, self.config)

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        body = dumps(self.build(posting)).encode()  # refused here, before any request, if it breaks the schema
        return self.find(posting.external_id) or self._write(posting.external_id, body)

    def find(self, claim_id: str) -> ExternalDocument | None:
        """The claim's record, if NetSuite holds one under its external id."""
        response = self.http.request("GET", self._eid_path(claim_id), write=False)
        if response.status_code == 404:
            return None
        record = self._json(response, "GET")
        if "id" not in record:
            raise LedgerUnavailable(f"{LEDGER} answered GET without an internal id")
        return self._document(str(record["id"]), claim_id)

    def _eid_path(self, claim_id: str) -> str:
        return f"{self.path}/eid:{quote(external_id(claim_id), safe='')}"

    def _write(self, claim_id: str, body: bytes) -> ExternalDocument:
        def upsert() -> ExternalDocument:
            response = self.http.request("PUT", self._eid_path(claim_id), write=True, body=body,
                                         headers={"Content-Type": "application/json"})
            if response.status_code >= 400:
                self._json(response, "PUT")  # raises with NetSuite's words
            location = response.headers.get("Location") or ""
            internal_id = location.rstrip("/").rsplit("/", 1)[-1]
            if response.status_code not in (200, 201, 204) or not internal_id.isdigit():
                found = self.find(claim_id)  # written, but the answer does not say where: read it back
                if found is None:
                    raise WriteOutcomeUnknown(f"PUT {self.path}: {response.status_code} without a record location")
                return found
            log.info("ledger document written", extra={"ledger": LEDGER, "external_id": claim_id})
            return self._document(internal_id, claim_id)

        return self.http.write_once(claim_id, upsert, self.find)

    def _json(self, response: requests.Response, method: str) -> dict:
        status = response.status_code
        if status == 403:
            raise LedgerAuthFailed(f"{LEDGER} refused access ({'; '.join(error_details(response))}): the "
                                   f"integration's role lacks a permission")
        if 400 <= status < 500:
            raise PostingRejected(LEDGER, error_details(response), status)
        if status != 200:
            raise LedgerUnavailable(f"{LEDGER} answered {method} with {status}")
        try:
            body = loads(response.content)
        except ValueError as e:
            raise LedgerUnavailable(f"{LEDGER} answered {method} with a body that is not JSON") from e
        if not isinstance(body, dict):
            raise LedgerUnavailable(f"{LEDGER} answered {method} with a body that is not an object")
        return body

    def _document(self, internal_id: str, claim_id: str) -> ExternalDocument:
        kind = "expense_report" if self.config.record_type == "expenseReport" else "vendor_bill"
        url = self.config.ui_url() + VIEW[self.config.record_type].format(id=internal_id)
        return ExternalDocument(ledger=LEDGER, kind=kind, id=internal_id, url=url, external_id=claim_id)


def build_netsuite(config: NetSuiteConfig, session: requests.Session, client_id: str, certificate_id: str,
                   private_key_pem: str | bytes, **options) -> NetSuiteLedger:
    """The NetSuite adapter by name, for the posting service's factory (see NetSuiteLedger.connect)."""
    return NetSuiteLedger.connect(config, session, client_id, certificate_id, private_key_pem, **options)
