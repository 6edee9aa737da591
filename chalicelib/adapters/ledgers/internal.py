"""The two ledgers this system keeps itself, behind the same port as Xero and QuickBooks.

- `internal`: the balanced HKD journal in the `ledger` table (what posting always did); a claim clearing a cash
  advance books the advance's settlement (Posting.advance; chalicelib/domain/posting_record.journal_rows) in place
  of the employee credit.
- `journal_csv`: for a company on none of the four ledgers. The journal is kept the same way (so a retry finds it
  and it is booked once), and finance downloads the month's general journal as CSV (`GET /finance/journal.csv`,
  rendered from the posting records, which carry each row with its original amount, rate, rate date and source).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from chalicelib.domain.ledger import JournalEntry, JournalLine
from chalicelib.domain.ledger_mapping import Posting, ReceiptFile
from chalicelib.domain.posting_record import journal_rows
from chalicelib.services.ports import ExternalDocument


class JournalStore(Protocol):
    """adapters.repositories.LedgerStore: `post` is idempotent (a second post returns the entry on the books)."""

    def post(self, entry: JournalEntry) -> JournalEntry: ...

    def get(self, journal_id: str) -> JournalEntry | None: ...


def journal_id_for(external_id: str) -> str:
    return f"JE-{external_id}"


class JournalLedger:
    books_advances = True
    attaches_receipts = False  # the receipts stay in the uploads bucket, linked from the claim

    def __init__(self, store: JournalStore, name: str = "internal"):
        if name not in ("internal", "journal_csv"):
            raise ValueError(f"unknown journal ledger {name!r}")
        self.store, self.name = store, name

    def entry_for(self, posting: Posting) -> JournalEntry:
        journal_id = journal_id_for(posting.external_id)
        lines = [JournalLine(account=row.account, cost_centre=row.cost_centre, debit_hkd=row.debit,
                             credit_hkd=row.credit, description=row.description[:300],
                             original_amount=row.original_amount, original_currency=row.currency)
                 for row in journal_rows(posting, journal_id)]
        return JournalEntry(journal_id=journal_id, claim_id=posting.external_id, entry_date=posting.entry_date,
                            lines=lines)

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        entry = self.store.post(self.entry_for(posting))
        return self._document(entry)

    def find(self, external_id: str) -> ExternalDocument | None:
        entry = self.store.get(journal_id_for(external_id))
        return None if entry is None else self._document(entry)

    def _document(self, entry: JournalEntry) -> ExternalDocument:
        return ExternalDocument(ledger=self.name, kind="journal", id=entry.journal_id,
                                url=f"/finance/journal.csv?period={entry.entry_date:%Y-%m}",
                                external_id=entry.claim_id)


class MemoryJournalStore:
    def __init__(self) -> None:
        self.entries: dict[str, JournalEntry] = {}
        self.writes = 0

    def post(self, entry: JournalEntry) -> JournalEntry:
        if entry.journal_id not in self.entries:
            self.writes += 1
        return self.entries.setdefault(entry.journal_id, entry)

    def get(self, journal_id: str) -> JournalEntry | None:
        return self.entries.get(journal_id)

    def hkd_booked(self) -> Decimal:
        return sum((line.debit_hkd for e in self.entries.values() for line in e.lines), Decimal(0))
