"""PynamoDB models: the table layouts of infra/resources.py as the code sees them (a test compares the two).

Table names and the region come from `Settings` (the one reader of the environment) when the composition root
calls `bind`; an unbound model refuses to run. The full claim is kept as JSON in `body` (decimals as strings)
beside the attributes that keys and indexes need, so a stream record carries everything the scorer needs without
a second read; the claim's expenses travel inside it.
"""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.config import Settings


class _ByDepartment(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-department"
        projection = AllProjection()

    department_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class _ByEmployee(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-employee"
        projection = AllProjection()

    employee_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class _ExpensesByEmployee(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-employee"
        projection = AllProjection()

    employee_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class _ByFileHash(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-file-hash"
        projection = AllProjection()

    file_sha256 = UnicodeAttribute(hash_key=True)


class _ByDedupeKey(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-dedupe-key"
        projection = AllProjection()

    dedupe_key = UnicodeAttribute(hash_key=True)


def _image_band_index(band: int) -> GlobalSecondaryIndex:
    """Sparse: expenses whose photo's perceptual hash has this 8-bit band value (bands 0-7, one index each:
    DynamoDB cannot search by Hamming distance, so near hashes are found by a shared band, then compared). Only
    the hash and where the expense is are projected."""
    meta = type("Meta", (), {"index_name": f"by-image-band-{band}",
                             "projection": IncludeProjection(["image_hash", "employee_id", "claim_id"])})
    index = type(f"_ByImageBand{band}", (GlobalSecondaryIndex,),
                 {"Meta": meta, f"image_band_{band}": UnicodeAttribute(hash_key=True)})
    return index()


class _ByFlagged(GlobalSecondaryIndex):
    """Sparse: open claims with risk reasons (finance's anomaly queue)."""

    class Meta:
        index_name = "by-flagged"
        projection = AllProjection()

    flagged_department = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class _ByReview(GlobalSecondaryIndex):
    """Sparse: open claims holding an expense extraction was unsure of (finance's needs-review queue)."""

    class Meta:
        index_name = "by-review"
        projection = AllProjection()

    review_department = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ClaimItem(Model):
    class Meta:
        table_name = None  # set by bind()

    claim_id = UnicodeAttribute(hash_key=True)
    department_id = UnicodeAttribute()
    employee_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    body = UnicodeAttribute()
    flagged_department = UnicodeAttribute(null=True)  # set only while the claim is in the anomaly queue
    review_department = UnicodeAttribute(null=True)  # set only while it is in the needs-review queue

    by_department = _ByDepartment()
    by_employee = _ByEmployee()
    by_flagged = _ByFlagged()
    by_review = _ByReview()


class ExpenseItem(Model):
    """An unattached expense in full (`body`); once a claim holds it, only the index attributes (the claim keeps
    the expense itself, so the two can never disagree)."""

    class Meta:
        table_name = None  # set by bind()

    expense_id = UnicodeAttribute(hash_key=True)
    employee_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    claim_id = UnicodeAttribute(null=True)
    file_sha256 = UnicodeAttribute(null=True)  # Expense.evidence_key: the file's SHA-256 (+ "#part" for one of several)
    dedupe_key = UnicodeAttribute(null=True)
    image_hash = UnicodeAttribute(null=True)  # Expense.image_hash, and its four bands (sparse index keys)
    image_band_0 = UnicodeAttribute(null=True)
    image_band_1 = UnicodeAttribute(null=True)
    image_band_2 = UnicodeAttribute(null=True)
    image_band_3 = UnicodeAttribute(null=True)
    image_band_4 = UnicodeAttribute(null=True)
    image_band_5 = UnicodeAttribute(null=True)
    image_band_6 = UnicodeAttribute(null=True)
    image_band_7 = UnicodeAttribute(null=True)
    version = NumberAttribute()
    body = UnicodeAttribute(null=True)

    by_employee = _ExpensesByEmployee()
    by_file_hash = _ByFileHash()
    by_dedupe_key = _ByDedupeKey()
    by_image_band_0 = _image_band_index(0)
    by_image_band_1 = _image_band_index(1)
    by_image_band_2 = _image_band_index(2)
    by_image_band_3 = _image_band_index(3)
    by_image_band_4 = _image_band_index(4)
    by_image_band_5 = _image_band_index(5)
    by_image_band_6 = _image_band_index(6)
    by_image_band_7 = _image_band_index(7)


class DirectoryItem(Model):
    """pk/sk single table: OFFICE#id, DEPT#id, EMP#id, EMAIL#addr, POLICY#company (sk = PROFILE); the department
    list DEPARTMENTS / <department id> (with its `headcount`) and each department's members DEPT#id / MEMBER#emp,
    kept by `DirectoryRepository.put_employee`, so counting or listing them is a Query, not a Scan."""

    class Meta:
        table_name = None  # set by bind()

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)
    headcount = NumberAttribute(null=True)


class VendorItem(Model):
    """A vendor directory entry finance added or changed: the `Vendor` as JSON in `body`."""

    class Meta:
        table_name = None  # set by bind()

    vendor_id = UnicodeAttribute(hash_key=True)
    body = UnicodeAttribute()
    updated_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class _ByHour(GlobalSecondaryIndex):
    """Which chains moved in an hour (keys only): the seal sweep and the auditor export find them here."""

    class Meta:
        index_name = "by-hour"
        projection = KeysOnlyProjection()

    hour_shard = UnicodeAttribute(hash_key=True)


class AuditItem(Model):
    class Meta:
        table_name = None  # set by bind()

    entity = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute()
    hash = UnicodeAttribute()
    hour_shard = UnicodeAttribute(null=True)  # "<yyyy-mm-ddThh>#<0-7>": not part of the record or its hash
    by_hour = _ByHour()


class _ByApprover(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-approver"
        projection = AllProjection()

    approver_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(range_key=True)


class ApprovalItem(Model):
    class Meta:
        table_name = None  # set by bind()

    link_id = UnicodeAttribute(hash_key=True)
    claim_id = UnicodeAttribute()
    level = NumberAttribute()
    approver_id = UnicodeAttribute()
    task_token = UnicodeAttribute()
    content_hash = UnicodeAttribute()
    state = UnicodeAttribute()  # pending | used | returned | void
    expires_epoch = NumberAttribute()
    role = UnicodeAttribute(default="approver")
    on_behalf_of = UnicodeAttribute(null=True)
    reminder_execution = UnicodeAttribute(null=True)
    route_approvers = ListAttribute(of=UnicodeAttribute, null=True)  # the claim's other steps' approvers

    by_approver = _ByApprover()


class LedgerItem(Model):
    class Meta:
        table_name = None  # set by bind()

    journal_id = UnicodeAttribute(hash_key=True)
    claim_id = UnicodeAttribute()
    body = UnicodeAttribute()


class _AdvancesByEmployee(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-employee"
        projection = AllProjection()

    employee_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class _AdvancesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AdvanceItem(Model):
    """A cash advance (備用金): the full advance as JSON in `body`, keys and index attributes beside it."""

    class Meta:
        table_name = None  # set by bind()

    advance_id = UnicodeAttribute(hash_key=True)
    employee_id = UnicodeAttribute()
    department_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    body = UnicodeAttribute()

    by_employee = _AdvancesByEmployee()
    by_status = _AdvancesByStatus()


class FinanceItem(Model):
    """The finance dashboard's aggregates (see infra/resources.py "finance"): counters as JSON in `body`, each
    write conditional on `version`."""

    class Meta:
        table_name = None  # set by bind()

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    body = UnicodeAttribute()


class FxRateItem(Model):
    """One dated rate as loaded (chalicelib/adapters/rate_store.py): every load is kept, a correction beside the
    rate it corrects (sk = date#loaded_at), so an audit sees both; RateBook picks the latest load of a day."""

    class Meta:
        table_name = None  # set by bind()

    currency = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<rate date>#<loaded_at>"
    body = UnicodeAttribute()  # the FxRate as JSON (rate as a decimal string, source, loaded_by, loaded_at)


class PostingItem(Model):
    """One approved claim on its way to the books (chalicelib/adapters/posting_records.py): queued, posted or
    failed, per period (the month it was approved, Hong Kong time). Reconciliation and the journal CSV are a Query
    of one period."""

    class Meta:
        table_name = None  # set by bind()

    period = UnicodeAttribute(hash_key=True)  # "YYYY-MM"
    claim_id = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    body = UnicodeAttribute()


# logical table (infra/resources.py) -> its model; the idempotency table is Powertools' own
MODELS: dict[str, type[Model]] = {"claims": ClaimItem, "expenses": ExpenseItem, "directory": DirectoryItem,
                                  "audit": AuditItem, "approvals": ApprovalItem, "ledger": LedgerItem,
                                  "advances": AdvanceItem, "finance": FinanceItem,
                                  "vendors": VendorItem, "fx_rates": FxRateItem, "postings": PostingItem}


def bind(settings: Settings) -> None:
    """Point every model at this deployment's tables; a rebound model drops its cached connection."""
    for logical, model in MODELS.items():
        model.Meta.table_name = getattr(settings, f"{logical}_table")
        model.Meta.region = settings.region
        model._connection = None
