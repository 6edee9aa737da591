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
