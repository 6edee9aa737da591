"""The stores and gateways the use cases need, as Protocols: DynamoDB/boto3 adapters implement them in
`chalicelib.adapters`, in-memory fakes in `tests/fakes.py`, so every use case runs in milliseconds in a unit
test and unchanged on the local stack or in AWS.

Adapters translate storage errors into the domain's (`chalicelib.domain.errors`): a use case never catches a
PynamoDB or botocore exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from chalicelib.domain.advance import Advance, AdvanceStatus
from chalicelib.domain.anomaly import History, SpendRecord
from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Delegation, Department, Employee, Office
from chalicelib.domain.expense import Expense, ExpenseRef
from chalicelib.domain.fx_rates import FxRate, RateBook
from chalicelib.domain.identity import Principal
from chalicelib.domain.ledger import JournalEntry
from chalicelib.domain.ledger_mapping import Posting, ReceiptFile
from chalicelib.domain.policy import Policy
from chalicelib.domain.posting_record import PostingRecord
from chalicelib.domain.schedule import WeatherAlert

Clock = Callable[[], datetime]


class AuditTrail(Protocol):
    def records(self, entity: str) -> list[AuditRecord]: ...

    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None) -> None:
        ...

    def event(self, kind: str, at: datetime, actor: Principal, action: str, after: dict) -> str: ...


class ClaimStore(Protocol):
    """Every save is conditional on the version read and appends the claim's next audit record with it:
    raises ConcurrentChange when someone else wrote first, AlreadyExists on a second create.

    The same write moves the claim's expenses: one that joins the claim must still be unattached (and
    unchanged since it was read), one that leaves it becomes unattached again; so an expense is never in two
    claims, and the expense index (duplicate checks) always names the claim that holds it."""

    def entity(self, claim_id: str) -> str: ...

    def get(self, claim_id: str) -> Claim | None: ...

    def create(self, claim: Claim, actor: Principal, action: str = "claim.created") -> None: ...

    def save(self, before: Claim, after: Claim, actor: Principal, action: str) -> Claim: ...

    def note(self, claim_id: str, actor: Principal, action: str, details: dict) -> None:
        """An audit record on the claim's chain about its evidence, the claim itself unchanged."""

    def history(self, claim_id: str) -> list[AuditRecord]: ...

    def by_department(self, department_id: str, limit: int = 200) -> list[Claim]: ...

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Claim]: ...


class ExpenseStore(Protocol):
    """Expenses no claim holds yet (receipts just read, in full), and where every expense is.

    Saves are conditional like the claim store's: ConcurrentChange when the expense changed or joined a claim
    since it was read, AlreadyExists on a second create."""

    def entity(self, expense_id: str) -> str: ...

    def get(self, expense_id: str) -> Expense | None:
        """The unattached expense; None when it does not exist or a claim holds it (see `locate`)."""

    def locate(self, expense_id: str) -> ExpenseRef | None: ...

    def create(self, expense: Expense, actor: Principal, action: str = "expense.created") -> None: ...

    def save(self, before: Expense, after: Expense, actor: Principal, action: str) -> Expense: ...

    def note(self, expense_id: str, actor: Principal, action: str, details: dict) -> None: ...

    def history(self, expense_id: str) -> list[AuditRecord]: ...

    def unattached(self, employee_id: str, limit: int = 200) -> list[Expense]: ...

    def by_file_hash(self, sha256: str) -> list[ExpenseRef]: ...

    def by_dedupe_key(self, key: str) -> list[ExpenseRef]: ...

    def by_image_hash(self, image_hash: str) -> list[ExpenseRef]:
        """Expenses whose photo's perceptual hash is near (the same paper photographed again)."""
        ...


class Directory(Protocol):
    def employee(self, employee_id: str) -> Employee | None: ...

    def employee_by_email(self, email: str) -> Employee | None: ...

    def department(self, department_id: str) -> Department | None: ...

    def office(self, office_id: str) -> Office | None: ...

    def policy(self, company: str = "default") -> Policy: ...

    def weather(self) -> WeatherAlert: ...

    def delegation(self, approver_id: str) -> Delegation | None: ...

    def put_employee(self, employee: Employee) -> None: ...

    def put_department(self, department: Department) -> None: ...

    def put_office(self, office: Office) -> None: ...

    def put_policy(self, policy: Policy) -> None: ...

    def put_weather(self, alert: WeatherAlert) -> None: ...

    def put_delegation(self, delegation: Delegation) -> None: ...


class LinkStore(Protocol):
    """A link leaves `pending` exactly once: `mark_used` and `rebind` raise LinkAlreadyUsed otherwise."""

    def put_pending(self, link: StoredLink) -> None: ...

    def get(self, link_id: str) -> StoredLink | None: ...

    def mark_used(self, link: StoredLink, state: str = "used") -> None: ...

    def pending(self) -> list[StoredLink]: ...

    def pending_for(self, approver_id: str) -> list[StoredLink]: ...

    def void(self, link_id: str | None) -> StoredLink | None: ...

    def rebind(self, link: StoredLink, task_token: str) -> None: ...

    def set_reminder_execution(self, link: StoredLink, name: str) -> None: ...


class BlobStore(Protocol):
    """Receipt files in a versioned bucket: `read` raises ObjectTooLarge over `max_bytes`."""

    def head(self, key: str, version_id: str | None = None) -> dict: ...

    def view_url(self, key: str, version_id: str | None, seconds: int) -> str: ...

    def read(self, key: str, max_bytes: int, version_id: str | None = None) -> bytes: ...

    def delete_version(self, key: str, version_id: str | None) -> None: ...

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None: ...

    def copy(self, source_key: str, key: str, version_id: str | None = None) -> None: ...


class Ledger(Protocol):
    def post(self, entry: JournalEntry) -> JournalEntry: ...

    def get(self, journal_id: str) -> JournalEntry | None: ...


# --- ledger posting: the port every ledger adapter serves (chalicelib/adapters/ledgers/) -------------------------
class ExternalDocument(BaseModel):
    """The ledger's document for a claim: stored on the claim so finance can open it."""

    model_config = ConfigDict(frozen=True)

    ledger: str  # "xero", "quickbooks", "internal", "journal_csv", ...
    kind: str  # "bill", "manual_journal", "journal", ...
    id: str
    url: str
    external_id: str  # the claim id, as the ledger holds it
    attachments: tuple[str, ...] = ()  # file names the ledger holds for it
    attachment_errors: tuple[str, ...] = ()  # receipts the ledger refused (the document stands without them)


class LedgerAdapter(Protocol):
    """Raises the ledger errors of chalicelib.domain.errors (LedgerError and its kinds, each `retryable` or not)."""

    name: str

    def post(self, posting: Posting, receipts: Sequence[ReceiptFile] = ()) -> ExternalDocument:
        """Books the posting once, whatever the retries: a document already holding the external id is
        returned (with any missing receipt attached), never written again."""
        ...

    def find(self, external_id: str) -> ExternalDocument | None: ...


class PostingRecordStore(Protocol):
    """Approved claims on their way to the books (chalicelib.domain.posting_record): `queue` creates once (a
    repeat returns the first), `save` is conditional on the version read (ConcurrentChange otherwise)."""

    def queue(self, record: PostingRecord) -> PostingRecord: ...

    def get(self, period: str, claim_id: str) -> PostingRecord | None: ...

    def save(self, before: PostingRecord, after: PostingRecord) -> PostingRecord: ...

    def by_period(self, period: str) -> list[PostingRecord]: ...


class RateStore(Protocol):
    """Dated FX rates (finance's uploads, a feed)."""

    def put_many(self, rates: Sequence[FxRate]) -> int: ...

    def rates(self, currency: str) -> list[FxRate]: ...

    def book(self, currencies: Iterable[str], max_age_days: int = ...) -> RateBook: ...


class WorkflowEngine(Protocol):
    """Step Functions: `start` raises ExecutionAlreadyStarted for a name used before; `succeed`/`fail` return
    False when the task is no longer waiting."""

    def start(self, name: str, payload: dict) -> str: ...

    def stop(self, name: str, cause: str) -> None: ...

    def succeed(self, task_token: str, output: dict) -> bool: ...

    def fail(self, task_token: str, error: str, cause: str) -> bool: ...


class Notifier(Protocol):
    def publish(self, subject: str, message: dict, attributes: dict[str, str]) -> str: ...


class Signer(Protocol):
    """Asymmetric signatures whose private key the application never holds (KMS in AWS)."""

    def sign(self, message: bytes) -> tuple[str, str]: ...

    def verify(self, message: bytes, key_id: str, signature: str) -> bool: ...


class Telephony(Protocol):
    """SMS and voice reminders (a telephony provider; an outbox queue on the local stack)."""

    def send_sms(self, phone: str, text: str) -> str: ...

    def call(self, phone: str, text: str, timezone: str) -> str: ...


class AdvanceStore(Protocol):
    """Cash advances with their audit chain (entity `ADVANCE#id`), as the claim store keeps claims: every save is
    conditional on the version read (ConcurrentChange otherwise) and writes the audit record with it;
    a second create raises AlreadyExists."""

    def entity(self, advance_id: str) -> str: ...

    def get(self, advance_id: str) -> Advance | None: ...

    def create(self, advance: Advance, actor: Principal, action: str = "advance.requested") -> None: ...

    def save(self, before: Advance, after: Advance, actor: Principal, action: str) -> Advance: ...

    def note(self, advance_id: str, actor: Principal, action: str, details: dict) -> None:
        """An audit record on the advance's chain (a reminder sent), the advance itself unchanged."""

    def history(self, advance_id: str) -> list[AuditRecord]: ...

    def by_employee(self, employee_id: str, limit: int = 200) -> list[Advance]: ...

    def by_status(self, status: AdvanceStatus, limit: int = 500) -> list[Advance]: ...


class ScoringHistory(Protocol):
    """What a company has seen before a claim, for the anomaly rules: the earlier claims' rows as a `History`.

    `history` leaves out the claim itself and claims that no longer count (rejected, failed, drafts);
    `remember` is told each scored claim's rows (a store that reads the claims table itself ignores it)."""

    def history(self, claim: Claim, policy: Policy) -> History: ...

    def remember(self, claim: Claim, records: list[SpendRecord]) -> None: ...
