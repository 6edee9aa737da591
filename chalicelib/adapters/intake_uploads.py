"""The e-mail intake's ``ClaimsStarter`` port over the uploads bucket: the normal S3 -> extraction path makes the
claim, so an e-mailed receipt and a browser upload share every step after the bucket."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import BlobStore
from chalicelib.domain.expense import new_expense_id
from chalicelib.intake.metadata import encode_metadata
from chalicelib.services.uploads import safe_filename


class UploadsBucketStarter:
    """Writes each receipt as ``receipts/<employee>/<expense_id>/<name>``; a replay writes nothing."""

    def __init__(self, blobs: BlobStore):
        self._blobs = blobs

    def __call__(self, employee_id: str, filename: str, content_type: str, data: bytes, purpose: str,
                 category: str | None, cost_centre: str | None, source_key: str, *,
                 expense_id: str | None = None, claim_hint: str | None = None) -> str:
        expense_id = expense_id or new_expense_id()
        key = f"receipts/{employee_id}/{expense_id}/{safe_filename(filename)}"
        if self._exists(key):  # a replay: the object (and its event) already exist; no second event
            return expense_id
        # one PutObject, metadata included: S3 sends ObjectCreated once the whole object exists, so the extraction
        # always sees the purpose and cost centre
        self._blobs.put(key, data, content_type,
                        metadata=encode_metadata(purpose, category, cost_centre, source_key, claim_hint))
        return expense_id

    def _exists(self, key: str) -> bool:
        try:
            self._blobs.head(key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
