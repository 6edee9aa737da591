"""DynamoDB repositories: claims with their audit chain, directory, approval links and the ledger.

Every claim change is one DynamoDB transaction: the claim update (conditional on the version read) and the
next audit record of that claim (conditional on its sequence slot being free). So a claim never changes
without its audit record, and two writers cannot both win.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo_models import (
    ApprovalItem,
    AuditItem,
    ClaimItem,
    DirectoryItem,
    ExpenseItem,
    LedgerItem,
)
from chalicelib.domain import finance
from chalicelib.domain.anomaly.duplicates import BANDS, REPHOTO_DISTANCE, bands, hamming
from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.audit import GENESIS, AuditRecord
from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Delegation, Department, Employee, Office
from chalicelib.domain.errors import AlreadyExists, ConcurrentChange, LinkAlreadyUsed
from chalicelib.domain.expense import Expense, ExpenseKind, ExpenseRef
from chalicelib.domain.identity import Principal
from chalicelib.domain.ledger import JournalEntry
from chalicelib.domain.policy import Policy
from chalicelib.domain.schedule import WeatherAlert


def _seq(n: int) -> str:
    return f"{n:010d}"


def _claim_item(claim: Claim) -> ClaimItem:
    return ClaimItem(
        claim_id=claim.claim_id,
        department_id=claim.department_id,
        employee_id=claim.employee_id,
        created_at=claim.created_at.isoformat(),
        status=claim.status.value,
        version=claim.version,
        body=claim.model_dump_json(),
        # the sparse indexes of finance's queues: the key is present only while the claim belongs in the queue
        flagged_department=claim.department_id if finance.in_anomaly_queue(claim) else None,
        review_department=claim.department_id if finance.in_review_queue(claim) else None,
    )


def claim_from_body(body: str) -> Claim:
    return Claim.model_validate_json(body)


def _image_keys(expense: Expense) -> dict[str, str | None]:
    """The photo's hash and its eight bands, the keys of the sparse by-image-band-N indexes."""
    keys: dict[str, str | None] = {"image_hash": expense.image_hash}
    for i, band in enumerate(bands(expense.image_hash) if expense.image_hash else [None] * BANDS):
        keys[f"image_band_{i}"] = band
    return keys


def _index_item(expense: Expense, claim_id: str) -> ExpenseItem:
    """The row of an expense a claim holds: where it is and what duplicate checks look it up by."""
    return ExpenseItem(expense_id=expense.expense_id, employee_id=expense.employee_id,
                       created_at=expense.created_at.isoformat(), claim_id=claim_id,
                       file_sha256=expense.evidence_key, dedupe_key=expense.dedupe_key, version=expense.version,
                       **_image_keys(expense))


def _unattached_item(expense: Expense) -> ExpenseItem:
    return ExpenseItem(expense_id=expense.expense_id, employee_id=expense.employee_id,
                       created_at=expense.created_at.isoformat(), file_sha256=expense.evidence_key,
                       dedupe_key=expense.dedupe_key, version=expense.version, body=expense.model_dump_json(),
                       **_image_keys(expense))


def _move_expenses(tx: TransactWrite, before: Claim | None, after: Claim) -> None:
    """The expense rows that change with the claim: one joining must be unattached and unchanged since read (or
    new, like a mileage line), a receipt leaving becomes unattached again (a line without one is dropped), one
    whose duplicate keys changed is re-indexed. A one-receipt claim stored before the expense table existed is
    indexed on its next write."""
    old = {e.expense_id: e for e in before.expenses} if before else {}
    new = {e.expense_id: e for e in after.expenses}
    mine = ExpenseItem.claim_id == after.claim_id
    for expense_id, expense in new.items():
        was = old.get(expense_id)
        if was is None:
            free = ExpenseItem.claim_id.does_not_exist() & (ExpenseItem.version == expense.version)
            tx.save(_index_item(expense, after.claim_id), condition=ExpenseItem.expense_id.does_not_exist() | free)
        elif after.layout == "receipt":
            tx.save(_index_item(expense, after.claim_id), condition=ExpenseItem.expense_id.does_not_exist() | mine)
        elif (was.evidence_key, was.dedupe_key, was.image_hash) != (expense.evidence_key, expense.dedupe_key,
                                                                     expense.image_hash):
            tx.save(_index_item(expense, after.claim_id), condition=mine)
    for expense_id in old.keys() - new.keys():
        if old[expense_id].kind == ExpenseKind.RECEIPT:  # a receipt leaving the claim is unattached again
            tx.save(_unattached_item(old[expense_id].model_copy(update={"claim_hint": None})), condition=mine)
        else:  # a line without a receipt (mileage, per diem, lost receipt) exists only in its claim
            tx.delete(ExpenseItem(expense_id=expense_id), condition=mine)


HOUR_SHARDS = 8


def hour_shard(entity: str, at: datetime) -> str:
    """The by-hour index key of a record: its UTC hour and a stable shard of its entity."""
    shard = int(hashlib.sha256(entity.encode()).hexdigest()[:4], 16) % HOUR_SHARDS
    return f"{at.astimezone(UTC):%Y-%m-%dT%H}#{shard}"


class AuditLog:
    def __init__(self, connection: Connection, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._connection = connection
        self._clock = clock

    def records(self, entity: str) -> list[AuditRecord]:
        return [record for _, record in self.slots(entity)]

    def slots(self, entity: str) -> list[tuple[int, AuditRecord]]:
        """(sequence slot, record) as stored: a check compares the slot with what the record says."""
        return [(int(item.seq), AuditRecord.model_validate_json(item.body))
                for item in AuditItem.query(entity, scan_index_forward=True)]

    def last(self, entity: str) -> AuditRecord | None:
        for item in AuditItem.query(entity, scan_index_forward=False, limit=1):
            return AuditRecord.model_validate_json(item.body)
        return None

    def touched(self, hour: datetime) -> set[str]:
        """Every entity with a record written in `hour` (UTC), from the by-hour index: eight small Queries."""
        prefix = f"{hour.astimezone(UTC):%Y-%m-%dT%H}"
        return {item.entity for shard in range(HOUR_SHARDS)
                for item in AuditItem.by_hour.query(f"{prefix}#{shard}")}

    def next_record(
        self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None,
        resource: str = "",
    ) -> AuditRecord:
        last = self.last(entity)
        return AuditRecord(
            entity=entity,
            seq=(last.seq + 1) if last else 1,
            at=self._clock(),
            actor_id=actor.user_id,
            role=actor.primary_role,
            source_ip=actor.source_ip,
            user_agent=actor.user_agent,
            resource=resource,
            action=action,
            before=before,
            after=after,
            prev_hash=last.hash if last else GENESIS,
        ).sealed()

    @staticmethod
    def item(record: AuditRecord) -> AuditItem:
        return AuditItem(
            entity=record.entity, seq=_seq(record.seq), body=record.model_dump_json(), hash=record.hash,
            hour_shard=hour_shard(record.entity, record.at),
        )

    def write_with(self, item, condition, record: AuditRecord, refused: Exception,
                   more: Callable[[TransactWrite], None] | None = None) -> None:
        """One transaction: `item` (on `condition`) and its audit record (in a free sequence slot), plus whatever
        `more` adds; `refused` is raised when any condition fails (someone else wrote first)."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(item, condition=condition)
                tx.save(self.item(record), condition=AuditItem.entity.does_not_exist())
                if more is not None:
                    more(tx)
        except TransactWriteError as exc:
            raise refused from exc

    def event(self, kind: str, at: datetime, actor: Principal, action: str, after: dict, resource: str = "") -> str:
        """A standalone record (an API call, a refused link), one entity each: never a hot chain that a flood of
        requests would contend on (the seal sweep signs them in hourly batches)."""
        entity = f"{kind}#{at.date().isoformat()}#{uuid.uuid4().hex}"
        self.append(entity, actor, action, None, after, resource)
        return entity

    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None,
               resource: str = "") -> None:
        """A record outside a claim transaction (API calls, refused links), chained all the same."""
        for _ in range(5):
            record = self.next_record(entity, actor, action, before, after, resource)
            try:
                self.item(record).save(condition=AuditItem.entity.does_not_exist())
                return
            except PutError as exc:
                if "ConditionalCheckFailed" not in str(exc.cause_response_code or exc):
                    raise
        raise ConcurrentChange(f"audit chain {entity} kept moving")


class ClaimRepository:
    def __init__(self, connection: Connection, audit: AuditLog):
        self._connection = connection
        self._audit = audit

    @staticmethod
    def entity(claim_id: str) -> str:
        return f"CLAIM#{claim_id}"

    def get(self, claim_id: str) -> Claim | None:
        try:
            return claim_from_body(ClaimItem.get(claim_id, consistent_read=True).body)
        except DoesNotExist:
            return None

    def create(self, claim: Claim, actor: Principal, action: str = "claim.created") -> None:
        record = self._audit.next_record(self.entity(claim.claim_id), actor, action, None, _public(claim))
        self._audit.write_with(_claim_item(claim), ClaimItem.claim_id.does_not_exist(), record,
                               AlreadyExists(claim.claim_id), lambda tx: _move_expenses(tx, None, claim))

    def save(self, before: Claim, after: Claim, actor: Principal, action: str) -> Claim:
        """Persist `after` only if the stored claim is still `before`; appends the audit record with it."""
        record = self._audit.next_record(self.entity(after.claim_id), actor, action, _public(before), _public(after))
        self._audit.write_with(_claim_item(after), ClaimItem.version == before.version, record,
                               ConcurrentChange(f"claim {after.claim_id} changed concurrently"),
                               lambda tx: _move_expenses(tx, before, after))
        return after

    def note(self, claim_id: str, actor: Principal, action: str, details: dict) -> None:
        """An audit record on the claim's chain about its evidence, the claim itself unchanged."""
        self._audit.append(self.entity(claim_id), actor, action, None, details)

    def history(self, claim_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(claim_id))

    def by_department(self, department_id: str, limit: int = 200) -> list[Claim]:
        items = ClaimItem.by_department.query(department_id, scan_index_forward=False, limit=limit)
        return [claim_from_body(i.body) for i in items]

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Claim]:
        items = ClaimItem.by_employee.query(employee_id, scan_index_forward=False, limit=limit)
        return [claim_from_body(i.body) for i in items]


class ExpenseRepository:
    def __init__(self, connection: Connection, audit: AuditLog):
        self._connection = connection
        self._audit = audit

    @staticmethod
    def entity(expense_id: str) -> str:
        return f"EXPENSE#{expense_id}"

    @staticmethod
    def _item(expense_id: str) -> ExpenseItem | None:
        try:
            return ExpenseItem.get(expense_id, consistent_read=True)
        except DoesNotExist:
            return None

    def get(self, expense_id: str) -> Expense | None:
        item = self._item(expense_id)
        if item is None or item.claim_id or not item.body:
            return None
        return Expense.model_validate_json(item.body)

    def locate(self, expense_id: str) -> ExpenseRef | None:
        item = self._item(expense_id)
        return _ref(item) if item else None

    def create(self, expense: Expense, actor: Principal, action: str = "expense.created") -> None:
        record = self._audit.next_record(self.entity(expense.expense_id), actor, action, None,
                                         expense.model_dump(mode="json"))
        self._audit.write_with(_unattached_item(expense), ExpenseItem.expense_id.does_not_exist(), record,
                               AlreadyExists(expense.expense_id))

    def save(self, before: Expense, after: Expense, actor: Principal, action: str) -> Expense:
        record = self._audit.next_record(self.entity(after.expense_id), actor, action,
                                         before.model_dump(mode="json"), after.model_dump(mode="json"))
        unchanged = ExpenseItem.claim_id.does_not_exist() & (ExpenseItem.version == before.version)
        self._audit.write_with(_unattached_item(after), unchanged, record,
                               ConcurrentChange(f"expense {after.expense_id} changed or joined a claim"))
        return after

    def note(self, expense_id: str, actor: Principal, action: str, details: dict) -> None:
        self._audit.append(self.entity(expense_id), actor, action, None, details)

    def history(self, expense_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(expense_id))

    def unattached(self, employee_id: str, limit: int = 200) -> list[Expense]:
        items = ExpenseItem.by_employee.query(employee_id, scan_index_forward=False,
                                              filter_condition=ExpenseItem.claim_id.does_not_exist())
        out = [Expense.model_validate_json(i.body) for i in items if i.body]
        return out[:limit]

    def by_file_hash(self, sha256: str) -> list[ExpenseRef]:
        return [_ref(i) for i in ExpenseItem.by_file_hash.query(sha256)]

    def by_dedupe_key(self, key: str) -> list[ExpenseRef]:
        return [_ref(i) for i in ExpenseItem.by_dedupe_key.query(key)]

    def by_image_hash(self, image_hash: str, max_distance: int = REPHOTO_DISTANCE) -> list[ExpenseRef]:
        """Expenses whose photo hashes within `max_distance` bits: those sharing one of the eight 8-bit bands
        (a Query per band index), confirmed by their Hamming distance."""
        indexes = [getattr(ExpenseItem, f"by_image_band_{i}") for i in range(BANDS)]
        found: dict[str, ExpenseRef] = {}
        for index, band in zip(indexes, bands(image_hash), strict=True):
            for item in index.query(band):
                if item.image_hash and hamming(item.image_hash, image_hash) <= max_distance:
                    found.setdefault(item.expense_id, _ref(item))
        return list(found.values())


def _ref(item: ExpenseItem) -> ExpenseRef:
    return ExpenseRef(expense_id=item.expense_id, employee_id=item.employee_id, claim_id=item.claim_id)


def _public(claim: Claim) -> dict:
    """The claim as the audit trail keeps it (JSON types; no file bytes)."""
    return claim.model_dump(mode="json")


class DirectoryRepository:
    """Read-mostly organisation data; cached per container because routing reads it on every claim."""

    def __init__(self, connection: Connection | None = None):
        self._connection = connection

    def _tx(self) -> TransactWrite:
        if self._connection is None:
            self._connection = Connection(region=DirectoryItem.Meta.region)
        return TransactWrite(connection=self._connection)

    def _get(self, pk: str) -> dict | None:
        try:
            return json.loads(DirectoryItem.get(pk, "PROFILE").body)
        except DoesNotExist:
            return None

    def _put(self, pk: str, body: str) -> None:
        DirectoryItem(pk=pk, sk="PROFILE", body=body).save()

    def employee(self, employee_id: str) -> Employee | None:
        data = self._get(f"EMP#{employee_id}")
        return Employee.model_validate(data) if data else None

    def employee_by_email(self, email: str) -> Employee | None:
        data = self._get(f"EMAIL#{email.strip().lower()}")
        return self.employee(data["employee_id"]) if data else None

    def department(self, department_id: str) -> Department | None:
        data = self._get(f"DEPT#{department_id}")
        return Department.model_validate(data) if data else None

    def office(self, office_id: str) -> Office | None:
        data = self._get(f"OFFICE#{office_id}")
        return Office.model_validate(data) if data else None

    def policy(self, company: str = "default") -> Policy:
        data = self._get(f"POLICY#{company}")
        return Policy.model_validate(data) if data else Policy()

    def put_employee(self, employee: Employee) -> None:
        before = self.employee(employee.employee_id)
        self._put(f"EMP#{employee.employee_id}", employee.model_dump_json())
        self._put(f"EMAIL#{employee.email.lower()}", json.dumps({"employee_id": employee.employee_id}))
        if before is not None and before.department_id != employee.department_id:
            self._leave(before)
        self._join(employee)

    def _join(self, employee: Employee) -> None:
        """The member row and the department's headcount move together; joining twice changes nothing."""
        member = DirectoryItem(pk=f"DEPT#{employee.department_id}", sk=f"MEMBER#{employee.employee_id}",
                               body=json.dumps({"employee_id": employee.employee_id, "name": employee.name},
                                               ensure_ascii=False))
        try:
            with self._tx() as tx:
                tx.save(member, condition=DirectoryItem.pk.does_not_exist())
                tx.update(DirectoryItem(pk="DEPARTMENTS", sk=employee.department_id),
                          actions=[DirectoryItem.headcount.add(1)])
        except TransactWriteError:  # already a member: keep the name current
            member.save()

    def _leave(self, employee: Employee) -> None:
        with contextlib.suppress(TransactWriteError), self._tx() as tx:  # not a member: nothing to undo
            tx.delete(DirectoryItem(pk=f"DEPT#{employee.department_id}", sk=f"MEMBER#{employee.employee_id}"),
                      condition=DirectoryItem.pk.exists())
            tx.update(DirectoryItem(pk="DEPARTMENTS", sk=employee.department_id),
                      actions=[DirectoryItem.headcount.add(-1)])

    def put_department(self, department: Department) -> None:
        self._put(f"DEPT#{department.department_id}", department.model_dump_json())
        DirectoryItem(pk="DEPARTMENTS", sk=department.department_id).update(
            actions=[DirectoryItem.body.set(department.model_dump_json())])

    def departments(self, only: list[str] | None = None) -> list[tuple[Department, int]]:
        """Departments with their headcount: every one (one Query of the department list, never a Scan), or
        `only` those (read by key)."""
        rows = (DirectoryItem.query("DEPARTMENTS") if only is None
                else DirectoryItem.batch_get([("DEPARTMENTS", d) for d in dict.fromkeys(only)]))
        return [(Department.model_validate_json(i.body), int(i.headcount or 0)) for i in rows if i.body]

    def members(self, department_id: str) -> list[tuple[str, str]]:
        """(employee id, name) of a department's members."""
        rows = DirectoryItem.query(f"DEPT#{department_id}", DirectoryItem.sk.startswith("MEMBER#"))
        return [(d["employee_id"], d["name"]) for d in (json.loads(i.body) for i in rows)]

    def put_office(self, office: Office) -> None:
        self._put(f"OFFICE#{office.office_id}", office.model_dump_json())

    def put_policy(self, policy: Policy) -> None:
        self._put(f"POLICY#{policy.company}", policy.model_dump_json())

    def weather(self) -> WeatherAlert:
        data = self._get("WEATHER#HK")
        return WeatherAlert.model_validate(data) if data else WeatherAlert()

    def put_weather(self, alert: WeatherAlert) -> None:
        self._put("WEATHER#HK", alert.model_dump_json())

    def put_delegation(self, delegation: Delegation) -> None:
        self._put(f"DELEGATION#{delegation.approver_id}", delegation.model_dump_json())

    def delegation(self, approver_id: str) -> Delegation | None:
        data = self._get(f"DELEGATION#{approver_id}")
        return Delegation.model_validate(data) if data else None


def _link(item: ApprovalItem) -> StoredLink:
    return StoredLink(
        link_id=item.link_id, claim_id=item.claim_id, level=int(item.level), approver_id=item.approver_id,
        task_token=item.task_token, content_hash=item.content_hash, state=item.state,
        expires_epoch=int(item.expires_epoch), role=item.role, on_behalf_of=item.on_behalf_of,
        reminder_execution=item.reminder_execution, route_approvers=list(item.route_approvers or []),
    )


def _item(link: StoredLink) -> ApprovalItem:
    return ApprovalItem(**link.model_dump(exclude={"route_approvers"}), route_approvers=link.route_approvers or None)


class ApprovalLinkStore:
    """Approval links in DynamoDB; a link leaves `pending` once, by a conditional write."""

    def put_pending(self, link: StoredLink) -> None:
        try:
            _item(link).save(condition=ApprovalItem.link_id.does_not_exist())
        except PutError as exc:
            raise AlreadyExists(link.link_id) from exc

    def get(self, link_id: str) -> StoredLink | None:
        try:
            return _link(ApprovalItem.get(link_id, consistent_read=True))
        except DoesNotExist:
            return None

    def mark_used(self, link: StoredLink, state: str = "used") -> None:
        """Single use: only one caller can move a link out of pending (used, returned or void)."""
        try:
            _item(link).update(actions=[ApprovalItem.state.set(state)], condition=ApprovalItem.state == "pending")
        except UpdateError as exc:
            raise LinkAlreadyUsed(link.link_id) from exc

    def pending(self) -> list[StoredLink]:
        """Links still waiting for a decision (a scan: used rarely, when severe weather is lowered)."""
        return [_link(i) for i in ApprovalItem.scan(ApprovalItem.state == "pending")]

    def pending_for(self, approver_id: str) -> list[StoredLink]:
        """An approver's (or delegate's) open links: the "waiting for me" list of the app."""
        return [_link(i) for i in ApprovalItem.by_approver.query(approver_id, ApprovalItem.state == "pending")]

    def void(self, link_id: str | None) -> StoredLink | None:
        """A superseded link (escalated, reassigned) can no longer decide; a used one stays as it was."""
        link = self.get(link_id) if link_id else None
        if link is not None and link.state == "pending":
            with contextlib.suppress(LinkAlreadyUsed):  # decided meanwhile: the decision stands
                self.mark_used(link, state="void")
        return link

    def rebind(self, link: StoredLink, task_token: str) -> None:
        """The same link now answers a new waiting task (a retried or re-armed step), if still in its state."""
        try:
            _item(link).update(actions=[ApprovalItem.task_token.set(task_token)],
                               condition=ApprovalItem.state == link.state)
        except UpdateError as exc:
            raise LinkAlreadyUsed(link.link_id) from exc

    def set_reminder_execution(self, link: StoredLink, name: str) -> None:
        _item(link).update(actions=[ApprovalItem.reminder_execution.set(name)])


class LedgerStore:
    def post(self, entry: JournalEntry) -> JournalEntry:
        """Idempotent: a second post of the same claim returns the entry already on the books."""
        try:
            LedgerItem(journal_id=entry.journal_id, claim_id=entry.claim_id, body=entry.model_dump_json()).save(
                condition=LedgerItem.journal_id.does_not_exist()
            )
            return entry
        except PutError:
            existing = self.get(entry.journal_id)
            if existing is None:
                raise
            return existing

    def get(self, journal_id: str) -> JournalEntry | None:
        try:
            return JournalEntry.model_validate_json(LedgerItem.get(journal_id, consistent_read=True).body)
        except DoesNotExist:
            return None
