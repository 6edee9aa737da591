"""Use case: an employee asks where to upload a receipt; the expense id is fixed now and lives in the key."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, Field

from chalicelib.domain.expense import new_expense_id
from chalicelib.domain.identity import Principal

ACCEPTED_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
}
# e-<hex>: an expense; c-<hex>: a receipt uploaded when one receipt was one claim (its expense keeps that id)
KEY_PATTERN = re.compile(
    r"^receipts/(?P<employee_id>[A-Za-z0-9_-]+)/(?P<expense_id>[ce]-[0-9a-f]{32})/(?P<name>[^/]+)$")


class UploadRefused(ValueError):
    pass


class UploadRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content_type: str
    size_bytes: int = Field(gt=0)
    claim_id: str | None = Field(default=None, pattern=r"^c-[0-9a-f]{32}$")  # a draft claim to add it to


class UploadKey(BaseModel):
    employee_id: str
    expense_id: str
    name: str

    @classmethod
    def parse(cls, key: str) -> UploadKey:
        match = KEY_PATTERN.match(key)
        if not match:
            raise UploadRefused(f"object key {key!r} is not a receipt upload key")
        return cls(**match.groupdict())


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "receipt"
    return cleaned[:100]


def plan_upload(principal: Principal, request: UploadRequest, max_bytes: int) -> tuple[str, str]:
    """(expense_id, object key) for an accepted request; refuses what extraction could never read."""
    if request.content_type not in ACCEPTED_TYPES:
        raise UploadRefused(
            f"{request.content_type} is not accepted; upload a JPEG, PNG, HEIC photo or a PDF"
        )
    if request.size_bytes > max_bytes:
        raise UploadRefused(
            f"the file is {request.size_bytes / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB"
        )
    expense_id = new_expense_id()
    return expense_id, f"receipts/{principal.employee_id}/{expense_id}/{safe_filename(request.filename)}"
