"""Receipt images for the pages: the exact version that was read, to whoever may read the expense, briefly."""

from __future__ import annotations

from chalicelib.domain.identity import Principal
from chalicelib.services.claims import NotFound, get_expense
from chalicelib.services.ports import BlobStore, ClaimStore, ExpenseStore

VIEW_SECONDS = 300  # long enough to look and zoom; a copied link stops working soon after


def receipt_url(principal: Principal, expenses: ExpenseStore, claims: ClaimStore, uploads: BlobStore,
                expense_id: str, seconds: int = VIEW_SECONDS) -> str:
    """A presigned GET of the version extraction read, under the expense's read rules (NotFound otherwise, so
    a stranger cannot tell which expense ids exist)."""
    expense, _ = get_expense(principal, expenses, claims, expense_id)
    if not expense.s3_key:
        raise NotFound(f"{expense_id} has no receipt image")
    return uploads.view_url(expense.s3_key, expense.s3_version_id, seconds)
