"""Builders shared by the service tests: claims of the sample organisation, principals, waiting approval steps."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.identity import SYSTEM, Principal, Role
from chalicelib.services import routing
from chalicelib.services.approvals.requests import request_approval
from tests.builders import receipt_claim
from tests.fakes import FakeApp

HKT = ZoneInfo("Asia/Hong_Kong")
CST = ZoneInfo("Asia/Shanghai")


def hkt(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A Hong Kong wall-clock time as the aware UTC instant the clock holds."""
    return datetime(y, m, d, hh, mm, tzinfo=HKT).astimezone(UTC)


def put_claim(app: FakeApp, claim_id: str = "c-1", employee_id: str = "E201",
              status: ClaimStatus | str = "extracted", **fields: object) -> Claim:
    """A one-expense claim of a sample-org employee stored as-is (HK$90 at Tsui Wah, meals, unless told
    otherwise); see tests.builders for how the fields are split between the claim and its expense."""
    person = app.directory.employee(employee_id)
    department = app.directory.department(person.department_id) if person else None
    data: dict = dict(
        department_id=person.department_id if person else "UNKNOWN",
        cost_centre=department.cost_centre if department else None,
        file_sha256=hashlib.sha256(claim_id.encode()).hexdigest(), category="meals",
        created_at=app.clock(), updated_at=app.clock(),
    )
    data.update(fields)
    claim = receipt_claim(claim_id, employee_id, status=status, **data)
    app.claims.create(claim, SYSTEM)
    return app.claims.get(claim_id)


def principal(app: FakeApp, employee_id: str, source_ip: str = "203.0.113.7") -> Principal:
    person = app.directory.employee(employee_id)
    return Principal(user_id=f"user-{employee_id}", employee_id=employee_id, department_id=person.department_id,
                     roles=frozenset(Role(r) for r in person.roles), source_ip=source_ip)


def awaiting_approval(app: FakeApp, claim_id: str = "c-1", employee_id: str = "E201", task: str = "task-1",
                      **fields: object) -> str:
    """A claim in approval whose first routed step has a pending link (as the state machine's first wait
    leaves it); returns the link id."""
    put_claim(app, claim_id, employee_id, status=ClaimStatus.IN_APPROVAL, **fields)
    route = routing.route(claim_id, app.claims, app.directory)
    return request_approval(app.approvals, claim_id, 1, route.steps[0], task, route.steps)
