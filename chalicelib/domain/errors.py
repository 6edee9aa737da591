"""Errors the use cases reason about, whatever the storage: adapters translate theirs into these."""

from __future__ import annotations


class ConcurrentChange(Exception):
    """Someone else changed the claim (or its audit chain) first; re-read and decide again."""


class AlreadyExists(Exception):
    """The record was created before (a redelivered event): the first one stands."""


class LinkAlreadyUsed(Exception):
    """An approval link left `pending` (decided, returned, replaced) before this caller could use it."""


class ExecutionAlreadyStarted(Exception):
    """A workflow execution of that name exists already (the same submission, delivered twice)."""


class ObjectTooLarge(Exception):
    """A stored file is over the size the use case may read (a receipt over the upload limit)."""


class InvalidClaim(ValueError):
    """The claim's (or an expense's) content is not acceptable (a negative amount, a missing total...)."""


# --- ledger posting (the LedgerAdapter port in chalicelib/services/ports.py raises these) ------------------------
class LedgerError(Exception):
    """`retryable`: whether the queue should try again later (True) or the claim fails now (False)."""

    retryable = False


class PayloadInvalid(LedgerError):
    """Our payload breaks the vendor's published schema: refused before any request (a mapping bug)."""

    def __init__(self, ledger: str, errors: list[str] | tuple[str, ...]):
        super().__init__(f"{ledger} payload does not match the vendor schema: " + "; ".join(list(errors)[:5]))
        self.errors = list(errors)


class PostingRejected(LedgerError):
    """The ledger refused the document (a validation error): the claim fails with the vendor's message."""

    def __init__(self, ledger: str, messages: list[str] | tuple[str, ...], status: int | None = None):
        super().__init__(f"{ledger} rejected the posting: " + "; ".join(messages))
        self.ledger, self.messages, self.status = ledger, list(messages), status


class LedgerAuthFailed(LedgerError):
    """The connection to the ledger needs a person (the refresh token was refused, or a fresh token is
    refused too): posting stops visibly until finance reconnects."""


class LedgerUnavailable(LedgerError):
    """Rate-limited, down or timing out beyond the retries allowed: the queue tries again later."""

    retryable = True
