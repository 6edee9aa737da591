"""Signed approval links: bound to approver, claim, step and claim content, expiring, single use.

The signature proves the link came from us; single use and content freshness are checked against stored
state by the approval service, because a signature alone cannot know a link was already used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

from pydantic import BaseModel, Field, ValidationError


class LinkRefused(Exception):
    """A link that must not be honoured; `reason` is safe to show to the person who opened it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SignInRequired(Exception):
    """Step-up: this claim is decided only in the approver's own signed-in session, never by the link alone."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotLinkHolder(Exception):
    """A signed-in caller presented someone else's approval link (admins included: they reassign, not decide)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StoredLink(BaseModel):
    """A waiting approval step as the service keeps it: the task token behind a link, and who may use it.

    `holder` is who the link was sent to (the approver, or their delegate); `on_behalf_of` the approver a
    delegate stands in for. `route_approvers` are the approvers of the claim's other steps: a delegate or a
    reassigned approver must not be one of them (one person signs at most one step of a claim)."""

    link_id: str
    claim_id: str
    level: int
    approver_id: str
    task_token: str
    content_hash: str
    state: str = "pending"  # pending | used | returned | void
    expires_epoch: int
    role: str = "approver"
    on_behalf_of: str | None = None
    reminder_execution: str | None = None
    route_approvers: list[str] = Field(default_factory=list)

    @property
    def designated(self) -> str:
        """The approver the policy chose for the step (the delegator when a delegate holds the link)."""
        return self.on_behalf_of or self.approver_id

    def claims(self) -> LinkClaims:
        return LinkClaims(link_id=self.link_id, claim_id=self.claim_id, approver_id=self.approver_id,
                          level=self.level, content_hash=self.content_hash, exp=self.expires_epoch,
                          on_behalf_of=self.on_behalf_of)


class LinkClaims(BaseModel):
    link_id: str
    claim_id: str
    approver_id: str
    level: int
    content_hash: str
    exp: int  # epoch seconds, UTC
    on_behalf_of: str | None = None  # the delegating approver, when a delegate holds the link


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(claims: LinkClaims, key: bytes) -> str:
    payload = _b64(json.dumps(claims.model_dump(), sort_keys=True).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify_link(token: str, key: bytes, now: datetime | None = None) -> LinkClaims:
    now = now or datetime.now(UTC)
    try:
        payload, mac = token.split(".")
        expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise LinkRefused("this approval link is not genuine")
        claims = LinkClaims.model_validate_json(_unb64(payload))
    except (ValueError, ValidationError) as exc:
        raise LinkRefused("this approval link is not genuine") from exc
    if claims.exp < int(now.timestamp()):
        raise LinkRefused("this approval link has expired; a reminder with a fresh link will follow")
    return claims
