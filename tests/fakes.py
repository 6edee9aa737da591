"""In-memory twins of the ports in `chalicelib.services.ports`, and a bootstrap that wires them.

They keep the adapters' contracts (conditional saves raise ConcurrentChange, a link leaves `pending` once, the
audit chain is hash-linked) so the services' branches can be unit-tested in milliseconds, with time driven by a
clock the test moves.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.domain.advance import Advance, AdvanceStatus
from chalicelib.domain.anomaly.duplicates import REPHOTO_DISTANCE, bands, hamming
from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.audit import GENESIS, AuditRecord
from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Delegation, Department, Employee, Office
from chalicelib.domain.errors import AlreadyExists, ConcurrentChange, ExecutionAlreadyStarted, LinkAlreadyUsed
from chalicelib.domain.expense import Expense, ExpenseKind, ExpenseRef
from chalicelib.domain.identity import Principal
from chalicelib.domain.ledger import JournalEntry
from chalicelib.domain.policy import Policy
from chalicelib.domain.schedule import WeatherAlert
from chalicelib.services.approvals.context import ApprovalContext
from chalicelib.services.claimant_updates import ClaimantUpdates


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, at: datetime = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


class FakeAudit:
    def __init__(self, clock: Clock):
        self.chains: dict[str, list[AuditRecord]] = {}
        self._clock = clock
        self._ids = itertools.count(1)

    def next_record(self, entity: str, actor: Principal, action: str, before: dict | None,
                    after: dict | None) -> AuditRecord:
        chain = self.chains.get(entity, [])
        last = chain[-1] if chain else None
        return AuditRecord(entity=entity, seq=len(chain) + 1, at=self._clock(), actor_id=actor.user_id,
                           role=actor.primary_role, source_ip=actor.source_ip, action=action, before=before,
                           after=after, prev_hash=last.hash if last else GENESIS).sealed()

    def records(self, entity: str) -> list[AuditRecord]:
        return list(self.chains.get(entity, []))

    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None) -> None:
        self.chains.setdefault(entity, []).append(self.next_record(entity, actor, action, before, after))

    def event(self, kind: str, at: datetime, actor: Principal, action: str, after: dict) -> str:
        entity = f"{kind}#{at.date().isoformat()}#{next(self._ids):08d}"
        self.append(entity, actor, action, None, after)
        return entity

    def actions(self, entity: str) -> list[str]:
        return [r.action for r in self.records(entity)]

    def events(self, kind: str) -> list[AuditRecord]:
        return [chain[0] for entity, chain in sorted(self.chains.items()) if entity.startswith(f"{kind}#")]


class FakeExpenses:
    """Unattached expenses in full; for every expense a claim holds, the claim it is in (the index)."""

    def __init__(self, audit: FakeAudit):
        self.items: dict[str, Expense] = {}  # unattached
        self.refs: dict[str, tuple[ExpenseRef, str | None, str | None, int]] = {}  # id -> ref, sha, key, version
        self.image_hashes: dict[str, str | None] = {}  # id -> the photo's perceptual hash
        self._audit = audit
        self.lock = threading.RLock()

    @staticmethod
    def entity(expense_id: str) -> str:
        return f"EXPENSE#{expense_id}"

    def get(self, expense_id: str) -> Expense | None:
        expense = self.items.get(expense_id)
        return expense.model_copy(deep=True) if expense else None

    def locate(self, expense_id: str) -> ExpenseRef | None:
        found = self.refs.get(expense_id)
        return found[0].model_copy() if found else None

    def _index(self, expense: Expense, claim_id: str | None) -> None:
        ref = ExpenseRef(expense_id=expense.expense_id, employee_id=expense.employee_id, claim_id=claim_id)
        self.refs[expense.expense_id] = (ref, expense.evidence_key, expense.dedupe_key, expense.version)
        self.image_hashes[expense.expense_id] = expense.image_hash

    def create(self, expense: Expense, actor: Principal, action: str = "expense.created") -> None:
        with self.lock:
            if expense.expense_id in self.refs:
                raise AlreadyExists(expense.expense_id)
            self.items[expense.expense_id] = expense.model_copy(deep=True)
            self._index(expense, None)
            self._audit.append(self.entity(expense.expense_id), actor, action, None, expense.model_dump(mode="json"))

    def save(self, before: Expense, after: Expense, actor: Principal, action: str) -> Expense:
        with self.lock:
            stored = self.items.get(after.expense_id)
            if stored is None or stored.version != before.version:
                raise ConcurrentChange(f"expense {after.expense_id} changed or joined a claim")
            self.items[after.expense_id] = after.model_copy(deep=True)
            self._index(after, None)
            self._audit.append(self.entity(after.expense_id), actor, action, before.model_dump(mode="json"),
                               after.model_dump(mode="json"))
        return after

    def check_moves(self, before: Claim | None, after: Claim) -> None:
        """What the DynamoDB transaction's conditions refuse: joining an expense another claim holds, or one
        changed since it was read."""
        old = {e.expense_id for e in before.expenses} if before else set()
        for expense in after.expenses:
            if expense.expense_id in old:
                continue
            found = self.refs.get(expense.expense_id)
            if found is not None and (found[0].claim_id is not None or found[3] != expense.version):
                raise ConcurrentChange(f"expense {expense.expense_id} is in another claim or changed")

    def apply_moves(self, before: Claim | None, after: Claim) -> None:
        old = {e.expense_id: e for e in before.expenses} if before else {}
        for expense in after.expenses:
            self.items.pop(expense.expense_id, None)
            self._index(expense, after.claim_id)
        for expense_id in old.keys() - {e.expense_id for e in after.expenses}:
            if old[expense_id].kind != ExpenseKind.RECEIPT:  # a line without a receipt is dropped
                self.refs.pop(expense_id, None)
                continue
            freed = old[expense_id].model_copy(update={"claim_hint": None})
            self.items[expense_id] = freed
            self._index(freed, None)

    def note(self, expense_id: str, actor: Principal, action: str, details: dict) -> None:
        self._audit.append(self.entity(expense_id), actor, action, None, details)

    def history(self, expense_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(expense_id))

    def unattached(self, employee_id: str, limit: int = 200) -> list[Expense]:
        found = [e for e in self.items.values() if e.employee_id == employee_id]
        return sorted(found, key=lambda e: e.created_at, reverse=True)[:limit]

    def by_file_hash(self, sha256: str) -> list[ExpenseRef]:
        return [ref.model_copy() for ref, sha, _, _ in self.refs.values() if sha == sha256]

    def by_dedupe_key(self, key: str) -> list[ExpenseRef]:
        return [ref.model_copy() for ref, _, dedupe, _ in self.refs.values() if dedupe == key]

    def by_image_hash(self, image_hash: str) -> list[ExpenseRef]:
        """As the repository: a shared 16-bit band first (its four sparse indexes), then the Hamming distance."""
        wanted = set(bands(image_hash))
        return [ref.model_copy() for expense_id, (ref, _, _, _) in self.refs.items()
                if (mine := self.image_hashes.get(expense_id)) and wanted & set(bands(mine))
                and hamming(mine, image_hash) <= REPHOTO_DISTANCE]


class FakeClaims:
    def __init__(self, audit: FakeAudit, expenses: FakeExpenses | None = None):
        self.items: dict[str, Claim] = {}
        self._audit = audit
        self.expenses = expenses or FakeExpenses(audit)
        self._lock = self.expenses.lock  # a claim and its expenses move in one write

    @staticmethod
    def entity(claim_id: str) -> str:
        return f"CLAIM#{claim_id}"

    def clear(self) -> None:
        """Forget every claim and expense (a test starting over)."""
        self.items.clear()
        self.expenses.items.clear()
        self.expenses.refs.clear()

    def get(self, claim_id: str) -> Claim | None:
        claim = self.items.get(claim_id)
        return claim.model_copy(deep=True) if claim else None

    def create(self, claim: Claim, actor: Principal, action: str = "claim.created") -> None:
        with self._lock:
            if claim.claim_id in self.items:
                raise AlreadyExists(claim.claim_id)
            self.expenses.check_moves(None, claim)
            self.items[claim.claim_id] = claim.model_copy(deep=True)  # stored, not shared with the caller
            self.expenses.apply_moves(None, claim)
            self._audit.append(self.entity(claim.claim_id), actor, action, None, claim.model_dump(mode="json"))

    def save(self, before: Claim, after: Claim, actor: Principal, action: str) -> Claim:
        with self._lock:
            stored = self.items.get(after.claim_id)
            if stored is None or stored.version != before.version:
                raise ConcurrentChange(f"claim {after.claim_id} changed concurrently")
            self.expenses.check_moves(before, after)
            self.items[after.claim_id] = after.model_copy(deep=True)
            self.expenses.apply_moves(before, after)
            self._audit.append(self.entity(after.claim_id), actor, action, before.model_dump(mode="json"),
                               after.model_dump(mode="json"))
        return after

    def note(self, claim_id: str, actor: Principal, action: str, details: dict) -> None:
        self._audit.append(self.entity(claim_id), actor, action, None, details)

    def history(self, claim_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(claim_id))

    def by_department(self, department_id: str, limit: int = 200) -> list[Claim]:
        found = [c for c in self.items.values() if c.department_id == department_id]
        return sorted(found, key=lambda c: c.created_at, reverse=True)[:limit]

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Claim]:
        found = [c for c in self.items.values() if c.employee_id == employee_id]
        return sorted(found, key=lambda c: c.created_at, reverse=True)[:limit]


class FakeDirectory:
    def __init__(self):
        self.employees: dict[str, Employee] = {}
        self.departments: dict[str, Department] = {}
        self.offices: dict[str, Office] = {}
        self.policies: dict[str, Policy] = {}
        self.delegations: dict[str, Delegation] = {}
        self.alert = WeatherAlert()

    def employee(self, employee_id: str) -> Employee | None:
        return self.employees.get(employee_id)

    def employee_by_email(self, email: str) -> Employee | None:
        return next((e for e in self.employees.values() if e.email.lower() == email.strip().lower()), None)

    def department(self, department_id: str) -> Department | None:
        return self.departments.get(department_id)

    def office(self, office_id: str) -> Office | None:
        return self.offices.get(office_id)

    def policy(self, company: str = "default") -> Policy:
        return self.policies.get(company, Policy())

    def weather(self) -> WeatherAlert:
        return self.alert

    def delegation(self, approver_id: str) -> Delegation | None:
        return self.delegations.get(approver_id)

    def put_employee(self, employee: Employee) -> None:
        self.employees[employee.employee_id] = employee

    def put_department(self, department: Department) -> None:
        self.departments[department.department_id] = department

    def put_office(self, office: Office) -> None:
        self.offices[office.office_id] = office

    def put_policy(self, policy: Policy) -> None:
        self.policies[policy.company] = policy

    def put_weather(self, alert: WeatherAlert) -> None:
        self.alert = alert

    def put_delegation(self, delegation: Delegation) -> None:
        self.delegations[delegation.approver_id] = delegation


class FakeLinks:
    def __init__(self):
        self.items: dict[str, StoredLink] = {}
        self._lock = threading.Lock()

    def put_pending(self, link: StoredLink) -> None:
        with self._lock:
            if link.link_id in self.items:
                raise AlreadyExists(link.link_id)
            self.items[link.link_id] = link

    def get(self, link_id: str) -> StoredLink | None:
        link = self.items.get(link_id)
        return link.model_copy(deep=True) if link else None

    def mark_used(self, link: StoredLink, state: str = "used") -> None:
        with self._lock:
            stored = self.items.get(link.link_id)
            if stored is None or stored.state != "pending":
                raise LinkAlreadyUsed(link.link_id)
            self.items[link.link_id] = stored.model_copy(update={"state": state})

    def pending(self) -> list[StoredLink]:
        return [link for link in self.items.values() if link.state == "pending"]

    def pending_for(self, approver_id: str) -> list[StoredLink]:
        return [link for link in self.pending() if link.approver_id == approver_id]

    def void(self, link_id: str | None) -> StoredLink | None:
        link = self.get(link_id) if link_id else None
        if link is not None and link.state == "pending":
            with contextlib.suppress(LinkAlreadyUsed):  # decided meanwhile: the decision stands
                self.mark_used(link, state="void")
        return link

    def rebind(self, link: StoredLink, task_token: str) -> None:
        with self._lock:
            stored = self.items.get(link.link_id)
            if stored is None or stored.state != link.state:
                raise LinkAlreadyUsed(link.link_id)
            self.items[link.link_id] = stored.model_copy(update={"task_token": task_token})

    def set_reminder_execution(self, link: StoredLink, name: str) -> None:
        self.items[link.link_id] = self.items[link.link_id].model_copy(update={"reminder_execution": name})


class FakeLedger:
    def __init__(self):
        self.entries: dict[str, JournalEntry] = {}

    def post(self, entry: JournalEntry) -> JournalEntry:
        return self.entries.setdefault(entry.journal_id, entry)

    def get(self, journal_id: str) -> JournalEntry | None:
        return self.entries.get(journal_id)


@dataclass
class FakeWorkflow:
    """Records what the service asked of Step Functions; `waiting` tokens answer once, as a real task does."""

    calls: list[tuple] = field(default_factory=list)
    started: set[str] = field(default_factory=set)
    fail_start: Exception | None = None

    def start(self, name: str, payload: dict) -> str:
        if self.fail_start is not None:
            raise self.fail_start
        if name in self.started:
            raise ExecutionAlreadyStarted(name)
        self.started.add(name)
        self.calls.append(("start", name, payload))
        return f"arn:aws:states:ap-east-1:123456789012:execution:fake:{name}"

    def stop(self, name: str, cause: str) -> None:
        self.calls.append(("stop", name))

    def succeed(self, task_token: str, output: dict) -> bool:
        self.calls.append(("succeed", task_token, output))
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        self.calls.append(("fail", task_token, error, cause))
        return True

    def resumed(self) -> list[tuple]:
        return [c for c in self.calls if c[0] in ("succeed", "fail")]


@dataclass
class FakeNotifier:
    sent: list[dict] = field(default_factory=list)

    def publish(self, subject: str, message: dict, attributes: dict[str, str]) -> str:
        self.sent.append({"subject": subject, **message, "attributes": attributes})
        return f"m-{len(self.sent)}"

    def approval_links(self, claim_id: str) -> list[dict]:
        return [m for m in self.sent if m.get("kind") == "approval" and m["claim"]["claim_id"] == claim_id]


@dataclass
class FakeTelephony:
    """Records each SMS and call as the provider would get it; `down` makes every send raise."""

    sms: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    down: Exception | None = None

    def send_sms(self, phone: str, text: str) -> str:
        if self.down is not None:
            raise self.down
        self.sms.append({"to": phone, "text": text})
        return f"sms-{len(self.sms)}"

    def call(self, phone: str, text: str, timezone: str) -> str:
        if self.down is not None:
            raise self.down
        self.calls.append({"to": phone, "text": text, "timezone": timezone})
        return f"call-{len(self.calls)}"


class FakeSigner:
    """An HMAC stands in for the KMS key: what matters to the services is that a changed payload fails."""

    key_id = "fake-key"

    def __init__(self):
        self._key = b"fake signing key"

    def sign(self, message: bytes) -> tuple[str, str]:
        return self.key_id, hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, key_id: str, signature: str) -> bool:
        return key_id == self.key_id and hmac.compare_digest(
            hmac.new(self._key, message, hashlib.sha256).hexdigest(), signature)


@dataclass
class FakeApp:
    """What `bootstrap.Container` wires in AWS, wired with fakes."""

    clock: Clock
    audit: FakeAudit
    claims: FakeClaims
    directory: FakeDirectory
    links: FakeLinks
    ledger: FakeLedger
    workflow: FakeWorkflow
    reminders: FakeWorkflow
    notifier: FakeNotifier
    employee_notifier: FakeNotifier
    signer: FakeSigner
    approvals: ApprovalContext
    telephony: FakeTelephony = field(default_factory=FakeTelephony)
    advances: FakeAdvanceStore | None = None  # set by bootstrap_fakes (it shares the audit chain)

    @property
    def expenses(self) -> FakeExpenses:
        return self.claims.expenses


def bootstrap_fakes(load_org: bool = True) -> FakeApp:
    clock = Clock()
    audit = FakeAudit(clock)
    claims, directory, links = FakeClaims(audit), FakeDirectory(), FakeLinks()
    workflow, reminders, notifier, employee_notifier = FakeWorkflow(), FakeWorkflow(), FakeNotifier(), FakeNotifier()
    signer = FakeSigner()
    if load_org:
        from harness import sample_org

        sample_org.load(directory)
    ctx = ApprovalContext(
        claims=claims, directory=directory, links=links, notifier=notifier, workflow=workflow, audit=audit,
        signer=signer, reminders=reminders, link_key=b"unit-test link key", base_url="https://expense.example",
        link_ttl_seconds=7 * 24 * 3600, now=clock,
        claimants=ClaimantUpdates(employee_notifier, directory, "https://expense.example"),
    )
    return FakeApp(clock, audit, claims, directory, links, FakeLedger(), workflow, reminders, notifier,
                   employee_notifier, signer, ctx, advances=FakeAdvanceStore(audit))


class FakeAdvanceStore:
    """AdvanceStore in memory: version-conditional saves, the audit chain `ADVANCE#id` written with each change."""

    def __init__(self, audit: FakeAudit):
        self.items: dict[str, Advance] = {}
        self._audit = audit
        self._lock = threading.Lock()

    @staticmethod
    def entity(advance_id: str) -> str:
        return f"ADVANCE#{advance_id}"

    def get(self, advance_id: str) -> Advance | None:
        found = self.items.get(advance_id)
        return found.model_copy(deep=True) if found else None

    def create(self, advance: Advance, actor: Principal, action: str = "advance.requested") -> None:
        with self._lock:
            if advance.advance_id in self.items:
                raise AlreadyExists(advance.advance_id)
            self.items[advance.advance_id] = advance.model_copy(deep=True)
            self._audit.append(self.entity(advance.advance_id), actor, action, None, advance.model_dump(mode="json"))

    def save(self, before: Advance, after: Advance, actor: Principal, action: str) -> Advance:
        with self._lock:
            stored = self.items.get(after.advance_id)
            if stored is None or stored.version != before.version:
                raise ConcurrentChange(f"advance {after.advance_id} changed concurrently")
            self.items[after.advance_id] = after.model_copy(deep=True)
            self._audit.append(self.entity(after.advance_id), actor, action, before.model_dump(mode="json"),
                               after.model_dump(mode="json"))
        return after

    def note(self, advance_id: str, actor: Principal, action: str, details: dict) -> None:
        self._audit.append(self.entity(advance_id), actor, action, None, details)

    def history(self, advance_id: str) -> list[AuditRecord]:
        return self._audit.records(self.entity(advance_id))

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Advance]:
        found = [a for a in self.items.values() if a.employee_id == employee_id]
        return sorted(found, key=lambda a: a.created_at, reverse=True)[:limit]

    def by_status(self, status: AdvanceStatus, limit: int = 500) -> list[Advance]:
        found = [a for a in self.items.values() if a.status == status]
        return sorted(found, key=lambda a: a.created_at, reverse=True)[:limit]
