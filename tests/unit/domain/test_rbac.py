"""The RBAC table (chalicelib/domain/rbac.py) as the API enforces it (chalicelib/web/auth.py's `authorize`).

The route list comes from the app itself (`app.app.routes`): a route added without a row fails here. Then every
row × role × scope is walked: a person holding only that role asks for their own record, a colleague's in their
department and someone's in another department, and is let through or refused with words as the cell says. The
expected answers are spelled out below from the cell's scope, not computed by the code under test.
"""

from __future__ import annotations

import pytest

import app as app_module
from chalicelib.adapters.tokens import Unauthorized
from chalicelib.domain import access, rbac
from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Employee
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.rbac import Scope
from chalicelib.web import auth

ME, PEER, FAR = "E-ME", "E-PEER", "E-FAR"  # the caller; a colleague in the same department; someone elsewhere
HOME, AWAY = "D-HOME", "D-AWAY"
PEOPLE = {ME: HOME, PEER: HOME, FAR: AWAY}
WHO = {"own": ME, "department": PEER, "other": FAR}
# which of the three cases each scope reaches
REACHES = {Scope.NONE: set(), Scope.OWN: {"own"}, Scope.DEPARTMENT: {"own", "department"},
           Scope.EVERY: {"own", "department", "other"}}


class Directory:
    def employee(self, employee_id: str) -> Employee | None:
        dept = PEOPLE.get(employee_id)
        return Employee(employee_id=employee_id, name=employee_id, email=f"{employee_id}@example.com",
                        department_id=dept, rank=2) if dept else None


def person(*roles: Role) -> Principal:
    return Principal(user_id=f"user-{ME}", employee_id=ME, department_id=HOME, roles=frozenset(roles))


def app_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app_module.app.routes.items() for method in methods}


def test_every_route_of_the_app_has_a_row_and_every_row_a_route():
    routes = app_routes()
    assert routes, "the app lists no routes"
    missing = sorted(routes - rbac.TABLE.keys())
    assert not missing, f"routes without an RBAC rule (add a row to chalicelib/domain/rbac.py): {missing}"
    stale = sorted(rbac.TABLE.keys() - routes)
    assert not stale, f"RBAC rows for routes that no longer exist: {stale}"


def test_a_route_without_a_row_is_refused_with_words():
    with pytest.raises(Forbidden, match="no access rule"):
        auth.authorize("GET", "/not/in/the/table", {}, {}, "en", lambda: person(Role.ADMIN), Directory())


def _authorize(method, path, role, uri=None, query=None):
    return auth.authorize(method, path, uri or {}, query or {}, "en", lambda: person(role), Directory())


CELLS = [(method, path, role) for (method, path) in sorted(rbac.TABLE) for role in rbac.ROLES]


@pytest.mark.parametrize(("method", "path", "role"), CELLS, ids=[f"{m} {p} {r}" for m, p, r in CELLS])
def test_each_cell_allows_or_refuses_as_the_table_says(method, path, role):
    row = rbac.TABLE[(method, path)]
    if row.public:  # no sign-in needed; the principal is not even asked for
        assert auth.authorize(method, path, {}, {}, "en", _no_sign_in, Directory()) is None
        return
    with pytest.raises(Unauthorized):  # every other row needs a sign-in first
        auth.authorize(method, path, {}, {}, "en", _no_sign_in, Directory())
    cell = row.scopes.get(role, Scope.NONE)
    if cell == Scope.NONE:
        with pytest.raises(Forbidden) as refused:
            _authorize(method, path, role, {row.subject: ME} if row.subject else None)
        words = str(refused.value)
        assert "This is for" in words and "you are signed in as" in words  # a sentence, not a code
        return
    if row.subject:  # the row names the employee acted on: own / same department / another department
        for case, subject in WHO.items():
            if case in REACHES[cell]:
                assert _authorize(method, path, role, {row.subject: subject}).employee_id == ME
            else:
                with pytest.raises(Forbidden, match="your own"):
                    _authorize(method, path, role, {row.subject: subject})
        return
    assert _authorize(method, path, role).employee_id == ME
    assert _authorize(method, path, role, query={"department": HOME}).employee_id == ME
    if cell == Scope.DEPARTMENT:  # asking for another department's records
        with pytest.raises(Forbidden, match=f"own department \\({HOME}\\)"):
            _authorize(method, path, role, query={"department": AWAY})
    else:  # every department reaches it; own-only rows answer with the caller's own records (the use case)
        assert _authorize(method, path, role, query={"department": AWAY}).employee_id == ME


def _no_sign_in() -> Principal:
    raise Unauthorized("sign in first")


def test_several_roles_get_the_widest_cell():
    finance_controller = person(Role.EMPLOYEE, Role.APPROVER, Role.FINANCE)
    assert rbac.scope(finance_controller, "GET", "/claims/{claim_id}") == Scope.DEPARTMENT
    assert rbac.scope(person(Role.FINANCE, Role.FINANCE_ADMIN), "GET", "/finance/overview") == Scope.EVERY
    assert rbac.scope(person(), "GET", "/me") == Scope.NONE  # no role, nothing


def test_a_delegate_never_reaches_beyond_an_approver():
    """Standing in for an approver opens nothing an approver could not do, on any route."""
    for key, row in rbac.TABLE.items():
        assert row.scopes.get(Role.DELEGATE, Scope.NONE) <= row.scopes.get(Role.APPROVER, Scope.NONE), key


def test_the_directory_cannot_grant_the_delegate_role():
    from chalicelib.adapters.tokens import Identity

    class Listing:
        def employee(self, employee_id):
            return Employee(employee_id=employee_id, name="x", email="x@example.com", department_id=HOME, rank=2,
                            roles=["employee", "delegate", "no-such-role"])

    principal = auth.principal_for(Identity(subject="s", employee_id=ME, issuer="https://issuer.example"), Listing())
    assert principal.roles == frozenset({Role.EMPLOYEE})


def test_the_auditor_changes_nothing_and_the_admin_decides_no_claim():
    # a correction request of one's own data is a PDPO right; an audit export writes a bundle, changes no record
    reading_posts = {"/me/correction-requests", "/audit/exports"}
    for (method, path), row in rbac.TABLE.items():
        if method != "GET" and not row.public and path not in reading_posts:
            assert row.scopes.get(Role.AUDITOR, Scope.NONE) == Scope.NONE, (method, path)
    for key in (("POST", "/me/approvals/decisions"), ("GET", "/me/approvals")):
        assert rbac.TABLE[key].scopes.get(Role.ADMIN, Scope.NONE) == Scope.NONE


def test_bank_details_are_read_by_payroll_and_finance_admins_only():
    assert rbac.allowed_roles("GET", "/employees/{employee_id}/bank-account") == (Role.FINANCE_ADMIN, Role.PAYROLL)


def _claim(owner: str) -> Claim:
    return Claim(claim_id=f"c-{owner}", employee_id=owner, department_id=PEOPLE[owner])


@pytest.mark.parametrize("role", rbac.ROLES)
def test_claim_reads_in_the_use_cases_follow_the_same_row(role):
    cell = rbac.TABLE[("GET", "/claims/{claim_id}")].scopes.get(role, Scope.NONE)
    for case, owner in WHO.items():
        assert access.can_read_claim(person(role), _claim(owner)) == (case in REACHES[cell]), (role, case)


def test_refusals_are_in_the_readers_language():
    with pytest.raises(Forbidden) as refused:
        auth.authorize("GET", "/finance/overview", {}, {}, "zh-Hant", lambda: person(Role.EMPLOYEE), Directory())
    assert "此操作只限" in str(refused.value) and "員工" in str(refused.value)


def test_a_finance_admin_is_finance_too_so_the_finer_checks_agree():
    from chalicelib.adapters.tokens import Identity

    class Listing:
        def employee(self, employee_id):
            return Employee(employee_id=employee_id, name="x", email="x@example.com", department_id=HOME, rank=2,
                            roles=["finance_admin"])

    principal = auth.principal_for(Identity(subject="s", employee_id=ME, issuer="https://issuer.example"), Listing())
    assert principal.roles == frozenset({Role.FINANCE_ADMIN, Role.FINANCE})
    assert rbac.scope(principal, "GET", "/finance/claims") == Scope.EVERY  # the widest cell, not finance's


def test_an_implied_role_opens_nothing_its_own_column_does_not():
    """The implication only serves the finer checks: on every row the implying role already reaches as far."""
    for role, implied in rbac.IMPLIES.items():
        for key, row in rbac.TABLE.items():
            for other in implied:
                assert row.scopes.get(other, Scope.NONE) <= row.scopes.get(role, Scope.NONE), (key, role, other)
