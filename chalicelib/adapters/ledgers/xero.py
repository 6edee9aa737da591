"""Xero Accounting API: an approved claim as a bill to the employee (ACCPAY invoice) or as a manual journal.

The payloads follow Xero Accounting API 16.1.0 (the OpenAPI spec in schemas/, see openapi.py) and are validated
against it before anything is sent. Where the claim id goes: on a bill, `InvoiceNumber` (the spec: `Reference` is
"ACCREC only"; for ACCPAY the InvoiceNumber is the supplier's reference, shown as "Reference" in Xero); on a manual
journal, which has neither, the `Narration` "Expense claim <id>". Either is how `find` looks a claim up.

Never twice: `post` looks the claim up first (a write acknowledged to nobody, an earlier run that died), sends
every write with an `Idempotency-Key` derived from the claim id, and after a timeout or 5xx looks the document up
again before writing again.

Currency: the employee is reimbursed in HKD, so the bill is in HKD (CurrencyRate 1) with each line's original
amount, rate, rate date and source in its description. `bill_currency="original"` instead bills a claim whose
expenses share one foreign currency and rate in that currency; Xero's CurrencyRate is units of the foreign
currency per one unit of the base currency (HKD), so it is 1 / (HKD per unit), rounded to Xero's 6 decimals, and
Xero then works out the HKD amounts itself (possibly a cent away from ours: which is why HKD is the default).

Cash advances: a claim clearing one (Posting.advance) is billed in HKD with two more lines: the advance
receivable credited in full (a negative line on `advances_account`) and, when the claim came in under the
advance, the unused part debited to `employee_receivable_account` (the refund due from the employee); the bill then
owes the employee the claim less the advance, or nothing. A manual journal credits the advance receivable and the
employee's payable (what is still owed) and debits the receivable. The spec sets no minimum on a line's
UnitAmount, and the bill's total is never negative; whether Xero authorises a zero bill (an advance the claim
did not exceed) was not confirmed from here: `mode="manual_journal"` books that case without a bill.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from urllib.parse import quote

import requests
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.adapters.ledgers import openapi
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
from chalicelib.domain.fx_rates import BASE_CURRENCY
from chalicelib.domain.ledger_mapping import DEFAULT_EXPENSE_ACCOUNTS, Posting, PostingLine, ReceiptFile

log = logging.getLogger(__name__)

LEDGER = "xero"
API_URL = "https://api.xero.com/api.xro/2.0"
TOKEN_URL = "https://identity.xero.com/connect/token"  # noqa: S105 (an address, not a secret)
APP_URL = "https://go.xero.com"
XERO_RATE_PLACES = 6  # CurrencyRate: "max length = [18].[6]"


class XeroConfig(BaseModel):
    """A company's Xero set-up: what finance chooses, not what code knows."""

    tenant_id: str  # the `xero-tenant-id` of the organisation
    mode: Literal["bill", "manual_journal"] = "bill"
    expense_accounts: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_EXPENSE_ACCOUNTS))
    default_account: str = "6190"
    payable_account: str = "2150"  # employee reimbursements payable (the journal's credit line)
    advances_account: str = "1250"  # employee advances receivable: cleared by a claim settling a cash advance
    employee_receivable_account: str = "1260"  # what an employee owes back when the claim came in under the advance
    rounding_account: str = "6195"  # FX rounding: the difference between the claim total and its lines
    tax_types: dict[str, str] = Field(default_factory=dict)  # category -> Xero TaxType
    default_tax_type: str = "NONE"  # Hong Kong has no VAT/GST: Xero's "No Tax"
    tracking_category: str | None = "Cost Centre"  # the tracking category holding cost centres (None: untracked)
    #: the tracking category holding each line's profits tax tag (options below); None: the tag is written at the
    #: end of the line's description instead (Xero allows two tracking categories per organisation)
    profits_tax_tracking: str | None = None
    profits_tax_options: dict[str, str] = Field(default_factory=lambda: {"deductible": "Deductible",
                                                                          "non_deductible": "Non-deductible"})
    bill_status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] = "AUTHORISED"
    journal_status: Literal["DRAFT", "POSTED"] = "POSTED"
    due_days: int = Field(default=14, ge=0)
    bill_currency: Literal["HKD", "original"] = "HKD"
    contact_ids: dict[str, str] = Field(default_factory=dict)  # employee id -> Xero ContactID, when known
    api_url: str = API_URL
    token_url: str = TOKEN_URL
    app_url: str = APP_URL

    def account(self, category: str) -> str:
        return self.expense_accounts.get(category, self.default_account)

    def tax_type(self, category: str) -> str:
        return self.tax_types.get(category, self.default_tax_type)


# --- payloads (the JSON Xero reads), dumped with Decimal kept for dumps() ------------------------------------------
class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)

    def body(self) -> dict:
        return self.model_dump(mode="python", exclude_none=True)


class XeroTracking(_Payload):
    Name: str
    Option: str


class XeroContact(_Payload):
    ContactID: str | None = None
    Name: str | None = None


class XeroLineItem(_Payload):
    Description: str
    Quantity: Decimal = Decimal(1)
    UnitAmount: Decimal
    AccountCode: str
    TaxType: str
    Tracking: list[XeroTracking] | None = None


class XeroInvoice(_Payload):
    Type: Literal["ACCPAY"] = "ACCPAY"
    Contact: XeroContact
    Date: str
    DueDate: str
    InvoiceNumber: str
    LineAmountTypes: Literal["NoTax", "Exclusive", "Inclusive"] = "NoTax"
    CurrencyCode: str
    CurrencyRate: Decimal
    Status: str
    LineItems: list[XeroLineItem]


class XeroInvoices(_Payload):
    Invoices: list[XeroInvoice]


class XeroJournalLine(_Payload):
    LineAmount: Decimal  # debits positive, credits negative
    AccountCode: str
    Description: str
    TaxType: str
    Tracking: list[XeroTracking] | None = None


class XeroManualJournal(_Payload):
    Narration: str
    Date: str
    Status: str
    LineAmountTypes: Literal["NoTax"] = "NoTax"
    JournalLines: list[XeroJournalLine]


class XeroManualJournals(_Payload):
    ManualJournals: list[XeroManualJournal]


def narration(external_id: str) -> str:
    return f"Expense claim {external_id}"


def _tracking(config: XeroConfig, cost_centre: str | None,
              line: PostingLine | None = None) -> list[XeroTracking] | None:
    tracking = []
    if config.tracking_category and cost_centre:
        tracking.append(XeroTracking(Name=config.tracking_category, Option=cost_centre))
    if config.profits_tax_tracking and line is not None and line.profits_tax is not None:
        tracking.append(XeroTracking(Name=config.profits_tax_tracking,
                                     Option=config.profits_tax_options[line.profits_tax.code]))
    return tracking or None


def _text(config: XeroConfig, line: PostingLine) -> str:
    """The line's description; with its profits tax tag when no tracking category holds the tag."""
    return line.description if config.profits_tax_tracking else line.described(4000)


def _contact(config: XeroConfig, posting: Posting) -> XeroContact:
    """The employee's contact: by ContactID when finance mapped one; else by name with the employee id, because
    Xero matches a contact by Name and two employees called Chan Tai Man must not share one payable balance."""
    contact_id = config.contact_ids.get(posting.employee_id)
    if contact_id:
        return XeroContact(ContactID=contact_id)
    return XeroContact(Name=f"{posting.employee_name} ({posting.employee_id})"[:255])


def build_bill(posting: Posting, config: XeroConfig) -> XeroInvoices:
    """The claim as a bill owed to the employee: one line per expense, plus the rounding line when not zero."""
    foreign = {(line.original.currency, line.rate.hkd_per_unit) for line in posting.lines}
    if (config.bill_currency == "original" and posting.advance is None and len(foreign) == 1
            and next(iter(foreign))[0] != BASE_CURRENCY):
        currency, hkd_per_unit = next(iter(foreign))
        rate = (Decimal(1) / hkd_per_unit).quantize(Decimal(1).scaleb(-XERO_RATE_PLACES), rounding=ROUND_HALF_UP)
        items = [XeroLineItem(Description=_text(config, line), UnitAmount=line.original.amount,
                              AccountCode=config.account(line.category), TaxType=config.tax_type(line.category),
                              Tracking=_tracking(config, line.cost_centre, line)) for line in posting.lines]
    else:
        currency, rate = BASE_CURRENCY, Decimal(1)
        items = [XeroLineItem(Description=_text(config, line), UnitAmount=line.hkd.amount,
                              AccountCode=config.account(line.category), TaxType=config.tax_type(line.category),
                              Tracking=_tracking(config, line.cost_centre, line)) for line in posting.lines]
        if posting.rounding.amount:
            items.append(XeroLineItem(Description="FX rounding: claim total converted once",
                                      UnitAmount=posting.rounding.amount, AccountCode=config.rounding_account,
                                      TaxType=config.default_tax_type,
                                      Tracking=_tracking(config, posting.cost_centre)))
        items.extend(_advance_items(posting, config))
    due = posting.entry_date + timedelta(days=config.due_days)
    return XeroInvoices(Invoices=[XeroInvoice(
        Contact=_contact(config, posting), Date=posting.entry_date.isoformat(), DueDate=due.isoformat(),
        InvoiceNumber=posting.external_id, CurrencyCode=currency, CurrencyRate=rate, Status=config.bill_status,
        LineItems=items)])


def _advance_items(posting: Posting, config: XeroConfig) -> list[XeroLineItem]:
    """A claim clearing a cash advance: the advance receivable credited in full on the bill (a negative line), and
    the part of the advance the claim did not use debited to the employee receivable, so the bill owes the
    employee only what the claim exceeds the advance by (zero when it does not)."""
    a = posting.advance
    if a is None:
        return []
    items = [XeroLineItem(Description=a.cleared_text, UnitAmount=-a.advance.amount,
                          AccountCode=config.advances_account, TaxType=config.default_tax_type,
                          Tracking=_tracking(config, posting.cost_centre))]
    if a.recover_from_employee.amount:
        items.append(XeroLineItem(Description=a.recover_text, UnitAmount=a.recover_from_employee.amount,
                                  AccountCode=config.employee_receivable_account, TaxType=config.default_tax_type,
                                  Tracking=_tracking(config, posting.cost_centre)))
    return items


def build_manual_journal(posting: Posting, config: XeroConfig) -> XeroManualJournals:
    """The claim as a balanced HKD journal: each expense debited, the rounding line, the employee credited."""
    lines = [XeroJournalLine(LineAmount=line.hkd.amount, AccountCode=config.account(line.category),
                             Description=_text(config, line), TaxType=config.tax_type(line.category),
                             Tracking=_tracking(config, line.cost_centre, line)) for line in posting.lines]
    if posting.rounding.amount:
        lines.append(XeroJournalLine(LineAmount=posting.rounding.amount, AccountCode=config.rounding_account,
                                     Description="FX rounding: claim total converted once",
                                     TaxType=config.default_tax_type, Tracking=_tracking(config, posting.cost_centre)))
    tracking = _tracking(config, posting.cost_centre)
    if posting.owed.amount:
        lines.append(XeroJournalLine(LineAmount=-posting.owed.amount, AccountCode=config.payable_account,
                                     Description=f"Owed to employee {posting.employee_id}",
                                     TaxType=config.default_tax_type, Tracking=tracking))
    if posting.advance is not None:  # the advance receivable cleared; its unused part owed back by the employee
        lines.append(XeroJournalLine(LineAmount=-posting.advance.advance.amount, AccountCode=config.advances_account,
                                     Description=posting.advance.cleared_text, TaxType=config.default_tax_type,
                                     Tracking=tracking))
        if posting.advance.recover_from_employee.amount:
            lines.append(XeroJournalLine(LineAmount=posting.advance.recover_from_employee.amount,
                                         AccountCode=config.employee_receivable_account,
                                         Description=posting.advance.recover_text, TaxType=config.default_tax_type,
                                         Tracking=tracking))
    return XeroManualJournals(ManualJournals=[XeroManualJournal(
        Narration=narration(posting.external_id), Date=posting.entry_date.isoformat(),
        Status=config.journal_status, JournalLines=lines)])


def validated(payload: XeroInvoices | XeroManualJournals) -> dict:
    """The body, or PayloadInvalid naming every way it breaks the Xero Accounting spec."""
    component = "Invoices" if isinstance(payload, XeroInvoices) else "ManualJournals"
    body = payload.body()
    errors = openapi.load("xero_accounting").errors(component, body)
    if errors:
        raise PayloadInvalid(LEDGER, errors)
    return body


def rejection_messages(response: requests.Response) -> list[str]:
    """The vendor's words from a 4xx: each ValidationErrors message of a ValidationException, else its Message
    (or the problem-details Detail Xero's gateway answers with)."""
    try:
        body = loads(response.content)
    except ValueError:
        return [f"HTTP {response.status_code}: {response.text[:200]}"]
    if not isinstance(body, dict):
        return [f"HTTP {response.status_code}"]
    messages = [str(v.get("Message")) for element in body.get("Elements") or [] if isinstance(element, dict)
                for v in element.get("ValidationErrors") or [] if isinstance(v, dict) and v.get("Message")]
    return messages or [str(body.get("Message") or body.get("Detail") or f"HTTP {response.status_code}")]


class _Kind(BaseModel):
    name: str  # "bill" | "manual_journal"
    collection: str  # "Invoices" | "ManualJournals"
    id_field: str
    view: str  # the Xero page, {id} filled in


BILL = _Kind(name="bill", collection="Invoices", id_field="InvoiceID",
             view="/AccountsPayable/View.aspx?InvoiceID={id}")
JOURNAL = _Kind(name="manual_journal", collection="ManualJournals", id_field="ManualJournalID",
                view="/Journal/View.aspx?invoiceID={id}")


class XeroLedger:
    """The LedgerAdapter for Xero (see port.py)."""

    name = LEDGER
    books_advances = True

    def __init__(self, config: XeroConfig, http: LedgerHttp):
        self.config, self.http = config, http
        self.kind = BILL if config.mode == "bill" else JOURNAL

    @classmethod
    def connect(cls, config: XeroConfig, session: requests.Session, client_id: str, client_secret: str,
                store: TokenStore, *, policy: RetryPolicy | None = None, sleep: Sleep = time.sleep,
                clock: Clock = utcnow) -> XeroLedger:
        """The adapter wired to Xero (or to whatever `session` routes to: the fake, in tests)."""
        oauth = OAuth2Client(session, config.token_url, client_id, client_secret, store, ledger=LEDGER, clock=clock)
        http = LedgerHttp(LEDGER, session, config.api_url, oauth, policy=policy, sleep=sleep, clock=clock,
                          headers={"xero-tenant-id": config.tenant_id, "Accept": "application/json"})
        return cls(config, http)

    # --- the port ------------------------------------------------------------------------------------------------
    def build(self, posting: Posting) -> dict:
        payload = build_bill(posting, self.config) if self.kind is BILL else build_manual_journal(posting, self.config)
        return validated(payload)

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        body = dumps(self.build(posting)).encode()  # refused here, before any request, if it breaks the spec
        document = self.find(posting.external_id)
        if document is None:
            document = self._write(posting.external_id, body)
        return self._attach(document, receipts)

    def find(self, external_id: str) -> ExternalDocument | None:
        """The claim's document, if Xero holds one (deleted ones do not count; voided ones do: finance
        voided it on purpose, and posting it again is a person's decision)."""
        if self.kind is BILL:
            where = f'Type=="ACCPAY" AND InvoiceNumber=="{external_id}"'
        else:
            where = f'Narration=="{narration(external_id)}"'
        response = self.http.request("GET", f"/{self.kind.collection}", write=False, params={"where": where})
        found = [d for d in self._documents(response, "GET") if d.get("Status") != "DELETED"]
        if not found:
            return None
        if len(found) > 1:
            log.error("ledger holds a claim more than once", extra={"ledger": LEDGER, "external_id": external_id,
                                                                   "count": len(found)})
        return self._document(found[0], external_id)

    # --- the steps -----------------------------------------------------------------------------------------------
    def _write(self, external_id: str, body: bytes) -> ExternalDocument:
        key = f"{self.kind.name}-{external_id}"[:128]

        def put() -> ExternalDocument:
            response = self.http.request("PUT", f"/{self.kind.collection}", write=True, body=body,
                                         headers={"Content-Type": "application/json", "Idempotency-Key": key})
            document = self._document(self._documents(response, "PUT")[0], external_id)
            log.info("ledger document written", extra={"ledger": LEDGER, "external_id": external_id})
            return document

        return self.http.write_once(external_id, put, self.find)

    def _attach(self, document: ExternalDocument, receipts: Sequence[ReceiptFile]) -> ExternalDocument:
        """Each receipt not yet on the document, uploaded raw (Xero: PUT .../Attachments/{FileName})."""
        if not receipts:
            return document
        base = f"/{self.kind.collection}/{document.id}/Attachments"
        problems: list[str] = []
        held = {a.get("FileName") for a in self._json(self.http.request("GET", base, write=False), "GET")
                .get("Attachments") or []}
        for receipt in receipts:
            if receipt.file_name in held:
                continue
            digest = hashlib.sha256(receipt.content).hexdigest()[:16]
            path = f"{base}/{quote(receipt.file_name, safe='')}"
            headers = {"Content-Type": receipt.content_type, "Idempotency-Key": f"att-{document.id}-{digest}"}
            try:
                response = self.http.request("PUT", path, write=True, body=receipt.content, headers=headers)
                self._json(response, "PUT")
            except PostingRejected as refused:  # the document stands; the refusal is shown beside it
                log.warning("ledger refused an attachment", extra={"ledger": LEDGER, "status": refused.status,
                                                                   "external_id": document.external_id})
                problems.append(f"{receipt.file_name}: {'; '.join(refused.messages)}")
                continue
            except WriteOutcomeUnknown as unknown:
                raise LedgerUnavailable(f"{LEDGER} attachment {receipt.file_name} of {document.external_id}: "
                                        f"{unknown.detail}; the next try finds the document and attaches what "
                                        f"is missing") from unknown
            held.add(receipt.file_name)
        return document.model_copy(update={"attachments": tuple(sorted(n for n in held if n)),
                                           "attachment_errors": tuple(problems)})

    def _documents(self, response: requests.Response, method: str) -> list[dict]:
        documents = self._json(response, method).get(self.kind.collection)
        if not isinstance(documents, list):
            raise LedgerUnavailable(f"{LEDGER} answered {method} without {self.kind.collection}")
        return documents

    def _json(self, response: requests.Response, method: str) -> dict:
        status = response.status_code
        if status == 403:
            raise LedgerAuthFailed(f"{LEDGER} refused access ({'; '.join(rejection_messages(response))}): the "
                                   f"connection lacks the scope or the organisation")
        if 400 <= status < 500:
            raise PostingRejected(LEDGER, rejection_messages(response), status)
        if status != 200:
            raise LedgerUnavailable(f"{LEDGER} answered {method} with {status}")
        body = loads(response.content)
        if not isinstance(body, dict):
            raise LedgerUnavailable(f"{LEDGER} answered {method} with a body that is not an object")
        return body

    def _document(self, stored: Mapping, external_id: str) -> ExternalDocument:
        doc_id = str(stored[self.kind.id_field])
        return ExternalDocument(ledger=LEDGER, kind=self.kind.name, id=doc_id, external_id=external_id,
                                url=self.config.app_url + self.kind.view.format(id=doc_id))
