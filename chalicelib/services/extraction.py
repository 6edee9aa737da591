"""Use case: a receipt object arrived in S3; read it and open (or fail) its claim, exactly once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from chalicelib.adapters.aws import BlobStore, ObjectTooLarge
from chalicelib.adapters.repositories import AlreadyExists, ClaimRepository, DirectoryRepository
from chalicelib.domain.claim import Claim, ClaimStatus, LineItem
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.extraction.models import ExtractedReceipt, ExtractionError
from chalicelib.intake.metadata import read_intake_metadata
from chalicelib.services.uploads import UploadKey


class Extractor(Protocol):
    def __call__(self, data: bytes, filename: str) -> ExtractedReceipt: ...


class UnknownUploader(Exception):
    """The key names an employee the directory does not know: keep the event for a person (DLQ)."""


def process_upload(
    key: str,
    blobs: BlobStore,
    claims: ClaimRepository,
    directory: DirectoryRepository,
    extract: Extractor | Callable[[bytes, str], ExtractedReceipt],
    max_bytes: int,
) -> Claim:
    parsed = UploadKey.parse(key)
    existing = claims.get(parsed.claim_id)
    if existing is not None and existing.status != ClaimStatus.UPLOADED:
        return existing  # a redelivered S3 event: the work is done
    employee = directory.employee(parsed.employee_id)
    if employee is None:
        raise UnknownUploader(parsed.employee_id)
    department = directory.department(employee.department_id)

    head = blobs.head(key)
    intake = read_intake_metadata(head.get("Metadata"))  # e-mailed receipts carry purpose, category, cost centre
    claim = existing or Claim(
        claim_id=parsed.claim_id,
        employee_id=employee.employee_id,
        department_id=employee.department_id,
        cost_centre=intake.get("cost_centre") or (department.cost_centre if department else None),
        purpose=intake.get("purpose", ""),
        category=intake.get("category") or "general",
        s3_key=key,
        file_sha256="pending",
        content_type=head.get("ContentType"),
        file_size=int(head["ContentLength"]),
    )
    try:
        data = blobs.read(key, max_bytes)
    except ObjectTooLarge as exc:
        return _fail(claims, claim, existing, f"the file is too large ({exc}); the limit is {max_bytes} bytes")
    claim = claim.model_copy(update={"file_sha256": hashlib.sha256(data).hexdigest()})
    if existing is None:
        try:
            claims.create(claim, SYSTEM, action="claim.uploaded")
        except AlreadyExists:
            return claims.get(parsed.claim_id) or claim

    try:
        receipt = extract(data, parsed.name)
    except ExtractionError as exc:
        return _fail(claims, claim, claim, exc.reason)

    fields = {
        "vendor": receipt.vendor,
        "receipt_date": receipt.date,
        "total": Money(amount=receipt.total, currency=receipt.currency or "HKD") if receipt.total is not None else None,
        "tax": Money(amount=receipt.tax, currency=receipt.currency or "HKD") if receipt.tax is not None else None,
        "line_items": [LineItem(description=line.description, amount=Money(amount=line.amount,
                                                                          currency=receipt.currency or "HKD"))
                       for line in receipt.line_items],
        "confidence": receipt.confidence,
        "review_reasons": list(receipt.review_reasons),
    }
    status = ClaimStatus.NEEDS_REVIEW if receipt.needs_review else ClaimStatus.EXTRACTED
    return claims.save(claim, claim.moved_to(status, **fields), SYSTEM, action=f"claim.{status.value}")


def _fail(claims: ClaimRepository, claim: Claim, stored: Claim | None, reason: str) -> Claim:
    if stored is None:
        claims.create(claim, SYSTEM, action="claim.uploaded")
    failed = claim.moved_to(ClaimStatus.FAILED, failure_reason=reason)
    return claims.save(claim, failed, SYSTEM, action="claim.failed")
