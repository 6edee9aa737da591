"""QuickBooks Online: an approved claim as a Bill (AccountBasedExpenseLineDetail lines) to the employee's vendor
record, validated against Intuit's V3 XSDs (xsd.py) before anything is sent.

The client shares the Xero adapter's LedgerHttp loop (OAuth 2.0 refresh once on 401, 429 waited out, an unknown
write outcome looked up before writing again); QBO's idempotency key is the `requestid` query parameter, its
errors the `Fault` body, and a bill is found by `select * from Bill where DocNumber = '...'`.

Where the claim id goes: `DocNumber` (the bill's "Reference no."), which QBO limits to 21 characters. A claim id
that fits is used as it is; a longer one (c-<32 hex>) becomes "EC" + 19 hex characters of its SHA-256, the same
every time, so a retry can query `select * from Bill where DocNumber = '...'`; the full claim id is in PrivateNote.
The employee must be a QBO vendor (bills are to vendors): finance maps employee ids to vendor ids, and an
unmapped employee is refused with a message saying so, before any request.

A claim clearing a cash advance adds a negative line crediting the advances account with the whole advance and,
when the claim came in under it, a line debiting the employee receivable with the unused part: the bill owes the
employee the claim less the advance. The XSD sets no minimum on a line's Amount; QBO refuses a bill whose total is
negative, which this never is. Whether QBO accepts a zero bill (a claim the advance covered) is not confirmed here.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

import requests
from pydantic import BaseModel, Field

from chalicelib.adapters.ledgers.http import (
    Clock,
    LedgerHttp,
    OAuth2Client,
    RetryPolicy,
    Sleep,
    TokenStore,
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
from chalicelib.adapters.ledgers.xsd import quickbooks_errors
from chalicelib.domain.fx_rates import BASE_CURRENCY
from chalicelib.domain.ledger_mapping import Posting, PostingLine, ReceiptFile

log = logging.getLogger(__name__)

LEDGER = "quickbooks"
DOC_NUMBER_MAX = 21  # Intuit V3 XSD, Transaction.DocNumber: "The maximum length for DocNumber is 21 characters"


class QuickBooksConfig(BaseModel):
    """A company's QBO set-up. QBO refers to accounts, classes, departments and tax codes by their ids."""

    realm_id: str
    expense_accounts: dict[str, str]  # category -> Account Id
    default_account: str
    rounding_account: str
    ap_account: str | None = None  # the payable account (Account Id); None: the company's default A/P
    advances_account: str | None = None  # employee advances receivable (Account Id): a claim clearing an advance
    employee_receivable_account: str | None = None  # what an employee owes back of an advance (Account Id)
    vendor_ids: dict[str, str] = Field(default_factory=dict)  # employee id -> Vendor Id
    cost_centres_as: Literal["class", "department", "none"] = "class"
    class_ids: dict[str, str] = Field(default_factory=dict)  # cost centre -> Class Id
    department_ids: dict[str, str] = Field(default_factory=dict)  # cost centre -> Department Id
    tax_code: str | None = None  # TaxCodeRef for every line (None: no tax codes; Hong Kong has no sales tax)
    #: profits tax tag (deductible | non_deductible) -> Class Id, used when classes do not hold cost centres;
    #: otherwise (or unmapped) the tag is written at the end of the line's description
    profits_tax_class_ids: dict[str, str] = Field(default_factory=dict)
    due_days: int = Field(default=14, ge=0)

    def account(self, category: str) -> str:
        return self.expense_accounts.get(category, self.default_account)


def doc_number(external_id: str) -> str:
    if len(external_id) <= DOC_NUMBER_MAX:
        return external_id
    return "EC" + hashlib.sha256(external_id.encode()).hexdigest()[:DOC_NUMBER_MAX - 2]


def _ref(value: str) -> dict:
    return {"value": value}


def build_bill(posting: Posting, config: QuickBooksConfig) -> dict:
    """The QBO Bill JSON (HKD, the home currency: no ExchangeRate), one line per expense plus the rounding line."""
    vendor = config.vendor_ids.get(posting.employee_id)
    if vendor is None:
        raise PostingRejected(LEDGER, [f"employee {posting.employee_id} has no QuickBooks vendor record mapped: "
                                       f"finance must map one before the claim can be posted"])
    used = {line.cost_centre for line in posting.lines} | (
        {posting.cost_centre} if posting.rounding.amount or posting.advance else set())
    missing = sorted(c for c in used if c and config.cost_centres_as == "class" and c not in config.class_ids)
    if missing:
        raise PostingRejected(LEDGER, [f"cost centre {c} has no QuickBooks class mapped" for c in missing])
    lines = [_expense_line(line, config) for line in posting.lines]
    if posting.rounding.amount:
        lines.append(_line(posting.rounding.amount, "FX rounding: claim total converted once",
                           config.rounding_account, posting.cost_centre, config))
    lines.extend(_advance_lines(posting, config))
    bill: dict = {
        "VendorRef": _ref(vendor),
        "DocNumber": doc_number(posting.external_id),
        "TxnDate": posting.entry_date.isoformat(),
        "DueDate": (posting.entry_date + timedelta(days=config.due_days)).isoformat(),
        "PrivateNote": f"Expense claim {posting.external_id}",
        "CurrencyRef": _ref(BASE_CURRENCY),
        "GlobalTaxCalculation": "NotApplicable" if config.tax_code is None else "TaxExcluded",
        "Line": lines,
    }
    if config.ap_account:
        bill["APAccountRef"] = _ref(config.ap_account)
    department = config.department_ids.get(posting.cost_centre or "")
    if config.cost_centres_as == "department" and department:
        bill["DepartmentRef"] = _ref(department)
    return bill


def _advance_lines(posting: Posting, config: QuickBooksConfig) -> list[dict]:
    """A claim clearing a cash advance: the advances account credited in full (a negative line) and the unused part
    debited to the employee receivable, so the bill owes the employee the claim less the advance, or nothing.
    Unmapped accounts are refused, naming what finance must map."""
    a = posting.advance
    if a is None:
        return []
    missing = [name for name, value in (("advances account", config.advances_account),
                                        ("employee receivable account", config.employee_receivable_account))
               if value is None and (name == "advances account" or a.recover_from_employee.amount)]
    if missing:
        raise PostingRejected(LEDGER, [f"claim {posting.external_id} clears cash advance {a.advance_id}: the "
                                       f"QuickBooks {name} is not mapped" for name in missing])
    lines = [_line(-a.advance.amount, a.cleared_text, config.advances_account or "", posting.cost_centre, config)]
    if a.recover_from_employee.amount:
        lines.append(_line(a.recover_from_employee.amount, a.recover_text, config.employee_receivable_account or "",
                           posting.cost_centre, config))
    return lines


def _expense_line(line: PostingLine, config: QuickBooksConfig) -> dict:
    """An expense's line: its profits tax tag as a Class when classes are free to hold it, else in its words."""
    tag = line.profits_tax.code if line.profits_tax else None
    tax_class = config.profits_tax_class_ids.get(tag or "") if config.cost_centres_as != "class" else None
    item = _line(line.hkd.amount, line.description if tax_class else line.described(4000),
                 config.account(line.category), line.cost_centre, config)
    if tax_class:
        item["AccountBasedExpenseLineDetail"]["ClassRef"] = _ref(tax_class)
    return item


def _line(amount: Decimal, description: str, account: str, cost_centre: str | None,
          config: QuickBooksConfig) -> dict:
    detail: dict = {"AccountRef": _ref(account), "BillableStatus": "NotBillable"}
    if config.cost_centres_as == "class" and cost_centre:
        detail["ClassRef"] = _ref(config.class_ids[cost_centre])
    if config.tax_code:
        detail["TaxCodeRef"] = _ref(config.tax_code)
    return {"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount, "Description": description[:4000],
            "AccountBasedExpenseLineDetail": detail}


def validated_bill(posting: Posting, config: QuickBooksConfig) -> dict:
    """The Bill JSON, or PayloadInvalid naming every way it breaks Intuit's V3 schema."""
    bill = build_bill(posting, config)
    errors = quickbooks_errors("Bill", bill)
    if errors:
        raise PayloadInvalid(LEDGER, errors)
    return bill


# --- the client ------------------------------------------------------------------------------------------------
API_URL = "https://quickbooks.api.intuit.com/v3/company"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 (an address, not a secret)
APP_URL = "https://app.qbo.intuit.com/app/bill?txnId={id}"
MINOR_VERSION = "75"
REQUEST_ID_MAX = 50  # QBO's requestid: at most 50 characters


def request_id(external_id: str, what: str) -> str:
    """QBO's idempotency key (`requestid`): the same for every retry of the same write."""
    return f"{what}-{hashlib.sha256(external_id.encode()).hexdigest()}"[:REQUEST_ID_MAX]


def fault_messages(response: requests.Response) -> list[str]:
    """The vendor's words from a QBO Fault: `{"Fault": {"Error": [{"Message", "Detail", "code"}], "type"}}` (the
    authentication faults spell the keys in lower case)."""
    try:
        body = loads(response.content)
    except ValueError:
        return [f"HTTP {response.status_code}: {response.text[:200]}"]
    if not isinstance(body, dict):
        return [f"HTTP {response.status_code}"]
    fault = body.get("Fault") or body.get("fault") or {}
    errors = fault.get("Error") or fault.get("error") or []
    messages = []
    for error in errors if isinstance(errors, list) else []:
        message = error.get("Message") or error.get("message") or ""
        detail = error.get("Detail") or error.get("detail") or ""
        messages.append(": ".join(part for part in (str(message), str(detail)) if part))
    return messages or [f"HTTP {response.status_code}"]


class QuickBooksLedger:
    """The LedgerAdapter for QuickBooks Online (see port.py): the same never-twice steps as the Xero adapter,
    with QBO's `requestid` as the idempotency key and its query language to find a bill by DocNumber."""

    name = LEDGER
    books_advances = True

    def __init__(self, config: QuickBooksConfig, http: LedgerHttp, app_url: str = APP_URL):
        self.config, self.http, self.app_url = config, http, app_url

    @classmethod
    def connect(cls, config: QuickBooksConfig, session: requests.Session, client_id: str, client_secret: str,
                store: TokenStore, *, policy: RetryPolicy | None = None, sleep: Sleep = time.sleep,
                clock: Clock = utcnow, api_url: str = API_URL, token_url: str = TOKEN_URL) -> QuickBooksLedger:
        oauth = OAuth2Client(session, token_url, client_id, client_secret, store, ledger=LEDGER, clock=clock)
        http = LedgerHttp(LEDGER, session, f"{api_url}/{config.realm_id}", oauth, policy=policy, sleep=sleep,
                          clock=clock, headers={"Accept": "application/json"})
        return cls(config, http)

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        body = dumps(validated_bill(posting, self.config)).encode()  # refused here if it breaks the XSD
        document = self.find(posting.external_id) or self._write(posting.external_id, body)
        return self._attach(document, receipts)

    def find(self, external_id: str) -> ExternalDocument | None:
        query = f"select * from Bill where DocNumber = {_literal(doc_number(external_id))}"  # noqa: S608 (_literal)
        response = self.http.request("GET", "/query", write=False,
                                     params={"query": query, "minorversion": MINOR_VERSION})
        bills = (self._json(response, "GET").get("QueryResponse") or {}).get("Bill") or []
        if len(bills) > 1:
            log.error("ledger holds a claim more than once", extra={"ledger": LEDGER, "external_id": external_id,
                                                                   "count": len(bills)})
        return self._document(bills[0], external_id) if bills else None

    def _write(self, external_id: str, body: bytes) -> ExternalDocument:
        params = {"requestid": request_id(external_id, "bill"), "minorversion": MINOR_VERSION}

        def post() -> ExternalDocument:
            response = self.http.request("POST", "/bill", write=True, body=body, params=params,
                                         headers={"Content-Type": "application/json"})
            bill = self._json(response, "POST").get("Bill")
            if not isinstance(bill, dict):
                raise LedgerUnavailable(f"{LEDGER} answered POST /bill without a Bill")
            log.info("ledger document written", extra={"ledger": LEDGER, "external_id": external_id})
            return self._document(bill, external_id)

        return self.http.write_once(external_id, post, self.find)

    def _attach(self, document: ExternalDocument, receipts: Sequence[ReceiptFile]) -> ExternalDocument:
        """Each receipt not yet attached, as an Attachable linked to the bill (POST /upload, multipart)."""
        if not receipts:
            return document
        query = ("select * from Attachable where AttachableRef.EntityRef.Type = 'Bill' "  # noqa: S608 (_literal)
                 f"and AttachableRef.EntityRef.value = {_literal(document.id)}")
        response = self.http.request("GET", "/query", write=False,
                                     params={"query": query, "minorversion": MINOR_VERSION})
        held = {a.get("FileName") for a in (self._json(response, "GET").get("QueryResponse") or {})
                .get("Attachable") or []}
        problems: list[str] = []
        for receipt in receipts:
            if receipt.file_name in held:
                continue
            metadata = {"AttachableRef": [{"EntityRef": {"type": "Bill", "value": document.id}}],
                        "FileName": receipt.file_name, "ContentType": receipt.content_type}
            body, content_type = _multipart(metadata, receipt)
            digest = hashlib.sha256(receipt.content).hexdigest()
            params = {"requestid": request_id(f"{document.id}-{digest}", "att"), "minorversion": MINOR_VERSION}
            try:
                self._json(self.http.request("POST", "/upload", write=True, body=body, params=params,
                                             headers={"Content-Type": content_type}), "POST")
            except PostingRejected as refused:
                problems.append(f"{receipt.file_name}: {'; '.join(refused.messages)}")
                continue
            except WriteOutcomeUnknown as unknown:
                raise LedgerUnavailable(f"{LEDGER} attachment {receipt.file_name} of {document.external_id}: "
                                        f"{unknown.detail}; the next try attaches what is missing") from unknown
            held.add(receipt.file_name)
        return document.model_copy(update={"attachments": tuple(sorted(n for n in held if n)),
                                           "attachment_errors": tuple(problems)})

    def _json(self, response: requests.Response, method: str) -> dict:
        status = response.status_code
        if status == 403:
            raise LedgerAuthFailed(f"{LEDGER} refused access ({'; '.join(fault_messages(response))})")
        if 400 <= status < 500:
            raise PostingRejected(LEDGER, fault_messages(response), status)
        if status != 200:
            raise LedgerUnavailable(f"{LEDGER} answered {method} with {status}")
        body = loads(response.content)
        if not isinstance(body, dict):
            raise LedgerUnavailable(f"{LEDGER} answered {method} with a body that is not an object")
        if body.get("Fault"):  # QBO can answer 200 with a Fault (batch-style errors)
            raise PostingRejected(LEDGER, fault_messages(response), status)
        return body

    def _document(self, bill: dict, external_id: str) -> ExternalDocument:
        return ExternalDocument(ledger=LEDGER, kind="bill", id=str(bill["Id"]), external_id=external_id,
                                url=self.app_url.format(id=bill["Id"]))


def _literal(value: str) -> str:
    """A value quoted for QBO's query language; only ids and doc numbers are ever put there."""
    if not re.fullmatch(r"[A-Za-z0-9._:-]+", value):
        raise ValueError(f"{value!r} cannot be put in a QuickBooks query")
    return f"'{value}'"


def _multipart(metadata: dict, receipt: ReceiptFile) -> tuple[bytes, str]:
    boundary = "ledger-" + hashlib.sha256(receipt.content).hexdigest()[:24]
    parts = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="file_metadata_0"\r\n'
         f"Content-Type: application/json; charset=UTF-8\r\n\r\n").encode() + dumps(metadata).encode() + b"\r\n",
        (f'--{boundary}\r\nContent-Disposition: form-data; name="file_content_0"; '
         f'filename="{quote(receipt.file_name)}"\r\nContent-Type: {receipt.content_type}\r\n\r\n').encode()
        + receipt.content + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
