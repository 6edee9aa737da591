"""Who must approve a claim: rules as data (the company's policy), people from the directory.

Each rule says when it applies (category, amount in HKD, risk) and which role must sign. The route is the
rules' roles in order, each resolved to a person who is neither the claimant nor a subject of the claim nor
an earlier signer of this claim, walking up the manager chain when needed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.money import DEFAULT_FX, FxTable

Requirement = Literal["line_manager", "department_head", "second_signer", "finance_review"]


class RoutingError(Exception):
    """No eligible approver: the claim must go to an admin, not silently through."""


class RoutingRule(BaseModel):
    name: str
    require: Requirement
    categories: list[str] | None = None  # applies only to these categories
    amount_hkd_over: Decimal | None = None  # applies only above this HKD amount (the claim's total)
    per_head_hkd_over: Decimal | None = None  # applies when one expense (of `categories`) is above this a head
    risk_at_least: float | None = None  # applies only at or above this anomaly score

    def applies(self, category: str, amount_hkd: Decimal, risk: float) -> bool:
        if self.categories is not None and category not in self.categories:
            return False
        if self.amount_hkd_over is not None and amount_hkd <= self.amount_hkd_over:
            return False
        return self.risk_at_least is None or risk >= self.risk_at_least

    def applies_to(self, claim: Claim, amount_hkd: Decimal, fx: FxTable) -> bool:
        """Against the claim's HKD total and its expenses' categories; a per-head rule looks at each expense."""
        risk = claim.risk_score or 0.0
        if self.per_head_hkd_over is None:
            return any(self.applies(category, amount_hkd, risk) for category in claim.categories)
        for expense in claim.expenses:
            if expense.total is None or not self.applies(expense.category, amount_hkd, risk):
                continue
            if fx.to_hkd(expense.total).amount / (expense.attendees or 1) > self.per_head_hkd_over:
                return True
        return False


def default_rules(second_signer_threshold_hkd: Decimal = Decimal("5000")) -> list[RoutingRule]:
    return [
        RoutingRule(name="line manager approves every claim", require="line_manager"),
        RoutingRule(name="entertainment always needs the department head", require="department_head",
                    categories=["entertainment"]),
        RoutingRule(name="department head above HK$2,000", require="department_head", amount_hkd_over=Decimal("2000")),
        RoutingRule(name="department head for meals above HK$800 a head", require="department_head",
                    categories=["meals"], per_head_hkd_over=Decimal("800")),
        RoutingRule(name="second signature above the threshold", require="second_signer",
                    amount_hkd_over=second_signer_threshold_hkd),
        RoutingRule(name="finance reviews high-risk claims", require="finance_review", risk_at_least=0.7),
    ]


class ApprovalStep(BaseModel):
    level: int
    role: str
    approver_id: str
    rule: str = ""


class Route(BaseModel):
    steps: list[ApprovalStep]
    count: int
    second_signer_required: bool
    approval_timeout_seconds: int


def first_eligible(
    candidate_id: str | None, excluded: set[str], lookup: Callable[[str], Employee | None]
) -> str:
    """Walk up the manager chain until someone not excluded is found."""
    seen: set[str] = set()
    start = candidate_id
    while candidate_id and candidate_id not in seen:
        seen.add(candidate_id)
        if candidate_id not in excluded:
            return candidate_id
        person = lookup(candidate_id)
        candidate_id = person.manager_id if person else None
    raise RoutingError(f"no eligible approver above {start}")


def _candidate(requirement: Requirement, claimant: Employee, department: Department) -> str | None:
    return {
        "line_manager": claimant.manager_id or department.head_id,
        "department_head": department.head_id,
        "second_signer": department.finance_controller_id,
        "finance_review": department.finance_reviewer_id or department.finance_controller_id,
    }[requirement]


def route_claim(
    claim: Claim,
    claimant: Employee,
    department: Department,
    rules: list[RoutingRule],
    amount_hkd: Decimal,
    approval_timeout_seconds: int,
    lookup: Callable[[str], Employee | None],
    top_approver_id: str | None = None,
    fx: FxTable | None = None,
) -> Route:
    """`top_approver_id` (the policy's, e.g. the audit committee chair) signs where the chain above the claimant
    has nobody eligible: the top of the company claims too, and such a claim must not simply fail."""
    excluded = {claimant.employee_id, *claim.subjects}
    steps: list[ApprovalStep] = []
    for rule in rules:
        if not rule.applies_to(claim, amount_hkd, fx or DEFAULT_FX):
            continue
        candidate = _candidate(rule.require, claimant, department)
        signers = {s.approver_id for s in steps}
        same_person_ok = rule.require in ("line_manager", "department_head")
        name = rule.name
        try:  # a second signature must come from a different person
            approver = first_eligible(candidate, excluded if same_person_ok else excluded | signers, lookup)
        except RoutingError:
            if top_approver_id is None or top_approver_id in excluded or (
                    top_approver_id in signers and not same_person_ok):
                raise
            approver, name = top_approver_id, f"{rule.name} (nobody eligible above: the policy's top approver)"
        if approver in signers:
            continue  # the line manager is the head: one signature covers both rules
        steps.append(ApprovalStep(level=len(steps) + 1, role=rule.require, approver_id=approver, rule=name))
    if not steps:
        raise RoutingError("no routing rule applies to this claim; the policy must route every claim")
    return Route(
        steps=steps,
        count=len(steps),
        second_signer_required=any(s.role == "second_signer" for s in steps),
        approval_timeout_seconds=approval_timeout_seconds,
    )


def escalation_target(
    current_approver_id: str, claim: Claim, earlier_signers: set[str], lookup: Callable[[str], Employee | None]
) -> str:
    """The next level above an approver who did not answer in time."""
    person = lookup(current_approver_id)
    above = person.manager_id if person else None
    if above is None:
        raise RoutingError(f"nobody above {current_approver_id} to escalate to")
    return first_eligible(above, {claim.employee_id, *claim.subjects, current_approver_id, *earlier_signers}, lookup)
