"""Where the ledger adapters import their port from: `LedgerAdapter` and `ExternalDocument` live in
chalicelib/services/ports.py and the errors in chalicelib/domain/errors.py; this module re-exports them."""

from __future__ import annotations

from chalicelib.domain.errors import (
    LedgerAuthFailed,
    LedgerError,
    LedgerUnavailable,
    PayloadInvalid,
    PostingRejected,
)
from chalicelib.services.ports import ExternalDocument, LedgerAdapter

__all__ = ["ExternalDocument", "LedgerAdapter", "LedgerAuthFailed", "LedgerError", "LedgerUnavailable",
           "PayloadInvalid", "PostingRejected"]
