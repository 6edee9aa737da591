"""Personal data under the PDPO: an employee's bank account for reimbursements (sealed; read only by payroll and
finance admins, each read audited), a data access request (DSAR: everything held about one person, DPP6) and a
correction request path (a sentence to finance, resolved with a sentence back).

Every event here is a record on the person's own audit chain, `PERSON#<employee_id>`, so the DSAR itself can list
who read their bank account and when. The API guard (domain/rbac.py) has already checked the route's row; the
use cases check the record again through the same table, so a caller other than the API cannot skip it.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from chalicelib.domain import masking, rbac
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.bank_account import BankAccount, SealedBankAccount
from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Delegation, Department, Employee
from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.domain.privacy import CorrectionRequest, CorrectionStatus
from chalicelib.services.claims import NotFound

BANK_READ = ("GET", "/employees/{employee_id}/bank-account")
DSAR_FOR = ("POST", "/admin/dsar/{employee_id}")
CORRECTIONS_READ = ("GET", "/finance/correction-requests")
CORRECTIONS_RESOLVE = ("POST", "/finance/correction-requests/{request_id}/resolve")


def person_entity(employee_id: str) -> str:
    """The audit chain of privacy events about one person (bank details set and read, data requests)."""
    return f"PERSON#{employee_id}"


# ---- ports ------------------------------------------------------------------------------------------------------


class Audit(Protocol):
    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None) -> None: ...
    def records(self, entity: str) -> list[AuditRecord]: ...


class Vault(Protocol):
    def seal(self, employee_id: str, account: BankAccount, by: str, at: datetime) -> SealedBankAccount: ...
    def open(self, sealed: SealedBankAccount) -> BankAccount: ...
    def put(self, sealed: SealedBankAccount) -> None: ...
    def get(self, employee_id: str) -> SealedBankAccount | None: ...


class Directory(Protocol):
    def employee(self, employee_id: str) -> Employee | None: ...
    def delegation(self, approver_id: str) -> Delegation | None: ...
    def departments(self, only: list[str] | None = None) -> list[tuple[Department, int]]: ...


class Corrections(Protocol):
    def put(self, request: CorrectionRequest) -> None: ...
    def in_department(self, department_id: str) -> list[CorrectionRequest]: ...
    def find(self, department_ids: list[str], request_id: str) -> CorrectionRequest | None: ...


class Holdings(Protocol):
    """Where the rest of a person's data lives (claims, expenses, advances, approvals they decided)."""

    def claims_of(self, employee_id: str) -> list[Claim]: ...
    def unattached_expenses_of(self, employee_id: str) -> list: ...
    def expense_history(self, expense_id: str) -> list[AuditRecord]: ...
    def advances_of(self, employee_id: str) -> list: ...
    def advance_history(self, advance_id: str) -> list[AuditRecord]: ...
    def claims_decided_by(self, approver_id: str) -> list[Claim]: ...
    def claim_entity(self, claim_id: str) -> str: ...


# ---- bank account -----------------------------------------------------------------------------------------------


def set_bank_account(principal: Principal, vault: Vault, audit: Audit, account: BankAccount, now: datetime) -> dict:
    """The employee sets their own account (a new data key each time); the audit record holds the last 4 only."""
    sealed = vault.seal(principal.employee_id, account, principal.user_id, now)
    vault.put(sealed)
    audit.append(person_entity(principal.employee_id), principal, "bank_account.set", None,
                 {"account_number": masking.mask_last4(account.account_number), "key_id": sealed.key_id})
    return {"bank_account": account.masked(), "updated_at": now.isoformat()}


def read_bank_account(principal: Principal, vault: Vault, audit: Audit, directory: Directory,
                      employee_id: str) -> dict:
    """The account in full, for paying a reimbursement: recorded on the person's chain before it is decrypted
    (a read that could not be recorded does not happen)."""
    employee = directory.employee(employee_id)
    if not rbac.permits(principal, *BANK_READ, employee_id=employee_id,
                        department_id=employee.department_id if employee else None):
        raise Forbidden("bank details are read by payroll and finance admins only")
    sealed = vault.get(employee_id)
    if employee is None or sealed is None:
        raise NotFound(f"no bank account on record for {employee_id}")
    audit.append(person_entity(employee_id), principal, "bank_account.read", None,
                 {"employee_id": employee_id, "reader": principal.employee_id,
                  "reader_roles": sorted(r.value for r in principal.roles), "key_id": sealed.key_id})
    account = vault.open(sealed)
    return {"employee_id": employee_id, "bank_account": account.model_dump(), "updated_at": sealed.updated_at}


# ---- data access request (DSAR) ---------------------------------------------------------------------------------


def data_export(subject_id: str, requester: Principal, directory: Directory, holdings: Holdings, audit: Audit,
                vault: Vault, corrections: Corrections, now: datetime) -> dict:
    """Everything held about one employee, as data. The export leaves the system, so nothing in it is shown in
    full that nobody needs in full (masking.scrub with no role: HKID, card and account numbers masked; the bank
    account to its last 4). The request itself is recorded on the person's chain first."""
    employee = directory.employee(subject_id)
    if employee is None:
        raise NotFound(f"no employee {subject_id} in the directory")
    if subject_id != requester.employee_id and not rbac.permits(requester, *DSAR_FOR, employee_id=subject_id,
                                                                department_id=employee.department_id):
        raise Forbidden("a data access request for someone else is run by a finance admin")
    audit.append(person_entity(subject_id), requester, "privacy.data_export", None,
                 {"employee_id": subject_id, "requested_by": requester.employee_id})
    claims = holdings.claims_of(subject_id)
    unattached = holdings.unattached_expenses_of(subject_id)
    advances = holdings.advances_of(subject_id)
    sealed = vault.get(subject_id)
    delegation = directory.delegation(subject_id)
    decided = [
        {"claim_id": c.claim_id, "claimant_id": c.employee_id,
         "decisions": [d.model_dump(mode="json") for d in c.decisions if d.approver_id == subject_id]}
        for c in holdings.claims_decided_by(subject_id)]
    audit_records = {
        "person": _dump(audit.records(person_entity(subject_id))),
        "claims": {c.claim_id: _dump(audit.records(holdings.claim_entity(c.claim_id))) for c in claims},
        # each expense's own trail (before it joined a claim, or while it is unattached)
        "expenses": {e.expense_id: _dump(holdings.expense_history(e.expense_id))
                     for e in [*unattached, *(x for c in claims for x in c.expenses)]},
        "advances": {a.advance_id: _dump(holdings.advance_history(a.advance_id)) for a in advances},
    }
    data = {
        "generated_at": now.isoformat(),
        "employee": employee.model_dump(mode="json"),
        "claims": [c.model_dump(mode="json") for c in claims],
        "unattached_expenses": [e.model_dump(mode="json") for e in unattached],
        "advances": [a.model_dump(mode="json") for a in advances],
        "approvals_made": [row for row in decided if row["decisions"]],
        "delegation": delegation.model_dump(mode="json") if delegation else None,
        "bank_account": ({"account_number": f"****{sealed.last4}", "updated_at": sealed.updated_at.isoformat()}
                         if sealed else None),
        "correction_requests": [r.model_dump(mode="json") for r in corrections.in_department(employee.department_id)
                                if r.employee_id == subject_id],
        "audit_records": audit_records,
    }
    return masking.scrub_all(data, frozenset())  # type: ignore[return-value]


def _dump(records: list[AuditRecord]) -> list[dict]:
    return [r.model_dump(mode="json") for r in records]


def summary_lines(data: dict, t) -> list[str]:
    """The export in sentences, in the reader's language (`t(key, **values)` from the message catalogue)."""
    records = data["audit_records"]
    n_audit = len(records["person"]) + sum(len(v) for k in ("claims", "expenses", "advances")
                                           for v in records[k].values())
    bank = data["bank_account"]
    delegation = data["delegation"]
    return [
        t("privacy.summary.who", name=data["employee"]["name"], employee_id=data["employee"]["employee_id"],
          at=data["generated_at"]),
        t("privacy.summary.claims", n=len(data["claims"])),
        t("privacy.summary.expenses", n=len(data["unattached_expenses"])),
        t("privacy.summary.advances", n=len(data["advances"])),
        t("privacy.summary.approvals", n=sum(len(r["decisions"]) for r in data["approvals_made"])),
        t("privacy.summary.delegation", delegate=delegation["delegate_id"], until=delegation["ends_at"])
        if delegation else t("privacy.summary.no_delegation"),
        t("privacy.summary.bank", account=bank["account_number"]) if bank else t("privacy.summary.no_bank"),
        t("privacy.summary.corrections", n=len(data["correction_requests"])),
        t("privacy.summary.audit", n=n_audit),
        t("privacy.summary.files"),
    ]


def as_zip(data: dict, lines: list[str]) -> bytes:
    """data.json (everything, as data) and summary.txt (the same in sentences), UTF-8."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        z.writestr("summary.txt", "\n".join(lines) + "\n")
    return buf.getvalue()


# ---- correction requests ----------------------------------------------------------------------------------------


class CorrectionBody(BaseModel):
    what_is_wrong: str = Field(min_length=1, max_length=2000)


class Resolution(BaseModel):
    outcome: CorrectionStatus
    note: str = Field(min_length=1, max_length=2000)


def request_correction(principal: Principal, corrections: Corrections, audit: Audit, body: CorrectionBody,
                       now: datetime) -> CorrectionRequest:
    request = CorrectionRequest(request_id=uuid.uuid4().hex, employee_id=principal.employee_id,
                                department_id=principal.department_id, what_is_wrong=body.what_is_wrong.strip(),
                                created_at=now)
    corrections.put(request)
    audit.append(person_entity(principal.employee_id), principal, "privacy.correction_requested", None,
                 {"request_id": request.request_id})
    return request


def my_corrections(principal: Principal, corrections: Corrections) -> list[CorrectionRequest]:
    return [r for r in corrections.in_department(principal.department_id) if r.employee_id == principal.employee_id]


def _departments_in_reach(principal: Principal, directory: Directory, action: tuple[str, str]) -> list[str]:
    reach = rbac.scope(principal, *action)
    if reach >= rbac.Scope.EVERY:
        return [d.department_id for d, _ in directory.departments()]
    return [principal.department_id] if reach >= rbac.Scope.DEPARTMENT else []


def correction_queue(principal: Principal, corrections: Corrections, directory: Directory,
                     status: str | None = None) -> list[CorrectionRequest]:
    """Finance sees its department's requests; finance admins and auditors every department's; oldest first."""
    departments = _departments_in_reach(principal, directory, CORRECTIONS_READ)
    found = [r for d in departments for r in corrections.in_department(d)]
    return sorted((r for r in found if status is None or r.status == status), key=lambda r: r.created_at)


def resolve_correction(principal: Principal, corrections: Corrections, directory: Directory, audit: Audit,
                       request_id: str, resolution: Resolution, now: datetime) -> CorrectionRequest:
    if resolution.outcome == CorrectionStatus.OPEN:
        raise InvalidClaim("a resolution is corrected or declined")
    request = corrections.find(_departments_in_reach(principal, directory, CORRECTIONS_RESOLVE), request_id)
    if request is None:
        raise NotFound(f"no correction request {request_id}")
    if request.employee_id == principal.employee_id:
        raise Forbidden("someone else resolves a correction request about you")
    if request.status != CorrectionStatus.OPEN:
        return request  # resolved already: the first answer stands
    resolved = request.model_copy(update={"status": resolution.outcome, "resolved_by": principal.employee_id,
                                          "resolved_at": now, "resolution": resolution.note.strip()})
    corrections.put(resolved)
    audit.append(person_entity(request.employee_id), principal, f"privacy.correction_{resolution.outcome.value}",
                 {"status": request.status.value}, {"request_id": request_id, "status": resolution.outcome.value})
    return resolved
