"""Who may do what to a given record: the use cases' questions, answered from the one table (domain/rbac.py).

The API guard (web/auth.py) checks the table's row for the route before anything runs; these answer the finer
question the guard cannot see from the request alone: may this person read *this* claim or advance (its owner,
its department)? Admins run the system (reassign, weather, escalation desk) but never decide a claim; auditors
read everything and change nothing; finance and approvers read their own department; finance admins every one;
employees their own.
"""

from __future__ import annotations

from chalicelib.domain import rbac
from chalicelib.domain.claim import Claim
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.rbac import Scope

READ_CLAIM = ("GET", "/claims/{claim_id}")  # the claims' read rules (advances and expenses share them)
DASHBOARD = ("GET", "/finance/overview")  # finance's figures


def reads_every_department(p: Principal) -> bool:
    return rbac.scope(p, *READ_CLAIM) >= Scope.EVERY


def reads_own_department(p: Principal) -> bool:
    return rbac.scope(p, *READ_CLAIM) == Scope.DEPARTMENT


def can_read_claim(p: Principal, claim: Claim) -> bool:
    return rbac.permits(p, *READ_CLAIM, employee_id=claim.employee_id, department_id=claim.department_id)


def require_dashboard(p: Principal, what: str = "the dashboard") -> None:
    if rbac.scope(p, *DASHBOARD) < Scope.DEPARTMENT:
        raise Forbidden(f"{what} is for finance, auditors and admins")


def require_admin(p: Principal, what: str) -> None:
    if not p.has(Role.ADMIN):
        raise Forbidden(f"only an admin can {what}")
