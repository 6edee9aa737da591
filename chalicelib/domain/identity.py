"""Who is acting: the employee a verified ID token names, with the roles and department the directory gives now."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    EMPLOYEE = "employee"
    APPROVER = "approver"
    FINANCE = "finance"  # finance of their own department
    FINANCE_ADMIN = "finance_admin"  # finance across every department; runs data requests
    PAYROLL = "payroll"  # pays reimbursements: reads employees' bank details
    DELEGATE = "delegate"  # standing in for an approver: never granted by the directory (see domain/rbac.py)
    AUDITOR = "auditor"
    ADMIN = "admin"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    employee_id: str
    department_id: str
    roles: frozenset[Role]
    source_ip: str = "unknown"
    user_agent: str = ""  # the caller's client, as its request said (audit records keep it)

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def primary_role(self) -> str:
        for role in (Role.ADMIN, Role.FINANCE_ADMIN, Role.FINANCE, Role.PAYROLL, Role.AUDITOR, Role.APPROVER,
                     Role.EMPLOYEE):
            if role in self.roles:
                return role.value
        return "unknown"


SYSTEM = Principal(
    user_id="system", employee_id="system", department_id="*", roles=frozenset({Role.ADMIN}), source_ip="aws"
)


class Forbidden(Exception):
    """The caller is authenticated but may not do this."""
