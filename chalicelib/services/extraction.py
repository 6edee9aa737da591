"""Use case: a receipt object arrived in S3; read it into an expense (or fail it with a reason), exactly once.

The expense arrives unattached; when the upload form or the e-mail's subject named one of the employee's draft
(or returned) claims, it joins that claim at once, and otherwise waits in the employee's unattached expenses.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.categories import category_from_vendor
from chalicelib.domain.claim import EDITABLE, Claim
from chalicelib.domain.currencies import MAX_AMOUNT, is_currency
from chalicelib.domain.errors import AlreadyExists, ConcurrentChange, InvalidClaim, ObjectTooLarge
from chalicelib.domain.expense import Expense, ExpenseStatus, LineItem, ReceiptRegion
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.extraction.models import ExtractedReceipt, ExtractionError
from chalicelib.intake.metadata import read_intake_metadata
from chalicelib.services.ports import BlobStore, ClaimStore, Directory, ExpenseStore
from chalicelib.services.uploads import UploadKey

#: uuid5 namespace of the expenses split off a multi-receipt file (fixed forever: retries must give the same ids).
SPLIT_NAMESPACE = uuid.UUID("3b8f5c1e-6d2a-5f4b-9c7e-1a2b3c4d5e6f")


class Extractor(Protocol):
    def __call__(self, data: bytes, filename: str) -> ExtractedReceipt: ...


class UnknownUploader(Exception):
    """The key names an employee the directory does not know: keep the event for a person (DLQ)."""


def process_upload(
    key: str,
    blobs: BlobStore,
    expenses: ExpenseStore,
    claims: ClaimStore,
    directory: Directory,
    extract: Extractor | Callable[[bytes, str], ExtractedReceipt],
    max_bytes: int,
    version_id: str | None = None,
) -> Expense:
    """`version_id`: the object version the S3 event names (AWS sends it for a versioned bucket; moto does not,
    and then the current version is read). The expense keeps the version it was read from."""
    parsed = UploadKey.parse(key)
    existing = _current(parsed.expense_id, expenses, claims)
    if existing is not None and existing.status != ExpenseStatus.UPLOADED:
        for held in [existing, *_other_parts(existing, expenses, claims)]:
            _audit_replacement(key, version_id, held, blobs, expenses, claims, max_bytes)
        return existing  # a redelivered S3 event (the work is done), or a replaced receipt (audited)
    employee = directory.employee(parsed.employee_id)
    if employee is None:
        raise UnknownUploader(parsed.employee_id)

    head = blobs.head(key, version_id)
    version_id = head.get("VersionId") or version_id  # pinned: a later upload to the key cannot change it
    intake = read_intake_metadata(head.get("Metadata"))  # e-mailed receipts carry purpose, category, cost centre
    expense = existing or Expense(
        expense_id=parsed.expense_id,
        employee_id=employee.employee_id,
        cost_centre=intake.get("cost_centre"),
        description=intake.get("purpose", "")[:500],
        category=intake.get("category") or "general",
        claim_hint=intake.get("claim"),
        s3_key=key,
        s3_version_id=version_id,
        content_type=head.get("ContentType"),
        file_size=int(head["ContentLength"]),
    )
    try:
        data = blobs.read(key, max_bytes, version_id)
    except ObjectTooLarge as exc:
        failed = _fail(expenses, expense, existing, f"the file is too large ({exc}); the limit is {max_bytes} bytes")
        blobs.delete_version(key, version_id)  # nothing over the limit is kept
        expenses.note(expense.expense_id, SYSTEM, "evidence.deleted", {
            "key": key, "version_id": version_id, "size_bytes": int(head["ContentLength"]),
            "reason": f"over the {max_bytes}-byte limit"})
        return failed
    expense = expense.model_copy(update={"file_sha256": hashlib.sha256(data).hexdigest()})
    if existing is None:
        try:
            expenses.create(expense, SYSTEM, action="expense.uploaded")
        except AlreadyExists:
            return _current(parsed.expense_id, expenses, claims) or expense

    try:
        receipt = extract(data, parsed.name)
    except ExtractionError as exc:
        return _fail(expenses, expense, expense, exc.reason)
    except MemoryError:
        return _fail(expenses, expense, expense, "the receipt needs more memory to read than is available; "
                                                 "please upload a smaller photo or PDF")

    if len(receipt.parts) > 1:
        return _split(key, expense, receipt.parts, expenses, claims)
    read = _read(expense, receipt)
    read = expenses.save(expense, read, SYSTEM, action=f"expense.{read.status.value}")
    return join_named_claim(read, expenses, claims)


def part_expense_id(expense_id: str, part: int) -> str:
    """The id of receipt ``part`` (1, 2…) of the file uploaded as ``expense_id``: the same on every retry."""
    return "e-" + uuid.uuid5(SPLIT_NAMESPACE, f"{expense_id}#{part}").hex


def _other_parts(expense: Expense, expenses: ExpenseStore, claims: ClaimStore) -> list[Expense]:
    """The other receipts a split file became (parts 1, 2… of the upload's own expense, part 0), so a file
    replaced after the split is recorded on every claim that holds one of its receipts, not only the first."""
    if expense.source_part != 0:
        return []
    found = []
    while (part := _current(part_expense_id(expense.expense_id, len(found) + 1), expenses, claims)) is not None:
        found.append(part)
    return found


def _split(key: str, expense: Expense, parts: list[ExtractedReceipt], expenses: ExpenseStore,
           claims: ClaimStore) -> Expense:
    """One expense per receipt of the file. The others are written first, each complete, so a retry after a
    crash finds them (AlreadyExists) and the upload's own expense, saved last, is what marks the work done."""
    others = []
    for index, part in enumerate(parts[1:], start=1):
        sibling = expense.model_copy(update={"expense_id": part_expense_id(expense.expense_id, index), "version": 0})
        sibling = _read(sibling, part, index)
        try:
            expenses.create(sibling, SYSTEM, action=f"expense.{sibling.status.value}")
        except AlreadyExists:
            sibling = expenses.get(sibling.expense_id) or sibling
        others.append(sibling)
    first = _read(expense, parts[0], 0)
    first = expenses.save(expense, first, SYSTEM, action=f"expense.{first.status.value}")
    expenses.note(expense.expense_id, SYSTEM, "expense.split", {
        "key": key, "receipts": len(parts), "expense_ids": [expense.expense_id, *(o.expense_id for o in others)],
        "pages": [p.source_page for p in parts]})
    for sibling in others:
        join_named_claim(sibling, expenses, claims)
    return join_named_claim(first, expenses, claims)


def _read(expense: Expense, receipt: ExtractedReceipt, part: int | None = None) -> Expense:
    """The expense with what was read of its receipt (``part``: which receipt of a file holding several)."""
    receipt = plausible(receipt)
    currency = receipt.currency or "HKD"
    status = ExpenseStatus.NEEDS_REVIEW if receipt.needs_review else ExpenseStatus.EXTRACTED
    region = receipt.source_region
    return expense.changed(
        source_part=part,
        source_page=receipt.source_page if part is not None else None,
        source_region=ReceiptRegion(**region.model_dump()) if part is not None and region is not None else None,
        status=status,
        vendor=receipt.vendor,
        receipt_date=receipt.date,
        total=Money(amount=receipt.total, currency=currency) if receipt.total is not None else None,
        tax=Money(amount=receipt.tax, currency=currency) if receipt.tax is not None else None,
        receipt_no=receipt.receipt_no[:64] if receipt.receipt_no else None,
        receipt_time=receipt.receipt_time,
        city=receipt.city,
        image_hash=receipt.image_hash,
        text_hash=receipt.text_hash,
        line_items=[LineItem(description=line.description, amount=Money(amount=line.amount, currency=currency))
                    for line in receipt.line_items],
        confidence=receipt.confidence,
        review_reasons=list(receipt.review_reasons),
        # what the upload or e-mail named wins; else the vendor's name suggests one (the employee can change it)
        category=(expense.category if expense.category != "general"
                  else category_from_vendor(receipt.vendor) or "general"),
    )


def _current(expense_id: str, expenses: ExpenseStore, claims: ClaimStore) -> Expense | None:
    """The expense wherever it is: unattached, or inside the claim that holds it, or the receipt of a one-receipt
    claim stored before the expenses table (its key names the claim; it is indexed on the claim's next write), so
    an old event delivered again cannot make a second expense of it."""
    found = expenses.get(expense_id)
    if found is not None:
        return found
    ref = expenses.locate(expense_id)
    if ref is None or ref.claim_id is None:
        legacy = claims.get(expense_id) if expense_id.startswith("c-") else None
        return legacy.expense(expense_id) if legacy is not None and legacy.layout == "receipt" else None
    claim = claims.get(ref.claim_id)
    return claim.expense(expense_id) if claim else None


def named_claim(hint: str, candidates: list[Claim]) -> Claim | None:
    """The draft or returned claim a subject line or form names, by its id or its title (繁/简/English alike,
    case and width folded); None when it names none, or more than one."""
    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold().strip()

    wanted = fold(hint)
    open_claims = [c for c in candidates if c.status in EDITABLE]
    by_id = [c for c in open_claims if c.claim_id in hint]
    if by_id:
        return by_id[0]
    titled = [c for c in open_claims if c.title and fold(c.title) in wanted]
    return titled[0] if len(titled) == 1 else None


def join_named_claim(expense: Expense, expenses: ExpenseStore, claims: ClaimStore) -> Expense:
    """Attach a freshly read receipt to the claim its upload named; when that cannot be done (no such open
    claim, or the claim is full or moved on), it stays unattached and its audit trail says why."""
    if not expense.claim_hint:
        return expense
    claim = named_claim(expense.claim_hint, claims.by_employee(expense.employee_id))
    if claim is None:
        expenses.note(expense.expense_id, SYSTEM, "expense.not_attached",
                      {"reason": "no draft claim of yours matches the name given", "hint": expense.claim_hint})
        return expense
    try:
        joined = claim.moved_to(claim.status, **claim.with_expenses([*claim.expenses, expense]))
        claims.save(claim, joined, SYSTEM, action="claim.expense_added")
    except (ConcurrentChange, InvalidClaim) as exc:
        expenses.note(expense.expense_id, SYSTEM, "expense.not_attached",
                      {"reason": str(exc) or "the claim changed meanwhile", "claim_id": claim.claim_id})
        return expense
    return expense


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


def _audit_replacement(key: str, version_id: str | None, expense: Expense, blobs: BlobStore,
                       expenses: ExpenseStore, claims: ClaimStore, max_bytes: int) -> None:
    """Another version under the expense's key (the upload form reused, a receipt swapped after it was read):
    the expense keeps the version it was read from, and the swap is recorded once, on the chain of whatever
    holds the expense now (its claim, or the expense itself while unattached)."""
    if expense.s3_version_id is None:
        return  # read before the bucket was versioned: nothing to compare
    head = blobs.head(key, version_id)
    new_version = head.get("VersionId") or version_id
    if new_version in (None, expense.s3_version_id):
        return  # the event of the version the expense was read from, delivered again
    ref = expenses.locate(expense.expense_id)
    claim_id = ref.claim_id if ref else None
    history = claims.history(claim_id) if claim_id else expenses.history(expense.expense_id)
    if any(r.action == "evidence.replaced" and (r.after or {}).get("new_version_id") == new_version
           for r in history):
        return
    size = int(head["ContentLength"])
    new_sha256 = hashlib.sha256(blobs.read(key, max_bytes, new_version)).hexdigest() if size <= max_bytes else None
    details = {"key": key, "expense_id": expense.expense_id, "claim_version_id": expense.s3_version_id,
               "claim_sha256": expense.file_sha256, "new_version_id": new_version, "new_sha256": new_sha256,
               "new_size_bytes": size, "kept": "the expense stays on the version it was read from"}
    if claim_id:
        claims.note(claim_id, SYSTEM, "evidence.replaced", details)
    else:
        expenses.note(expense.expense_id, SYSTEM, "evidence.replaced", details)


def _fail(expenses: ExpenseStore, expense: Expense, stored: Expense | None, reason: str) -> Expense:
    if stored is None:
        expenses.create(expense, SYSTEM, action="expense.uploaded")
    failed = expense.changed(status=ExpenseStatus.FAILED, failure_reason=reason)
    return expenses.save(expense, failed, SYSTEM, action="expense.failed")
