"""What every approval use case works with: the ports, the link key and the clock, passed as one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.domain.approval_link import StoredLink, sign_link
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.services.claimant_updates import ClaimantUpdates
from chalicelib.services.ports import AuditTrail, ClaimStore, Directory, LinkStore, Notifier, Signer, WorkflowEngine

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApprovalContext:
    claims: ClaimStore
    directory: Directory
    links: LinkStore
    notifier: Notifier
    workflow: WorkflowEngine
    audit: AuditTrail
    signer: Signer
    reminders: WorkflowEngine
    link_key: bytes
    base_url: str
    link_ttl_seconds: int
    now: Callable[[], datetime] = field(default=_utcnow)
    claimants: ClaimantUpdates | None = None  # tells the employee a claim came back to them


def link_token(ctx: ApprovalContext, link: StoredLink) -> str:
    """The signed token of a stored step; signing is deterministic, so it is the one the message carried."""
    return sign_link(link.claims(), ctx.link_key)


def link_url(ctx: ApprovalContext, link: StoredLink) -> str:
    return f"{ctx.base_url}/approvals/{link_token(ctx, link)}"


def open_steps(ctx: ApprovalContext, links: list[StoredLink]) -> list[tuple[StoredLink, Claim]]:
    """The links among `links` that their claim is still waiting on (not superseded, not decided), with it."""
    out = []
    for link in links:
        claim = ctx.claims.get(link.claim_id)
        if claim is not None and claim.status == ClaimStatus.IN_APPROVAL and claim.pending_link_id == link.link_id:
            out.append((link, claim))
    return out


def start_reminders(ctx: ApprovalContext, link: StoredLink, delay_seconds: int = 0, attempt: int = 0) -> None:
    """The SMS -> voice ladder for one link runs as its own execution (Wait states carry the timing)."""
    name = f"remind-{link.link_id}" + (f"-r{attempt}" if attempt else "")
    ctx.reminders.start(name, {"link_id": link.link_id, "delay_seconds": delay_seconds})
    ctx.links.set_reminder_execution(link, name)


def stop_reminders(ctx: ApprovalContext, link: StoredLink | None, cause: str) -> None:
    """Best effort by design: a ladder that could not be stopped ends itself, because every reminder first
    checks that its link is still pending. A decision must never fail because a reminder was not stopped."""
    if link is None or not link.reminder_execution:
        return
    try:
        ctx.reminders.stop(link.reminder_execution, cause)
    except Exception:  # noqa: BLE001 (logged; see the docstring)
        log.warning("could not stop reminders %s; they will stop at their next step", link.reminder_execution,
                    exc_info=True)
