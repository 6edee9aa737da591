"""An approved claim on its way to the books, the general-journal rows it became, and reconciliation.

A `PostingRecord` is written when the approval flow hands the claim to the posting queue (`queued`), and
rewritten by the posting worker when the ledger answers (`posted`, with the document) or refuses (`failed`, with
the ledger's message). Records are kept per period: the Hong Kong month the claim was approved in. So for any
month, finance sees what was approved, what reached which ledger, and why the rest did not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.advance import ADVANCES_ACCOUNT, EMPLOYEE_RECEIVABLE
from chalicelib.domain.ledger_mapping import DEFAULT_EXPENSE_ACCOUNTS, Posting

HK = timezone(timedelta(hours=8))
PAYABLE_ACCOUNT = "2150"  # employee reimbursements payable (as chalicelib.domain.ledger.EMPLOYEE_PAYABLE)
ROUNDING_ACCOUNT = "6195"  # FX rounding line
JOURNAL_CSV_HEADER = ("date", "journal_id", "account", "cost_centre", "debit", "credit", "currency",
                      "original_amount", "rate", "rate_date", "source", "description", "profits_tax", "tax_rule")


#: a ledger's name in the words finance reads (EN, 繁中), as the finance page's catalog spells them
LEDGER_NAMES: Mapping[str, tuple[str, str]] = {
    "internal": ("this system's journal", "本系統日記賬"),
    "journal_csv": ("the general journal (CSV)", "總日記賬（CSV）"),
    "xero": ("Xero", "Xero"), "quickbooks": ("QuickBooks Online", "QuickBooks Online"),
    "netsuite": ("Oracle NetSuite", "Oracle NetSuite"), "yonyou": ("Yonyou", "用友")}


def period_of(at: datetime) -> str:
    """The Hong Kong month of an instant, "YYYY-MM"."""
    return at.astimezone(HK).strftime("%Y-%m")


def check_period(text: str) -> str:
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError):
        raise ValueError(f"period {text!r} is not a month like 2026-11") from None
    return parsed.strftime("%Y-%m")


class PostingState(StrEnum):
    QUEUED = "queued"
    POSTED = "posted"
    FAILED = "failed"


class JournalRow(BaseModel):
    """One row of the general journal (the `journal_csv` ledger's export, and what any posting booked)."""

    model_config = ConfigDict(frozen=True)

    entry_date: date
    journal_id: str
    account: str
    cost_centre: str | None
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    currency: str
    original_amount: Decimal
    rate: Decimal
    rate_date: date
    source: str
    description: str
    profits_tax: str = ""  # expense lines: deductible | non_deductible (domain/ledger_tax.py); else empty
    tax_rule: str = ""  # the rule that decided and its section, "s16-1-business IRO s.16(1)"

    def cells(self) -> list[str]:
        return [self.entry_date.isoformat(), self.journal_id, self.account, self.cost_centre or "",
                f"{self.debit:.2f}", f"{self.credit:.2f}", self.currency, str(self.original_amount),
                str(self.rate), self.rate_date.isoformat(), self.source, self.description, self.profits_tax,
                self.tax_rule]


def journal_rows(posting: Posting, journal_id: str, accounts: Mapping[str, str] = DEFAULT_EXPENSE_ACCOUNTS,
                 payable: str = PAYABLE_ACCOUNT, rounding: str = ROUNDING_ACCOUNT) -> list[JournalRow]:
    """Each line debited to its category's account in HKD with its original amount, rate and profits tax tag;
    a rounding line when the lines and the total differ; the employee credited the total, or, when the claim
    clears a cash advance, the advance receivable credited in full with the employee credited what the claim
    exceeds it by or debited (employee receivable) what it did not use. Debits == credits (Posting checks)."""
    rows = [JournalRow(entry_date=posting.entry_date, journal_id=journal_id,
                       account=accounts.get(line.category, accounts.get("general", "6190")),
                       cost_centre=line.cost_centre, debit=line.hkd.amount, currency=line.original.currency,
                       original_amount=line.original.amount, rate=line.rate.hkd_per_unit,
                       rate_date=line.rate.rate_date, source=line.rate.source, description=line.description,
                       profits_tax=line.profits_tax.code if line.profits_tax else "",
                       tax_rule=f"{line.profits_tax.rule_id} {line.profits_tax.section}" if line.profits_tax else "")
            for line in posting.lines]
    if posting.rounding.amount:
        amount = posting.rounding.amount
        rows.append(JournalRow(entry_date=posting.entry_date, journal_id=journal_id, account=rounding,
                               cost_centre=posting.cost_centre, debit=max(amount, Decimal(0)),
                               credit=max(-amount, Decimal(0)), currency="HKD", original_amount=abs(amount),
                               rate=Decimal(1), rate_date=posting.entry_date, source="rounding",
                               description=f"FX rounding, {posting.description}"))
    def other_side(account: str, amount: Decimal, side: str, source: str, text: str) -> JournalRow:
        return JournalRow(entry_date=posting.entry_date, journal_id=journal_id, account=account,
                          cost_centre=posting.cost_centre, currency="HKD", original_amount=amount, rate=Decimal(1),
                          rate_date=posting.entry_date, source=source, description=text, **{side: amount})

    a = posting.advance
    if a is None:
        rows.append(other_side(payable, posting.total.amount, "credit", "claim total", posting.description))
        return rows
    # a cash advance: its receivable cleared in full, the employee owed the rest or owing back the unused part
    rows.append(other_side(ADVANCES_ACCOUNT, a.advance.amount, "credit", "cash advance", a.cleared_text))
    if a.pay_employee.amount:
        rows.append(other_side(payable, a.pay_employee.amount, "credit", "claim total less advance",
                               posting.description))
    if a.recover_from_employee.amount:
        rows.append(other_side(EMPLOYEE_RECEIVABLE, a.recover_from_employee.amount, "debit", "cash advance",
                               a.recover_text))
    return rows


def journal_csv(rows: Iterable[JournalRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(JOURNAL_CSV_HEADER)
    for row in rows:
        writer.writerow([_safe_cell(c) for c in row.cells()])
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula is quoted with an apostrophe (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and not _number(value)) \
        else value


def _number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True


class PostingRecord(BaseModel):
    claim_id: str
    period: str
    ledger: str
    state: PostingState = PostingState.QUEUED
    version: int = 0
    employee_id: str
    department_id: str | None = None  # the claim's: finance reads its own department's records
    approved_hkd: Decimal | None = None  # the claim's HKD value as approved (its valuation at submission)
    posted_hkd: Decimal | None = None  # what the ledger booked (dated rates, rounding line included)
    document_id: str | None = None
    document_url: str | None = None
    reason: str | None = None  # failed: the ledger's message
    attempts: int = 0
    queued_at: datetime
    updated_at: datetime
    journal: list[JournalRow] = Field(default_factory=list)  # the rows booked (the journal CSV reads them)
    finance_told_at: datetime | None = None  # failed or dead-lettered: when finance was sent the reason

    @field_validator("queued_at", "updated_at", "finance_told_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return value.astimezone(UTC)


# --- reconciliation -------------------------------------------------------------------------------------------
class Difference(BaseModel):
    claim_id: str
    ledger: str
    kind: str  # not_posted | failed | amount_differs
    reason: str
    approved_hkd: Decimal | None
    posted_hkd: Decimal | None
    finance_told_at: datetime | None = None  # when finance was sent this reason (failed, dead-lettered)


class LedgerFigures(BaseModel):
    ledger: str
    approved: int = 0
    posted: int = 0
    failed: int = 0
    waiting: int = 0
    approved_hkd: Decimal = Decimal("0.00")
    posted_hkd: Decimal = Decimal("0.00")


class Reconciliation(BaseModel):
    period: str
    ledgers: list[LedgerFigures]
    differences: list[Difference]


def reconcile(period: str, records: Iterable[PostingRecord], now: datetime, max_attempts: int) -> Reconciliation:
    """Approved (every claim handed to posting in the period) vs posted vs failed, per ledger; every claim not
    posted, or posted at another HKD amount than approved, listed with its reason."""
    figures: dict[str, LedgerFigures] = {}
    differences: list[Difference] = []
    for rec in sorted(records, key=lambda r: (r.ledger, r.claim_id)):
        f = figures.setdefault(rec.ledger, LedgerFigures(ledger=rec.ledger))
        f.approved += 1
        f.approved_hkd += rec.approved_hkd or Decimal(0)
        if rec.state == PostingState.POSTED:
            f.posted += 1
            f.posted_hkd += rec.posted_hkd or Decimal(0)
            if rec.approved_hkd is not None and rec.posted_hkd is not None and rec.posted_hkd != rec.approved_hkd:
                differences.append(Difference(
                    claim_id=rec.claim_id, ledger=rec.ledger, kind="amount_differs",
                    reason=f"booked at the dated rates of posting: HKD {rec.posted_hkd:,.2f} against HKD "
                           f"{rec.approved_hkd:,.2f} valued at submission",
                    approved_hkd=rec.approved_hkd, posted_hkd=rec.posted_hkd))
        elif rec.state == PostingState.FAILED:
            f.failed += 1
            differences.append(Difference(claim_id=rec.claim_id, ledger=rec.ledger, kind="failed",
                                          reason=rec.reason or "the ledger refused it", approved_hkd=rec.approved_hkd,
                                          posted_hkd=None, finance_told_at=rec.finance_told_at))
        else:
            f.waiting += 1
            hours = max(0, int((now - rec.queued_at).total_seconds() // 3600))
            if rec.attempts >= max_attempts:
                why = (f"not posted after {rec.attempts} attempts: in the posting dead-letter queue "
                       f"({rec.reason or 'the ledger was unavailable'})")
            elif rec.attempts:
                why = f"waiting to be retried ({rec.attempts} attempts so far: {rec.reason or 'ledger unavailable'})"
            else:
                why = f"in the posting queue for {hours} hours"
            differences.append(Difference(claim_id=rec.claim_id, ledger=rec.ledger, kind="not_posted", reason=why,
                                          approved_hkd=rec.approved_hkd, posted_hkd=None,
                                          finance_told_at=rec.finance_told_at))
    return Reconciliation(period=period, ledgers=[figures[k] for k in sorted(figures)], differences=differences)


RECONCILIATION_CSV_HEADER = ("period", "ledger", "claim_id", "difference", "reason", "approved_hkd", "posted_hkd",
                             "finance_told_at")


def reconciliation_csv(rec: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("period", "ledger", "approved", "posted", "failed", "waiting", "approved_hkd", "posted_hkd"))
    for f in rec.ledgers:
        writer.writerow((rec.period, f.ledger, f.approved, f.posted, f.failed, f.waiting, f"{f.approved_hkd:.2f}",
                         f"{f.posted_hkd:.2f}"))
    writer.writerow(())
    writer.writerow(RECONCILIATION_CSV_HEADER)
    for d in rec.differences:
        writer.writerow([_safe_cell(str(c)) for c in (
            rec.period, d.ledger, d.claim_id, d.kind, d.reason,
            "" if d.approved_hkd is None else f"{d.approved_hkd:.2f}",
            "" if d.posted_hkd is None else f"{d.posted_hkd:.2f}",
            "" if d.finance_told_at is None else d.finance_told_at.isoformat())])
    return out.getvalue()
