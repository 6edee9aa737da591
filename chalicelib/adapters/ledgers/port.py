"""The port every ledger adapter serves, and the errors the posting use case reasons about.

It lives here until the posting service switches to it; then `LedgerAdapter` and the errors belong in
chalicelib/services/ports.py (and the errors in chalicelib/domain/errors.py), beside the old `Ledger` port.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.ledger_mapping import Posting, ReceiptFile


class ExternalDocument(BaseModel):
    """The ledger's document for a claim: stored on the claim so finance can open it."""

    model_config = ConfigDict(frozen=True)

    ledger: str  # "xero", "quickbooks", ...
    kind: str  # "bill", "manual_journal", ...
    id: str
    url: str
    external_id: str  # the claim id, as the ledger holds it
    attachments: tuple[str, ...] = ()  # file names the ledger holds for it
    attachment_errors: tuple[str, ...] = ()  # receipts the ledger refused (the document stands without them)


class LedgerError(Exception):
    """`retryable`: whether the queue should try again later (True) or the claim fails now (False)."""

    retryable = False


class PayloadInvalid(LedgerError):
    """Our payload breaks the vendor's published schema: refused before any request (a mapping bug)."""

    def __init__(self, ledger: str, errors: Sequence[str]):
        super().__init__(f"{ledger} payload does not match the vendor schema: " + "; ".join(errors[:5]))
        self.errors = list(errors)


class PostingRejected(LedgerError):
    """The ledger refused the document (a validation error): the claim fails with the vendor's message."""

    def __init__(self, ledger: str, messages: Sequence[str], status: int | None = None):
        super().__init__(f"{ledger} rejected the posting: " + "; ".join(messages))
        self.ledger, self.messages, self.status = ledger, list(messages), status


class LedgerAuthFailed(LedgerError):
    """The connection to the ledger needs a person (the refresh token was refused, or a fresh token is
    refused too): posting stops visibly until finance reconnects."""


class LedgerUnavailable(LedgerError):
    """Rate-limited, down or timing out beyond the retries allowed: the queue tries again later."""

    retryable = True


class LedgerAdapter(Protocol):
    name: str

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        """Books the posting once, whatever the retries: a document already holding the external id is
        returned (with any missing receipt attached), never written again."""
        ...

    def find(self, external_id: str) -> ExternalDocument | None: ...
