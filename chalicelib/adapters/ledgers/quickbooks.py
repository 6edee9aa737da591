"""QuickBooks Online: an approved claim as a Bill (AccountBasedExpenseLineDetail lines) to the employee's vendor
record, validated against Intuit's V3 XSDs (xsd.py) before anything is sent.

This step builds and validates the payload only; the HTTP client (requestid idempotency, OAuth 2.0 refresh at
Intuit's token endpoint, the Fault error shape, the query by DocNumber) and its fake are the next step, on the
same LedgerHttp loop the Xero adapter uses.

Where the claim id goes: `DocNumber` (the bill's "Reference no."), which QBO limits to 21 characters. A claim id
that fits is used as it is; a longer one (c-<32 hex>) becomes "EC" + 19 hex characters of its SHA-256, the same
every time, so a retry can query `select * from Bill where DocNumber = '...'`; the full claim id is in PrivateNote.
The employee must be a QBO vendor (bills are to vendors): finance maps employee ids to vendor ids, and an
unmapped employee is refused with a message saying so, before any request.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.adapters.ledgers.port import PayloadInvalid, PostingRejected
from chalicelib.adapters.ledgers.xsd import quickbooks_errors
from chalicelib.domain.fx_rates import BASE_CURRENCY
from chalicelib.domain.ledger_mapping import Posting

LEDGER = "quickbooks"
DOC_NUMBER_MAX = 21  # Intuit V3 XSD, Transaction.DocNumber: "The maximum length for DocNumber is 21 characters"


class QuickBooksConfig(BaseModel):
    """A company's QBO set-up. QBO refers to accounts, classes, departments and tax codes by their ids."""

    realm_id: str
    expense_accounts: dict[str, str]  # category -> Account Id
    default_account: str
    rounding_account: str
    ap_account: str | None = None  # the payable account (Account Id); None: the company's default A/P
    vendor_ids: dict[str, str] = Field(default_factory=dict)  # employee id -> Vendor Id
    cost_centres_as: Literal["class", "department", "none"] = "class"
    class_ids: dict[str, str] = Field(default_factory=dict)  # cost centre -> Class Id
    department_ids: dict[str, str] = Field(default_factory=dict)  # cost centre -> Department Id
    tax_code: str | None = None  # TaxCodeRef for every line (None: no tax codes; Hong Kong has no sales tax)
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
    used = {line.cost_centre for line in posting.lines} | ({posting.cost_centre} if posting.rounding.amount else set())
    missing = sorted(c for c in used if c and config.cost_centres_as == "class" and c not in config.class_ids)
    if missing:
        raise PostingRejected(LEDGER, [f"cost centre {c} has no QuickBooks class mapped" for c in missing])
    lines = [_line(line.hkd.amount, line.description, config.account(line.category), line.cost_centre, config)
             for line in posting.lines]
    if posting.rounding.amount:
        lines.append(_line(posting.rounding.amount, "FX rounding: claim total converted once",
                           config.rounding_account, posting.cost_centre, config))
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
