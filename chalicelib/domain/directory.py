"""The organisation as routing sees it: offices, departments, people and their ranks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Office(BaseModel):
    office_id: str
    name: str
    timezone: str  # IANA, e.g. Asia/Hong_Kong, Asia/Shanghai


class Department(BaseModel):
    department_id: str
    name: str
    office_id: str
    head_id: str
    cost_centre: str
    finance_controller_id: str
    finance_reviewer_id: str | None = None
    company: str = "default"  # the company whose policy and anomaly model apply (`Policy.company`)


class Employee(BaseModel):
    employee_id: str
    name: str
    email: str
    department_id: str
    rank: int  # 1 = staff ... 5 = executive
    manager_id: str | None = None
    timezone: str = "Asia/Hong_Kong"
    roles: list[str] = ["employee"]
    phone: str | None = None  # E.164; personal data: masked in logs and audit records
    # The employer's return (IR56B, boxes 2 and 3): as HR holds them; personal data, never logged. The HKID is
    # shown in full only to finance filing the return (chalicelib/domain/ledger_ir56b.py masks it otherwise).
    surname: str | None = Field(default=None, repr=False)
    given_name: str | None = Field(default=None, repr=False)
    name_zh: str | None = Field(default=None, repr=False)
    hkid: str | None = Field(default=None, repr=False, pattern=r"^[A-Z]{1,2}[0-9]{6}\([0-9A]\)$")


class Delegation(BaseModel):
    """An approver on leave names a delegate for a period; the delegate signs on their behalf."""

    approver_id: str
    delegate_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at
