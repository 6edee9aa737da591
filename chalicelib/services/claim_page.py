"""What the claim page reads besides the claim itself: its timeline (who did what, who holds it now and since
when, in names from the directory) and its totals with HKD equivalents. The claim's own read rules apply: anyone
who may not read the claim gets the same "not found" as for a claim that does not exist."""

from __future__ import annotations

from functools import cache

from chalicelib.domain.claim import EDITABLE
from chalicelib.domain.identity import Principal
from chalicelib.domain.timeline import Person, build_timeline, valued_totals
from chalicelib.services.claims import get_claim
from chalicelib.services.ports import ClaimStore, Directory, LinkStore


def people(directory: Directory):
    """A lookup of employee id -> name and department, each person read once per answer."""

    @cache
    def person(employee_id: str) -> Person:
        employee = directory.employee(employee_id)
        if employee is None:
            return Person()
        department = directory.department(employee.department_id)
        return Person(name=employee.name, department=department.name if department else None)

    return person


def claim_timeline(principal: Principal, claims: ClaimStore, links: LinkStore, directory: Directory,
                   claim_id: str) -> dict:
    claim = get_claim(principal, claims, claim_id)  # NotFound for a claim the principal may not read
    pending = links.get(claim.pending_link_id) if claim.pending_link_id else None
    timeline = build_timeline(claim, claims.history(claim_id), pending, people(directory))
    policy = directory.policy()
    editable = claim.status in EDITABLE and claim.employee_id == principal.employee_id
    out = {**timeline.model_dump(mode="json"), "totals": valued_totals(claim, policy.fx).model_dump(mode="json"),
           "editable": editable}
    if editable:  # what the line forms offer: the policy's vehicles and per-diem destinations
        out["allowances"] = {"vehicles": [r.vehicle for r in policy.allowances.mileage],
                             "destinations": [r.destination for r in policy.allowances.per_diem]}
    return out
