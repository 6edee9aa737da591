"""Who may call which API action, as one table: role × route (method, path) → scope.

Read it as a compliance officer would: each row is one Chalice route; each column a role; each cell how far the
role reaches — its own records, its own department's, every department's, or not at all. A person holding
several roles gets the widest cell. `chalicelib/web/auth.py` enforces the table once, before any route body runs
(app.py's middleware); the use cases keep their finer rules (one person signs one step, a delegate stands in only
within their own role, approval links) and read resource scopes (a claim's department) from this same table
through `chalicelib/domain/access.py`. `tests/unit/domain/test_rbac.py` fails when a route has no row, and walks
every role × route × scope.

Roles are cumulative grants: a finance controller is typically `employee` + `approver` + `finance`. The auditor
is read-only and the admin runs the system; neither spends money as such (give them `employee` too for that).
`delegate` is never granted by the directory: it is the column a standing-in approver acts under, and a test
holds it inside `approver` so a delegation can never reach beyond the delegate's own role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from chalicelib.domain.identity import Principal, Role


class Scope(IntEnum):
    """How far a role reaches for one action (ordered: a wider scope includes the narrower)."""

    NONE = 0
    OWN = 1  # the caller's own records (claims, expenses, advances, bank account, personal data)
    DEPARTMENT = 2  # the caller's department's records
    EVERY = 3  # every department's records, or a company-wide thing (vendors, exchange rates, weather)


@dataclass(frozen=True)
class Rule:
    """One row. `public`: no sign-in (page shells, static files, the dev token, approval links, which carry their
    own credential and finer checks). `subject`: the path parameter naming the employee acted on; the guard
    checks OWN/DEPARTMENT against it. A `department` query parameter is checked for every signed-in row."""

    scopes: Mapping[Role, Scope] = field(default_factory=dict)
    public: bool = False
    subject: str | None = None

    def scope(self, roles: frozenset[Role]) -> Scope:
        return max((self.scopes.get(role, Scope.NONE) for role in roles), default=Scope.NONE)


# A role that includes another: a finance admin is finance too (the use cases' finer checks that ask for finance,
# e.g. paying an advance of one's own department, then agree with this table).
IMPLIES: dict[Role, frozenset[Role]] = {Role.FINANCE_ADMIN: frozenset({Role.FINANCE})}


def with_implied(roles: frozenset[Role]) -> frozenset[Role]:
    return roles.union(*(IMPLIES.get(r, frozenset()) for r in roles))


E, A, D, F, FA, P, AU, AD = (Role.EMPLOYEE, Role.APPROVER, Role.DELEGATE, Role.FINANCE, Role.FINANCE_ADMIN,
                             Role.PAYROLL, Role.AUDITOR, Role.ADMIN)
ROLES: tuple[Role, ...] = (E, A, D, F, FA, P, AU, AD)
OWN, DEPT, ALL = Scope.OWN, Scope.DEPARTMENT, Scope.EVERY

PUBLIC = Rule(public=True)
STAFF = {E: OWN, A: OWN, F: OWN, FA: OWN, P: OWN}  # a person's own spending (not the read-only auditor, not the admin)
EVERYONE = {**STAFF, AU: OWN, AD: OWN}  # a person's own profile and personal data (PDPO rights are everyone's)
READ_CLAIMS = {E: OWN, A: DEPT, F: DEPT, FA: ALL, P: OWN, AU: ALL, AD: ALL}  # the claims' read rules
DASHBOARD = {F: DEPT, FA: ALL, AU: ALL, AD: ALL}  # finance's figures: finance its department; readers all
ADMIN_ONLY = {AD: ALL}
APPROVING = {A: OWN, D: OWN}  # what waits for the caller, as approver or standing in


def _r(scopes: Mapping[Role, Scope], subject: str | None = None) -> Rule:
    return Rule(scopes=dict(scopes), subject=subject)


TABLE: dict[tuple[str, str], Rule] = {
    # pages and files: shells in the reader's language; their data comes from the API with the reader's token
    ("GET", "/"): PUBLIC,
    ("GET", "/signin"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/static/vendor/{name}"): PUBLIC,
    ("GET", "/claim/{claim_id}"): PUBLIC,
    ("GET", "/finance"): PUBLIC,
    ("GET", "/inbox"): PUBLIC,
    ("POST", "/dev/token"): PUBLIC,  # local/dev stages only: 404 where the dev issuer is off
    # approval links: the link is the credential; the use case checks the signer, dual signing and delegation
    ("GET", "/approvals/{token}"): PUBLIC,
    ("POST", "/approvals/{token}/decision"): PUBLIC,
    # the signed-in person
    ("GET", "/me"): _r(EVERYONE),
    ("GET", "/me/approvals"): _r(APPROVING),
    ("POST", "/me/approvals/decisions"): _r(APPROVING),
    ("PUT", "/me/delegation"): _r({A: OWN}),
    # claims and expenses: writes are the owner's; reads follow READ_CLAIMS (the use case checks the claim)
    ("POST", "/uploads"): _r(STAFF),
    ("GET", "/claims"): _r(READ_CLAIMS),
    ("POST", "/claims"): _r(STAFF),
    ("GET", "/claims/{claim_id}"): _r(READ_CLAIMS),
    ("PATCH", "/claims/{claim_id}"): _r(STAFF),
    ("GET", "/claims/{claim_id}/audit"): _r(READ_CLAIMS),
    # the regulator's and auditor's bundle (records, seals, receipts, signatures, the offline verifier)
    ("POST", "/audit/exports"): _r({AU: ALL}),
    ("POST", "/claims/{claim_id}/expenses"): _r(STAFF),
    ("DELETE", "/claims/{claim_id}/expenses/{expense_id}"): _r(STAFF),
    ("GET", "/claims/{claim_id}/signatures"): _r(READ_CLAIMS),
    ("POST", "/claims/{claim_id}/submit"): _r(STAFF),
    ("GET", "/claims/{claim_id}/timeline"): _r(READ_CLAIMS),
    ("GET", "/expenses"): _r(STAFF),
    ("GET", "/expenses/{expense_id}"): _r(READ_CLAIMS),
    ("PATCH", "/expenses/{expense_id}"): _r(STAFF),
    ("GET", "/expenses/{expense_id}/audit"): _r(READ_CLAIMS),
    ("GET", "/expenses/{expense_id}/receipt"): _r(READ_CLAIMS),
    ("POST", "/expenses/{expense_id}/submit"): _r(STAFF),
    # cash advances: the requester's manager or department head decides (the use case checks which person);
    # finance pays its own department's
    ("POST", "/advances"): _r(STAFF),
    ("GET", "/advances"): _r(READ_CLAIMS),
    ("GET", "/advances/{advance_id}"): _r(READ_CLAIMS),
    ("POST", "/advances/{advance_id}/decision"): _r({A: ALL}),
    ("POST", "/advances/{advance_id}/payment"): _r({F: DEPT, FA: DEPT}),
    ("GET", "/finance/advances/overdue"): _r(DASHBOARD),
    # finance
    ("GET", "/dashboard/summary"): _r(DASHBOARD),
    ("GET", "/dashboard/approvals"): _r(DASHBOARD),
    ("GET", "/finance/overview"): _r(DASHBOARD),
    # allowances taxable as income for the employer's return: finance its department (HKID in full), admins masked
    ("GET", "/finance/ir56b.csv"): _r({F: DEPT, FA: ALL, AD: ALL}),
    ("GET", "/finance/models"): _r(DASHBOARD),  # the anomaly model each company is scored with (no claim data)
    ("GET", "/finance/claims"): _r(DASHBOARD),
    ("GET", "/finance/queues"): _r(DASHBOARD),
    ("GET", "/finance/export"): _r(DASHBOARD),
    ("GET", "/finance/reconciliation"): _r(DASHBOARD),
    ("GET", "/finance/journal.csv"): _r(DASHBOARD),
    # the company's one ledger and its exchange rates: company-wide, kept by finance (admins may step in)
    ("POST", "/finance/claims/{claim_id}/repost"): _r({F: ALL, FA: ALL, AD: ALL}),
    ("POST", "/fx-rates"): _r({F: ALL, FA: ALL, AD: ALL}),
    ("GET", "/vendors"): _r({F: ALL, FA: ALL, AU: ALL, AD: ALL}),
    ("POST", "/vendors"): _r({F: ALL, FA: ALL, AD: ALL}),
    ("PUT", "/vendors/{vendor_id}"): _r({F: ALL, FA: ALL, AD: ALL}),
    # running the system: never deciding a claim
    ("POST", "/admin/claims/{claim_id}/reassign"): _r(ADMIN_ONLY),
    ("GET", "/admin/escalations"): _r(ADMIN_ONLY),
    ("PUT", "/admin/weather"): _r(ADMIN_ONLY),
    # personal data (PDPO): bank details for reimbursement, data access and correction requests
    ("PUT", "/me/bank-account"): _r(STAFF),
    ("GET", "/employees/{employee_id}/bank-account"): _r({FA: ALL, P: ALL}, subject="employee_id"),
    ("GET", "/me/data-export"): _r(EVERYONE),
    ("POST", "/admin/dsar/{employee_id}"): _r({FA: ALL}, subject="employee_id"),
    ("POST", "/me/correction-requests"): _r(EVERYONE),
    ("GET", "/me/correction-requests"): _r(EVERYONE),
    ("GET", "/finance/correction-requests"): _r({F: DEPT, FA: ALL, AU: ALL}),
    ("POST", "/finance/correction-requests/{request_id}/resolve"): _r({F: DEPT, FA: ALL}),
}


class NoRule(LookupError):
    """A route the table does not list: refused (a new route must be given a row first)."""


def rule(method: str, path: str) -> Rule:
    try:
        return TABLE[(method.upper(), path)]
    except KeyError:
        raise NoRule(f"{method} {path}") from None


def scope(principal: Principal, method: str, path: str) -> Scope:
    return rule(method, path).scope(principal.roles)


def reaches(principal: Principal, reach: Scope, employee_id: str | None, department_id: str | None) -> bool:
    """Whether `reach` covers a record owned by `employee_id` in `department_id`."""
    if reach >= Scope.EVERY:
        return True
    if reach >= Scope.DEPARTMENT and department_id is not None and department_id == principal.department_id:
        return True
    return reach >= Scope.OWN and employee_id is not None and employee_id == principal.employee_id


def permits(principal: Principal, method: str, path: str, employee_id: str | None = None,
            department_id: str | None = None) -> bool:
    """The table's answer for one record: may this principal do `method path` on what `employee_id` owns in
    `department_id`?"""
    return reaches(principal, scope(principal, method, path), employee_id, department_id)


def allowed_roles(method: str, path: str) -> tuple[Role, ...]:
    """The roles a row opens at all, in table order (for the refusal's sentence)."""
    r = rule(method, path)
    return tuple(role for role in ROLES if r.scopes.get(role, Scope.NONE) > Scope.NONE)
