"""Employees' corrections become labelled data: the receipt and its truth, in DESIGN.md's folder format.

When an employee submits a claim whose vendor, date, total, currency or tax differ from what extraction read,
the receipt is copied to `labelled/<claim_id><ext>` with `labelled/<claim_id>.json` beside it, in the uploads
bucket (same region, same encryption). `bench.extraction --data` can read a downloaded copy of the folder, so
the OCR rules are measured against the receipts that fooled them.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from chalicelib.domain.claim import Claim
from chalicelib.services.ports import BlobStore

FIELDS = ("vendor", "date", "total", "currency", "tax")


def truth(claim: Claim) -> dict:
    """DESIGN.md's label fields, taken from the approver view (the one definition of what a claim says)."""
    seen = claim.approver_view()
    return {"vendor": seen["vendor"], "date": seen["date"], "total": seen["total"], "currency": seen["currency"],
            "tax": str(claim.tax.quantized().amount) if claim.tax else None}


def corrected_fields(extracted: Claim, submitted: Claim) -> list[str]:
    before, after = truth(extracted), truth(submitted)
    return [f for f in FIELDS if before[f] != after[f]]


def record_corrections(blobs: BlobStore, extracted: Claim, submitted: Claim) -> list[str]:
    """Write the labelled pair when the employee corrected anything; returns the corrected fields."""
    fields = corrected_fields(extracted, submitted)
    if not fields:
        return []
    ext = PurePosixPath(submitted.s3_key).suffix.lower() or ".jpg"
    blobs.copy(submitted.s3_key, f"labelled/{submitted.claim_id}{ext}", submitted.s3_version_id)  # what was read
    label = {**truth(submitted), "corrected": fields, "source_key": submitted.s3_key}
    blobs.put(f"labelled/{submitted.claim_id}.json", json.dumps(label, ensure_ascii=False).encode(),
              "application/json")
    return fields
