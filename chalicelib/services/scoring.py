"""Use case: a claim was submitted; score it, then hand it to the approval state machine.

Any failure on the way ends the claim as `failed` with a reason a person can read, and the claimant is told
(finance is alerted by the failed-claims alarm). Why not retry: the stream would redeliver the record a few
times and then drop it in the dead-letter queue, leaving the claim `submitted` for ever with nobody told; and
the usual causes (a currency finance has no HKD rate for, data the rules cannot value) do not heal on retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.anomaly import (
    DEAD,
    History,
    Sighting,
    SpendRecord,
    VendorResolver,
    assess_claim,
    record_from_expense,
    roll_up,
    weak_evidence,
)
from chalicelib.domain.claim import TERMINAL, Claim, ClaimStatus
from chalicelib.domain.errors import ConcurrentChange, ExecutionAlreadyStarted
from chalicelib.domain.expense import Expense, ExpenseRef
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import CurrencyMismatch, NoFxRate
from chalicelib.domain.policy import Policy
from chalicelib.domain.vendors import VendorDirectory, seed_directory
from chalicelib.services.ports import ClaimStore, Directory, ExpenseStore, ScoringHistory, WorkflowEngine

log = logging.getLogger(__name__)
RULES_ONLY_VERSION = "rules-only"  # what a claim scored without a model records (as anomaly_model's RulesOnly)
Tell = Callable[[Claim, str], None]  # ClaimantUpdates.tell


def needs_scoring(old: Claim | None, new: Claim) -> bool:
    """Only the transition into `submitted` starts work; every other stream record is ignored."""
    return new.status == ClaimStatus.SUBMITTED and (old is None or old.status != ClaimStatus.SUBMITTED)


def execution_name(claim: Claim) -> str:
    return f"{claim.claim_id}-s{claim.submission_count}"


def sightings(refs: list[ExpenseRef], claim: Claim, claims: ClaimStore) -> list[Sighting]:
    """The expenses among `refs` held by a live claim (this one included); unattached ones claim nothing yet."""
    out, status = [], {claim.claim_id: claim.status}
    for ref in refs:
        if ref.claim_id is None:
            continue
        if ref.claim_id not in status:
            other = claims.get(ref.claim_id)
            status[ref.claim_id] = other.status if other else ClaimStatus.FAILED
        if status[ref.claim_id] not in DEAD:
            out.append(Sighting(expense_id=ref.expense_id, claim_id=ref.claim_id, employee_id=ref.employee_id))
    return out


#: Claims that were never scored are nobody's history yet.
NOT_YET = frozenset({ClaimStatus.DRAFT, ClaimStatus.SUBMITTED})


def counts(claim: Claim) -> bool:
    """Whether a stored claim is part of the company's history (scored, and not rejected or failed)."""
    return claim.status not in DEAD and claim.status not in NOT_YET


def company_of(claim: Claim, directory: Directory) -> str:
    """The company whose policy and model apply: its department's (`Department.company`)."""
    department = directory.department(claim.department_id)
    return department.company if department else "default"


def company_policy(directory: Directory, company: str) -> Policy:
    """The company's stored policy; a company with none of its own has the default company's."""
    if company != "default":
        policy = directory.policy(company)
        if policy.company == company:
            return policy
    return directory.policy()


class _Rows:
    """Claims as rows, the people and cost centres looked up once."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._people: dict = {}
        self._cost_centres: dict = {}

    def of(self, claim: Claim, policy: Policy) -> list[SpendRecord]:
        if claim.employee_id not in self._people:
            self._people[claim.employee_id] = self._directory.employee(claim.employee_id)
        if claim.department_id not in self._cost_centres:
            department = self._directory.department(claim.department_id)
            self._cost_centres[claim.department_id] = department.cost_centre if department else None
        rows = []
        for expense in claim.expenses:
            try:
                rows.append(record_from_expense(expense, claim, self._people[claim.employee_id], policy.fx,
                                                self._cost_centres[claim.department_id]))
            except (NoFxRate, CurrencyMismatch):
                continue  # an old claim in a currency no longer priced: not comparable, left out
        return rows


class ClaimStoreHistory:
    """The default `ScoringHistory`, read from the claims store the service already has (DynamoDB in AWS, through
    its by-employee and by-department indexes: no new table or key schema): the claimant's own recent claims and
    their department's. What it cannot see is said here, not hidden: colleagues' receipts in other departments
    are found only by the exact file / vendor+date+total indexes (ExpenseStore), and a cost centre's spend is
    counted from its department's latest `limit` claims, not from a ledger."""

    def __init__(self, claims: ClaimStore, directory: Directory, limit: int = 200) -> None:
        self._claims = claims
        self._directory = directory
        self._limit = limit

    def history(self, claim: Claim, policy: Policy) -> History:
        seen: dict[str, Claim] = {}
        for other in [*self._claims.by_employee(claim.employee_id, self._limit),
                      *self._claims.by_department(claim.department_id, self._limit)]:
            if other.claim_id != claim.claim_id and counts(other):
                seen.setdefault(other.claim_id, other)
        rows = _Rows(self._directory)
        return History([r for other in seen.values() for r in rows.of(other, policy)])

    def remember(self, claim: Claim, records: list[SpendRecord]) -> None:
        """The claims table is the history: nothing to write."""


class BatchHistory:
    """`ClaimStoreHistory` read once per stream batch: each department's latest `limit` claims and each claimant's
    are read the first time a claim of theirs is scored in the batch, and the claims scored in the batch join their
    department's history as they are scored (`remember`). Why: read per claim, the two index Queries and the few
    hundred claims they return were most of a claim's scoring time (bench.anomaly, records/s through the handler).

    What it sees is what `ClaimStoreHistory` sees, and a little more: a claim is compared with the claims of every
    colleague of its department scored in the batch before it, and with the own claims of every claimant of the
    batch from that department (read for one, kept for all). One instance per batch (per handler invocation): a
    claim scored meanwhile in another shard's batch is read by the next batch, as before."""

    def __init__(self, claims: ClaimStore, directory: Directory, limit: int = 200) -> None:
        self._claims = claims
        self._limit = limit
        self._rows = _Rows(directory)
        self._departments: dict[str, tuple[History, set[str]]] = {}  # department -> (history, claim ids in it)
        self._employees: set[str] = set()  # claimants whose own claims were read

    def history(self, claim: Claim, policy: Policy) -> History:
        found = self._departments.get(claim.department_id)
        if found is None:
            found = self._departments[claim.department_id] = (History([]), set())
            self._add(found, self._claims.by_department(claim.department_id, self._limit), policy, claim)
        if claim.employee_id not in self._employees:
            self._employees.add(claim.employee_id)
            self._add(found, self._claims.by_employee(claim.employee_id, self._limit), policy, claim)
        return found[0]

    def _add(self, found: tuple[History, set[str]], claims: list[Claim], policy: Policy, scoring: Claim) -> None:
        history, ids = found
        for other in sorted(claims, key=lambda c: (c.submitted_at or c.updated_at, c.claim_id)):
            if other.claim_id != scoring.claim_id and other.claim_id not in ids and counts(other):
                ids.add(other.claim_id)
                history.add_claim(self._rows.of(other, policy))

    def remember(self, claim: Claim, records: list[SpendRecord]) -> None:
        found = self._departments.get(claim.department_id)
        if found is not None and claim.claim_id not in found[1]:
            found[1].add(claim.claim_id)
            found[0].add_claim(records)


class CachedDirectory:
    """The directory as one stream batch reads it: each employee, department and policy fetched once (the policy is
    parsed once, not once a claim). Organisation data changes rarely; a batch takes a second."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._cache: dict[tuple[str, str], object] = {}

    def _once(self, kind: str, key: str, read):
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = read(key)
        return self._cache[(kind, key)]

    def employee(self, employee_id: str):
        return self._once("employee", employee_id, self._directory.employee)

    def department(self, department_id: str):
        return self._once("department", department_id, self._directory.department)

    def policy(self, company: str = "default"):
        return self._once("policy", company, self._directory.policy)

    def __getattr__(self, name: str):
        return getattr(self._directory, name)


class ModelHook(Protocol):
    """The company's anomaly model as one extra rule (chalicelib.services.anomaly_model: ModelRule or RulesOnly):
    `prime` scores a claim's rows in one batch, `version` is recorded on the claim, `note` says why there is none."""

    version: str
    note: str | None

    def prime(self, rows: list[SpendRecord], history: History) -> None: ...

    def __call__(self, row: SpendRecord, history: History) -> list: ...


def assess(claim: Claim, claims: ClaimStore, expenses: ExpenseStore, directory: Directory, history: ScoringHistory,
           vendors: VendorDirectory, model: ModelHook | None = None) -> tuple[dict, list]:
    """Every rule over the claim: exact duplicates from the expense indexes (live claims only), the rest against
    the company's history, and the company's model when given. Returns the findings per expense id and the claim's
    rows (for `remember`)."""
    policy = company_policy(directory, company_of(claim, directory))
    employee = directory.employee(claim.employee_id)
    department = directory.department(claim.department_id)
    cost_centre = department.cost_centre if department else None
    rows = [record_from_expense(e, claim, employee, policy.fx, cost_centre) for e in claim.expenses]
    same_file, same_content = {}, {}
    for expense in claim.expenses:
        by_file = expenses.by_file_hash(expense.evidence_key) if expense.evidence_key else []
        by_content = expenses.by_dedupe_key(expense.dedupe_key) if expense.dedupe_key else []
        same_file[expense.expense_id] = sightings(by_file, claim, claims)
        same_content[expense.expense_id] = sightings(by_content, claim, claims)
    same_image = {e.expense_id: near_photos(e, claim, claims, expenses, directory, policy) for e in claim.expenses
                  if e.image_hash}
    seen = history.history(claim, policy)
    if model is not None:
        model.prime(rows, seen)
    findings = assess_claim(rows, seen, policy, VendorResolver(vendors), same_file, same_content,
                            same_image=same_image, extra_rules=[model] if model is not None else [])
    for expense in claim.expenses:
        findings[expense.expense_id] += weak_evidence(expense)
    return findings, rows


def near_photos(expense: Expense, claim: Claim, claims: ClaimStore, expenses: ExpenseStore, directory: Directory,
                policy: Policy) -> list[SpendRecord]:
    """Rows of live claims' expenses whose photo hashes near this one's (any department: the hash index)."""
    out = []
    for s in sightings(expenses.by_image_hash(expense.image_hash), claim, claims):
        other = claim if s.claim_id == claim.claim_id else claims.get(s.claim_id)
        held = other.expense(s.expense_id) if other else None
        if held is not None and held.expense_id != expense.expense_id:
            try:
                out.append(record_from_expense(held, other, directory.employee(other.employee_id), policy.fx))
            except (NoFxRate, CurrencyMismatch):
                continue
    return out


def score_and_route(
    claim_id: str, claims: ClaimStore, expenses: ExpenseStore, directory: Directory, workflow: WorkflowEngine,
    tell: Tell, history: ScoringHistory | None = None, vendors: VendorDirectory | None = None,
    model: ModelHook | None = None,
) -> Claim | None:
    """`history`: what the company has seen (default: read from the claims store, see
    `ClaimStoreHistory`); `vendors`: the company's directory with finance's
    approved suppliers (default: the shipped seed, which names none, so the partner rule stays quiet); `model`:
    the company's anomaly model (default: none, the rules only). The claim records which model version scored it
    (`risk_model_version`), and so does its audit trail (`claim.risk_model`, with the reason when rules only)."""
    claim = claims.get(claim_id)
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return claim  # already scored by an earlier delivery of the same record
    try:
        history = history or ClaimStoreHistory(claims, directory)
        findings, rows = assess(claim, claims, expenses, directory, history, vendors or seed_directory(), model)
        risk = roll_up(claim, findings)
        per_expense = [e.model_copy(update={"risk_reasons": [f.reason for f in findings[e.expense_id]]})
                       for e in claim.expenses]
        scored = claims.save(
            claim,
            claim.moved_to(ClaimStatus.SCORED, risk_score=risk.score, risk_reasons=risk.reasons,
                           expenses=[e.model_dump() for e in per_expense],
                           risk_model_version=model.version if model is not None else RULES_ONLY_VERSION),
            SYSTEM,
            action="claim.scored",
        )
        name = execution_name(scored)
        in_approval = claims.save(
            scored,
            scored.moved_to(ClaimStatus.IN_APPROVAL, execution_arn=name),
            SYSTEM,
            action="claim.approval_started",
        )
    except ConcurrentChange:
        return claims.get(claim_id)
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        return _fail(claims, claim_id, f"it could not be scored: {_why(exc)}", exc, tell)
    history.remember(in_approval, rows)
    if model is not None and model.note:  # no model for this company: its audit trail says why (the claim.scored
        try:  # record already carries risk_model_version, as every scored claim's does)
            claims.note(claim_id, SYSTEM, "claim.risk_model", {"model_version": model.version, "note": model.note})
        except Exception as exc:  # noqa: BLE001 - a missing note must not stop the claim
            log.warning("claim %s: risk model note not written: %s", claim_id, type(exc).__name__)
    try:
        workflow.start(name, {"claim_id": claim_id})
    except ExecutionAlreadyStarted:
        pass
    except Exception as exc:  # noqa: BLE001
        return _fail(claims, claim_id, f"could not start approval: {_why(exc)}", exc, tell)
    return in_approval


def _why(exc: Exception) -> str:
    """Words for the claimant: the message of the errors people can act on, the error's kind otherwise."""
    if isinstance(exc, (NoFxRate, CurrencyMismatch)):
        return str(exc)
    return f"an unexpected {type(exc).__name__}"


def _fail(claims: ClaimStore, claim_id: str, reason: str, exc: Exception, tell: Tell) -> Claim | None:
    log.error("claim %s failed in scoring: %s", claim_id, type(exc).__name__, exc_info=exc)
    current = claims.get(claim_id)  # a step may have been saved before the failure
    if current is None or current.status in TERMINAL:
        return current
    failed = claims.save(current, current.moved_to(ClaimStatus.FAILED, failure_reason=reason), SYSTEM,
                         action="claim.failed")
    tell(failed, "failed")
    return failed
