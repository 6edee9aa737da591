"""Who must approve a claim, decided from the directory and the amount, never hard-coded per person."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.policy import Policy


class RoutingError(Exception):
    """No eligible approver: the claim must go to an admin, not silently through."""


class ApprovalStep(BaseModel):
    level: int
    role: str  # department_head | second_signer
    approver_id: str


class Route(BaseModel):
    steps: list[ApprovalStep]
    second_signer_required: bool
    approval_timeout_seconds: int


def _first_eligible(
    candidate_id: str | None, claimant_id: str, taken: set[str], lookup: Callable[[str], Employee | None]
) -> str:
    """Walk up the manager chain until someone other than the claimant (and earlier signers) is found."""
    seen: set[str] = set()
    while candidate_id and candidate_id not in seen:
        seen.add(candidate_id)
        if candidate_id != claimant_id and candidate_id not in taken:
            return candidate_id
        person = lookup(candidate_id)
        candidate_id = person.manager_id if person else None
    raise RoutingError(f"no eligible approver above {claimant_id}")


def route_claim(
    claim: Claim,
    claimant: Employee,
    department: Department,
    policy: Policy,
    lookup: Callable[[str], Employee | None],
) -> Route:
    if claim.total is None:
        raise RoutingError("a claim without a total cannot be routed")
    head = _first_eligible(department.head_id, claimant.employee_id, set(), lookup)
    steps = [ApprovalStep(level=1, role="department_head", approver_id=head)]
    hkd = policy.fx.to_hkd(claim.total)
    second = hkd.amount > policy.second_signer_threshold_hkd
    if second:
        signer = _first_eligible(department.finance_controller_id, claimant.employee_id, {head}, lookup)
        steps.append(ApprovalStep(level=2, role="second_signer", approver_id=signer))
    return Route(
        steps=steps, second_signer_required=second, approval_timeout_seconds=policy.approval_timeout_seconds
    )
