"""The caller's roles and department come from the directory at request time, not from the token."""

from __future__ import annotations

import pytest

from chalicelib.adapters.tokens import Identity, Unauthorized
from chalicelib.domain.identity import Role
from chalicelib.web.auth import principal_for
from harness import sample_org
from tests.fakes import FakeDirectory


@pytest.fixture
def directory():
    d = FakeDirectory()
    sample_org.load(d)
    return d


WHO = Identity(subject="c9ea864b", employee_id="E201", issuer="https://cognito-idp.ap-east-1.amazonaws.com/p")


def test_roles_and_department_are_the_directorys(directory):
    p = principal_for(WHO, directory, "203.0.113.9")
    assert (p.employee_id, p.department_id, p.roles, p.user_id, p.source_ip) == (
        "E201", "HK-SALES", frozenset({Role.EMPLOYEE}), "c9ea864b", "203.0.113.9")


def test_a_move_or_a_new_role_applies_to_the_next_request(directory):
    before = principal_for(WHO, directory)
    moved = directory.employee("E201").model_copy(update={"department_id": "SZ-OPS", "roles": ["employee", "finance"]})
    directory.put_employee(moved)
    after = principal_for(WHO, directory)  # the same token
    assert before.department_id == "HK-SALES" and after.department_id == "SZ-OPS"
    assert after.roles == frozenset({Role.EMPLOYEE, Role.FINANCE})


def test_someone_removed_from_the_directory_is_refused(directory):
    directory.employees.pop("E201")
    with pytest.raises(Unauthorized, match="no longer"):
        principal_for(WHO, directory)


def test_unknown_role_names_grant_nothing(directory):
    directory.put_employee(directory.employee("E201").model_copy(update={"roles": ["employee", "superuser"]}))
    assert principal_for(WHO, directory).roles == frozenset({Role.EMPLOYEE})
