"""Use case: the state machine asks who must approve this claim."""

from __future__ import annotations

from chalicelib.domain.routing import Route, RoutingError, route_claim
from chalicelib.services.ports import ClaimStore, Directory


def route(claim_id: str, claims: ClaimStore, directory: Directory) -> Route:
    claim = claims.get(claim_id)
    if claim is None:
        raise RoutingError(f"claim {claim_id} does not exist")
    claimant = directory.employee(claim.employee_id)
    department = directory.department(claim.department_id)
    if claimant is None or department is None:
        raise RoutingError(f"claim {claim_id}: claimant or department missing from the directory")
    policy = directory.policy()
    if claim.total is None:
        raise RoutingError(f"claim {claim_id} has no total")
    return route_claim(claim, claimant, department, policy.rules, policy.fx.to_hkd(claim.total).amount,
                       policy.approval_timeout_seconds, directory.employee, policy.top_approver_id)
