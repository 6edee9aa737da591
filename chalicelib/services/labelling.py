"""Employees' corrections become labelled data: the receipt and its truth, in DESIGN.md's folder format.

When an employee corrects the vendor, date, total, currency or tax extraction read on a receipt, the receipt
is copied to `labelled/<expense_id><ext>` with `labelled/<expense_id>.json` beside it, in the uploads
bucket (same region, same encryption). `bench.extraction --data` can read a downloaded copy of the folder, so
the OCR rules are measured against the receipts that fooled them.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from chalicelib.domain.expense import Expense, ExpenseStatus
from chalicelib.services.ports import BlobStore

FIELDS = ("vendor", "date", "total", "currency", "tax")


def truth(expense: Expense) -> dict:
    """DESIGN.md's label fields, taken from the expense's approver view (the one definition of what it says)."""
    seen = expense.view()
    return {"vendor": seen["vendor"], "date": seen["date"], "total": seen["total"], "currency": seen["currency"],
            "tax": str(expense.tax.quantized().amount) if expense.tax else None}


def corrected_fields(extracted: Expense, submitted: Expense) -> list[str]:
    before, after = truth(extracted), truth(submitted)
    return [f for f in FIELDS if before[f] != after[f]]


def record_corrections(blobs: BlobStore, extracted: Expense, submitted: Expense) -> list[str]:
    """Write the labelled pair when the employee corrected anything extraction read; returns those fields."""
    if not submitted.s3_key or extracted.status not in (ExpenseStatus.EXTRACTED, ExpenseStatus.NEEDS_REVIEW):
        return []
    fields = corrected_fields(extracted, submitted)
    if not fields:
        return []
    name = submitted.expense_id
    ext = PurePosixPath(submitted.s3_key).suffix.lower() or ".jpg"
    blobs.copy(submitted.s3_key, f"labelled/{name}{ext}", submitted.s3_version_id)  # the version that was read
    label = {**truth(submitted), "corrected": fields, "source_key": submitted.s3_key}
    blobs.put(f"labelled/{name}.json", json.dumps(label, ensure_ascii=False).encode(), "application/json")
    return fields
