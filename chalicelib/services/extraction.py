"""Use case: a receipt object arrived in S3; read it and open (or fail) its claim, exactly once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.claim import Claim, ClaimStatus, LineItem
from chalicelib.domain.currencies import MAX_AMOUNT, is_currency
from chalicelib.domain.errors import AlreadyExists, ObjectTooLarge
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.extraction.models import ExtractedReceipt, ExtractionError
from chalicelib.intake.metadata import read_intake_metadata
from chalicelib.services.ports import BlobStore, ClaimStore, Directory
from chalicelib.services.uploads import UploadKey


class Extractor(Protocol):
    def __call__(self, data: bytes, filename: str) -> ExtractedReceipt: ...


class UnknownUploader(Exception):
    """The key names an employee the directory does not know: keep the event for a person (DLQ)."""


def process_upload(
    key: str,
    blobs: BlobStore,
    claims: ClaimStore,
    directory: Directory,
    extract: Extractor | Callable[[bytes, str], ExtractedReceipt],
    max_bytes: int,
    version_id: str | None = None,
) -> Claim:
    """`version_id`: the object version the S3 event names (AWS sends it for a versioned bucket; moto does not,
    and then the current version is read). The claim keeps the version it was read from."""
    parsed = UploadKey.parse(key)
    existing = claims.get(parsed.claim_id)
    if existing is not None and existing.status != ClaimStatus.UPLOADED:
        _audit_replacement(key, version_id, existing, blobs, claims, max_bytes)
        return existing  # a redelivered S3 event (the work is done), or a replaced receipt (audited)
    employee = directory.employee(parsed.employee_id)
    if employee is None:
        raise UnknownUploader(parsed.employee_id)
    department = directory.department(employee.department_id)

    head = blobs.head(key, version_id)
    version_id = head.get("VersionId") or version_id  # pinned: a later upload to the key cannot change it
    intake = read_intake_metadata(head.get("Metadata"))  # e-mailed receipts carry purpose, category, cost centre
    claim = existing or Claim(
        claim_id=parsed.claim_id,
        employee_id=employee.employee_id,
        department_id=employee.department_id,
        cost_centre=intake.get("cost_centre") or (department.cost_centre if department else None),
        purpose=intake.get("purpose", ""),
        category=intake.get("category") or "general",
        s3_key=key,
        s3_version_id=version_id,
        file_sha256="pending",
        content_type=head.get("ContentType"),
        file_size=int(head["ContentLength"]),
    )
    try:
        data = blobs.read(key, max_bytes, version_id)
    except ObjectTooLarge as exc:
        failed = _fail(claims, claim, existing, f"the file is too large ({exc}); the limit is {max_bytes} bytes")
        blobs.delete_version(key, version_id)  # nothing over the limit is kept
        claims.note(claim.claim_id, SYSTEM, "evidence.deleted", {
            "key": key, "version_id": version_id, "size_bytes": int(head["ContentLength"]),
            "reason": f"over the {max_bytes}-byte limit"})
        return failed
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
    except MemoryError:
        return _fail(claims, claim, claim, "the receipt needs more memory to read than is available; "
                                           "please upload a smaller photo or PDF")

    receipt = plausible(receipt)
    currency = receipt.currency or "HKD"
    fields = {
        "vendor": receipt.vendor,
        "receipt_date": receipt.date,
        "total": Money(amount=receipt.total, currency=currency) if receipt.total is not None else None,
        "tax": Money(amount=receipt.tax, currency=currency) if receipt.tax is not None else None,
        "line_items": [LineItem(description=line.description, amount=Money(amount=line.amount, currency=currency))
                       for line in receipt.line_items],
        "confidence": receipt.confidence,
        "review_reasons": list(receipt.review_reasons),
    }
    status = ClaimStatus.NEEDS_REVIEW if receipt.needs_review else ClaimStatus.EXTRACTED
    return claims.save(claim, claim.moved_to(status, **fields), SYSTEM, action=f"claim.{status.value}")


def plausible(receipt: ExtractedReceipt) -> ExtractedReceipt:
    """What OCR (or Textract) read, with amounts above MAX_AMOUNT and unknown currency codes taken out and the
    receipt sent to review with the reason: a misread must not break the claim (1e26 cannot be rounded to
    cents) nor stand as if it were read well."""
    reasons: list[str] = []
    update: dict = {}
    for name in ("total", "tax"):
        value = getattr(receipt, name)
        if value is not None and abs(value) > MAX_AMOUNT:
            update[name] = None
            reasons.append(f"the {name} read ({value}) is above {MAX_AMOUNT:,}: please enter it")
    if any(abs(line.amount) > MAX_AMOUNT for line in receipt.line_items):
        update["line_items"] = []
        reasons.append(f"a line item read is above {MAX_AMOUNT:,}: please enter the lines")
    if receipt.currency is not None and not is_currency(receipt.currency):
        update["currency"] = None
        reasons.append(f"the currency read ({receipt.currency}) is not an ISO 4217 code: HKD assumed, please check")
    if not reasons:
        return receipt
    return receipt.model_copy(update={**update, "needs_review": True,
                                      "review_reasons": [*receipt.review_reasons, *reasons]})


def _audit_replacement(key: str, version_id: str | None, claim: Claim, blobs: BlobStore, claims: ClaimStore,
                       max_bytes: int) -> None:
    """Another version under the claim's key (the upload form reused, a receipt swapped after it was read): the
    claim keeps the version it was read from, and the swap is recorded on its audit chain, once."""
    if claim.s3_version_id is None:
        return  # read before the bucket was versioned: nothing to compare
    head = blobs.head(key, version_id)
    new_version = head.get("VersionId") or version_id
    if new_version in (None, claim.s3_version_id):
        return  # the event of the version the claim was read from, delivered again
    if any(r.action == "evidence.replaced" and (r.after or {}).get("new_version_id") == new_version
           for r in claims.history(claim.claim_id)):
        return
    size = int(head["ContentLength"])
    new_sha256 = hashlib.sha256(blobs.read(key, max_bytes, new_version)).hexdigest() if size <= max_bytes else None
    claims.note(claim.claim_id, SYSTEM, "evidence.replaced", {
        "key": key, "claim_version_id": claim.s3_version_id, "claim_sha256": claim.file_sha256,
        "new_version_id": new_version, "new_sha256": new_sha256, "new_size_bytes": size,
        "kept": "the claim stays on the version it was read from"})


def _fail(claims: ClaimStore, claim: Claim, stored: Claim | None, reason: str) -> Claim:
    if stored is None:
        claims.create(claim, SYSTEM, action="claim.uploaded")
    failed = claim.moved_to(ClaimStatus.FAILED, failure_reason=reason)
    return claims.save(claim, failed, SYSTEM, action="claim.failed")
