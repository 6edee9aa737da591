"""Separation of duties: one person signs at most one step of a claim, as themself or as a delegate.

The same rule decides who may hold a step's link (a delegate, a reassigned approver) and who may sign it, so a
delegation or a reassignment can never let someone act beyond what the policy would accept at that step.
"""

from __future__ import annotations

from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Employee

# Steps whose signer must also hold the finance role (the second signature and the finance review).
FINANCE_STEPS = frozenset({"second_signer", "finance_review"})


def signers_by_level(claim: Claim) -> dict[int, set[str]]:
    """Who has put their name to each approved level: the person who signed and whom they signed for."""
    out: dict[int, set[str]] = {}
    for d in claim.decisions:
        if d.decision == "approved":
            out.setdefault(d.level, set()).update(p for p in (d.approver_id, d.on_behalf_of) if p)
    return out


def other_signers(claim: Claim, level: int) -> set[str]:
    return set().union(*(people for lvl, people in signers_by_level(claim).items() if lvl != level))


def refusal(person_id: str, claim: Claim, level: int, other_step_approvers: list[str] | set[str]) -> str | None:
    """Why `person_id` may not sign step `level` of `claim`, or None when they may."""
    if person_id == claim.employee_id:
        return "nobody may approve their own claim"
    if person_id in claim.subjects:
        return f"{person_id} is named in this claim and cannot approve it"
    if person_id in other_signers(claim, level):
        return f"{person_id} has already signed another step of this claim; one person signs one step"
    if person_id in other_step_approvers:
        return f"{person_id} must sign another step of this claim; one person signs one step"
    return None


def role_refusal(person: Employee | None, step_role: str) -> str | None:
    """Whether the directory gives `person` the standing the step needs (approver; finance for finance steps)."""
    if person is None:
        return "not in the company directory"
    if "approver" not in person.roles:
        return f"{person.employee_id} is not an approver"
    if step_role in FINANCE_STEPS and "finance" not in person.roles:
        return f"{person.employee_id} is not in finance and cannot sign a {step_role.replace('_', ' ')} step"
    return None
