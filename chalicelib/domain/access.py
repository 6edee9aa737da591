"""Who may do what: the role rules in one place, so a route, a view and a use case cannot disagree.

Admins run the system (reassign, weather, escalation desk) but never decide a claim; auditors read everything
and change nothing; finance and approvers read their own department; employees read their own claims.
"""

from __future__ import annotations

from chalicelib.domain.claim import Claim
from chalicelib.domain.identity import Forbidden, Principal, Role


def reads_every_department(p: Principal) -> bool:
    return p.has(Role.ADMIN) or p.has(Role.AUDITOR)


def reads_own_department(p: Principal) -> bool:
    return p.has(Role.FINANCE) or p.has(Role.APPROVER)


def can_read_claim(p: Principal, claim: Claim) -> bool:
    if reads_every_department(p) or claim.employee_id == p.employee_id:
        return True
    return reads_own_department(p) and claim.department_id == p.department_id


def require_dashboard(p: Principal, what: str = "the dashboard") -> None:
    if not (p.has(Role.FINANCE) or reads_every_department(p)):
        raise Forbidden(f"{what} is for finance, auditors and admins")


def require_admin(p: Principal, what: str) -> None:
    if not p.has(Role.ADMIN):
        raise Forbidden(f"only an admin can {what}")
