"""Who the caller is, per request: the verified token says which employee signed in; the directory says, now,
what they may do. A move takes their old department away at once; someone removed from the directory is refused
even with a token that has not expired. Roles come from the directory too (the pool's groups mirror them for
people reading the console, but a group left behind grants nothing). What the roles open is domain/rbac.py's
table, enforced here once per request by `authorize`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from chalicelib.adapters.tokens import Identity, Unauthorized
from chalicelib.domain import rbac
from chalicelib.domain.directory import Employee
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.rbac import Scope
from chalicelib.web import i18n


class Directory(Protocol):
    def employee(self, employee_id: str) -> Employee | None: ...


def principal_for(identity: Identity, directory: Directory, source_ip: str = "unknown") -> Principal:
    employee = directory.employee(identity.employee_id)
    if employee is None:
        raise Unauthorized("this sign-in no longer names anyone in the directory")
    roles = set()
    for name in employee.roles:
        try:
            role = Role(name)
        except ValueError:
            continue
        if role is not Role.DELEGATE:  # standing in is given per claim by a delegation, never by the directory
            roles.add(role)
    return Principal(user_id=identity.subject, employee_id=employee.employee_id,
                     department_id=employee.department_id, roles=rbac.with_implied(frozenset(roles)),
                     source_ip=source_ip)


# ---- the one place the RBAC table is enforced (app.py's middleware calls it before any route body) --------------


def authorize(method: str, path: str, uri_params: dict | None, query: dict | None, locale: str,
              principal_of: Callable[[], Principal], directory: Directory) -> Principal | None:
    """The route's row of domain/rbac.py, checked before the route runs: None for a public row; the principal
    when their roles reach the route (and the employee or department it names); otherwise `Forbidden` in the
    reader's words. A route with no row is refused: a new route must be given one first."""
    try:
        row = rbac.rule(method, path)
    except rbac.NoRule:
        raise Forbidden(i18n.t(locale, "access.no_rule")) from None
    if row.public:
        return None
    principal = principal_of()  # Unauthorized (401) without a valid sign-in
    reach = row.scope(principal.roles)
    if reach == Scope.NONE:
        raise Forbidden(i18n.t(locale, "access.role", roles=_role_words(locale, rbac.allowed_roles(method, path)),
                               yours=_role_words(locale, tuple(r for r in rbac.ROLES if r in principal.roles))))
    department = (query or {}).get("department")
    if reach == Scope.DEPARTMENT and department and department != principal.department_id:
        raise Forbidden(i18n.t(locale, "access.department", department=principal.department_id))
    if row.subject and reach < Scope.EVERY:
        subject = (uri_params or {}).get(row.subject, "")
        employee = directory.employee(subject) if subject != principal.employee_id else None
        if not rbac.reaches(principal, reach, subject, employee.department_id if employee else None):
            raise Forbidden(i18n.t(locale, "access.department" if reach == Scope.DEPARTMENT else "access.own",
                                   department=principal.department_id))
    return principal


def _role_words(locale: str, roles: tuple[Role, ...]) -> str:
    return i18n.t(locale, "access.or").join(i18n.t(locale, f"role.{r.value}") for r in roles) or \
        i18n.t(locale, "role.none")
