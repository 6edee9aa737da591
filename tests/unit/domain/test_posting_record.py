"""The general journal rows a posting becomes, the CSV files finance downloads, and the policy-table fallback."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.fx_rates import FxRate, RateBook, RateNotFound, StaleRate
from chalicelib.domain.money import FxTable
from chalicelib.domain.posting_record import JOURNAL_CSV_HEADER, check_period, journal_csv, journal_rows
from chalicelib.domain.rate_source import POLICY_TABLE_SOURCE, RatesWithPolicyFallback
from tests.unit.adapters.test_xero import make_posting
from tests.unit.services.test_ledger_posting import LOADED


def test_the_journal_books_each_line_the_rounding_and_the_employee_and_balances():
    rows = journal_rows(make_posting(rounding="-0.01"), "JE-c-7f3a")
    assert [(r.account, r.debit, r.credit) for r in rows] == [
        ("6110", Decimal("1.02"), 0), ("6110", Decimal("1.02"), 0), ("6130", Decimal("1.02"), 0),
        ("6140", Decimal("88.00"), 0), ("6195", 0, Decimal("0.01")), ("2150", 0, Decimal("91.05"))]
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    usd = rows[0]
    assert (usd.currency, usd.original_amount, usd.rate, usd.rate_date, usd.source) == (
        "USD", Decimal("0.13"), Decimal("7.8155"), date(2026, 11, 27), "HKMA er-eeri-daily")


def test_the_journal_csv_has_the_columns_finance_imports_and_no_cell_runs_as_a_formula():
    posting = make_posting()
    evil = posting.model_copy(update={"lines": [posting.lines[0].model_copy(update={"description": "=HYPERLINK(1)"}),
                                                *posting.lines[1:]]})
    table = list(csv.reader(io.StringIO(journal_csv(journal_rows(evil, "JE-1")))))
    assert tuple(table[0]) == JOURNAL_CSV_HEADER
    assert table[1][JOURNAL_CSV_HEADER.index("description")] == "'=HYPERLINK(1)"
    assert table[1][JOURNAL_CSV_HEADER.index("debit")] == "1.02"


@pytest.mark.parametrize("text", ["2026-13", "2026/11", "", "11-2026"])
def test_a_period_is_a_month(text):
    with pytest.raises(ValueError):
        check_period(text)


def _book(*rates: FxRate) -> RatesWithPolicyFallback:
    return RatesWithPolicyFallback(RateBook(rates), FxTable(hkd_per_unit={"USD": Decimal("7.8")}))


def test_the_policy_table_stands_in_only_where_no_dated_rate_exists():
    book = _book(FxRate(currency="USD", rate_date=date(2026, 11, 2), hkd_per_unit="7.81", source="HKMA",
                        loaded_by="E300", loaded_at=LOADED))
    dated = book.rate_for("USD", date(2026, 11, 3))
    assert (dated.hkd_per_unit, dated.source) == (Decimal("7.81"), "HKMA")
    fallback = _book().rate_for("USD", date(2026, 11, 3))
    assert (fallback.hkd_per_unit, fallback.source, fallback.rate_date) == (Decimal("7.8"), POLICY_TABLE_SOURCE,
                                                                             date(2026, 11, 3))
    with pytest.raises(StaleRate):  # a dated rate that is too old is not silently replaced
        book.rate_for("USD", date(2026, 11, 30))
    with pytest.raises(RateNotFound):  # neither a dated rate nor a policy one
        _book().rate_for("EUR", date(2026, 11, 3))
