"""Real Amazon Textract AnalyzeExpense / GetExpenseAnalysis responses through the same parser and rules."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.extraction import ExtractionError, parse_textract_response
from chalicelib.extraction.textract_parse import parse_expense_response


def _load(textract_dir: Path, name: str) -> dict:
    return json.loads((textract_dir / name).read_text(encoding="utf-8"))


def test_textractor_receipt(textract_dir: Path) -> None:
    r = parse_textract_response(_load(textract_dir, "textractor_receipt.analyze_expense.json"))
    assert r.total == Decimal("1810.46")
    assert r.tax == Decimal("110.50")
    assert r.subtotal == Decimal("1699.96")
    assert r.vendor == "MEGA MARKET PLUS"
    assert r.currency == "USD"  # Textract's own Currency code on the field
    assert r.date == datetime.date(2019, 12, 7)  # a US receipt: month first
    assert not r.needs_review, r.review_reasons


def test_textractor_receipt_line_items(textract_dir: Path) -> None:
    parsed = parse_expense_response(_load(textract_dir, "textractor_receipt.analyze_expense.json"))
    assert len(parsed.line_items) == 4
    assert all(any(f.type == "PRICE" for f in item) for item in parsed.line_items)


def test_empty_summary_fields_needs_review(textract_dir: Path) -> None:
    resp = _load(textract_dir, "textractor_receipt_no_summary.analyze_expense.json")
    parsed = parse_expense_response(resp)
    assert parsed.summary_fields == []
    assert len(parsed.line_items) == 29
    r = parse_textract_response(resp)
    assert r.total is None and r.needs_review
    assert "no total found" in r.review_reasons


def test_multipage_get_expense_analysis(textract_dir: Path) -> None:
    r = parse_textract_response(_load(textract_dir, "trp_multipage.get_expense_analysis.json"))
    assert r.total == Decimal("5715.00")  # printed on page 2
    assert r.vendor == "META"  # "META\n-" cleaned
    assert r.date == datetime.date(2020, 3, 12)
    assert r.pages == 2


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("trp_default_invoice_1.analyze_expense.json", "6231.09"),
        ("trp_expense_sample1.analyze_expense.json", "50.00"),
        ("trp_expense_sample2.analyze_expense.json", "38.48"),
        ("trp_expense_sample3.analyze_expense.json", "60.00"),
        ("trp_expense_sample4.analyze_expense.json", "4544.65"),
    ],
)
def test_totals_of_sample_responses(textract_dir: Path, name: str, total: str) -> None:
    assert parse_textract_response(_load(textract_dir, name)).total == Decimal(total)


def test_default_invoice_date(textract_dir: Path) -> None:
    r = parse_textract_response(_load(textract_dir, "trp_default_invoice_1.analyze_expense.json"))
    assert r.date == datetime.date(2021, 1, 1)


def test_costco_vendor(textract_dir: Path) -> None:
    r = parse_textract_response(_load(textract_dir, "trp_expense_sample2.analyze_expense.json"))
    assert r.vendor_read == "costco"  # what the receipt prints; the vendor directory names the chain
    assert (r.vendor, r.vendor_id) == ("Costco", "costco")


def test_not_an_expense_response(textract_dir: Path) -> None:
    with pytest.raises(ExtractionError):
        parse_textract_response(_load(textract_dir, "textractor_single-page-1.detect_document_text.json"))


def test_cli_json_shape(textract_dir: Path) -> None:
    r = parse_textract_response(_load(textract_dir, "textractor_receipt.analyze_expense.json"))
    out = r.to_cli_json("x.json")
    assert set(out) >= {"file", "vendor", "date", "total", "tax", "currency", "confidence", "needs_review"}
    assert out["total"] == "1810.46" and out["date"] == "2019-12-07"
    assert set(out["confidence"]) == {"vendor", "date", "total", "tax", "currency"}
    assert all(0.0 <= v <= 1.0 for v in out["confidence"].values())
