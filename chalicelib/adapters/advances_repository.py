"""Cash advances in DynamoDB with their audit chain, written as ClaimRepository writes claims: each change is one
transaction of the advance (conditional on the version read) and its next audit record (conditional on the
sequence slot being free), so an advance never changes without its record and two writers cannot both win."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo_models import AdvanceItem
from chalicelib.adapters.repositories import AuditLog
from chalicelib.domain.advance import Advance, AdvanceStatus
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.errors import AlreadyExists, ConcurrentChange
from chalicelib.domain.identity import Principal


def _item(advance: Advance) -> AdvanceItem:
    return AdvanceItem(
        advance_id=advance.advance_id,
        employee_id=advance.employee_id,
        department_id=advance.department_id,
        created_at=advance.created_at.isoformat(),
        status=advance.status.value,
        version=advance.version,
        body=advance.model_dump_json(),
    )


def _advance(item: AdvanceItem) -> Advance:
    return Advance.model_validate_json(item.body)


class AdvanceRepository:
    def __init__(self, connection: Connection, audit: AuditLog):
        self._connection = connection
        self._audit = audit

    @staticmethod
    def entity(advance_id: str) -> str:
        return f"ADVANCE#{advance_id}"

    def get(self, advance_id: str) -> Advance | None:
        try:
            return _advance(AdvanceItem.get(advance_id, consistent_read=True))
        except DoesNotExist:
            return None

    def create(self, advance: Advance, actor: Principal, action: str = "advance.requested") -> None:
        record = self._audit.next_record(self.entity(advance.advance_id), actor, action, None,
                                         advance.model_dump(mode="json"))
        self._audit.write_with(_item(advance), AdvanceItem.advance_id.does_not_exist(), record,
                               AlreadyExists(advance.advance_id))

    def save(self, before: Advance, after: Advance, actor: Principal, action: str) -> Advance:
        """Persist `after` only if the stored advance is still `before`; appends the audit record with it."""
        record = self._audit.next_record(self.entity(after.advance_id), actor, action,
                                         before.model_dump(mode="json"), after.model_dump(mode="json"))
        self._audit.write_with(_item(after), AdvanceItem.version == before.version, record,
                               ConcurrentChange(f"advance {after.advance_id} changed concurrently"))
        return after

    def note(self, advance_id: str, actor: Principal, action: str, details: dict) -> None:
        self._audit.append(self.entity(advance_id), actor, action, None, details)

    def history(self, advance_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(advance_id))

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Advance]:
        items = AdvanceItem.by_employee.query(employee_id, scan_index_forward=False, limit=limit)
        return [_advance(i) for i in items]

    def by_status(self, status: AdvanceStatus, limit: int = 500) -> list[Advance]:
        items = AdvanceItem.by_status.query(AdvanceStatus(status).value, scan_index_forward=False, limit=limit)
        return [_advance(i) for i in items]
