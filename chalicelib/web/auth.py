"""Who the caller is, per request: the verified token says which employee signed in; the directory says, now,
what they may do. A move takes their old department away at once; someone removed from the directory is refused
even with a token that has not expired. Roles come from the directory too (the pool's groups mirror them for
people reading the console, but a group left behind grants nothing)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.adapters.tokens import Identity, Unauthorized
from chalicelib.domain.directory import Employee
from chalicelib.domain.identity import Principal, Role


class Directory(Protocol):
    def employee(self, employee_id: str) -> Employee | None: ...


def principal_for(identity: Identity, directory: Directory, source_ip: str = "unknown") -> Principal:
    employee = directory.employee(identity.employee_id)
    if employee is None:
        raise Unauthorized("this sign-in no longer names anyone in the directory")
    roles = set()
    for name in employee.roles:
        try:
            roles.add(Role(name))
        except ValueError:
            continue
    return Principal(user_id=identity.subject, employee_id=employee.employee_id,
                     department_id=employee.department_id, roles=frozenset(roles), source_ip=source_ip)
