"""services/privacy.py on fakes: the record-level rules behind the API's table (a bank read is audited before it is
decrypted, correction requests are resolved once and never by the person they are about, each department's queue
is its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.bank_account import BankAccount, SealedBankAccount
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.privacy import CorrectionRequest, CorrectionStatus
from chalicelib.services import privacy

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACCOUNT = BankAccount(holder_name="HO WING", bank_code="024", branch_code="555", account_number="12345678")
DEPTS = {"E1": "D1", "E2": "D1", "E3": "D2"}


def person(employee_id: str, *roles: Role) -> Principal:
    return Principal(user_id=f"u-{employee_id}", employee_id=employee_id, department_id=DEPTS[employee_id],
                     roles=frozenset(roles))


class Directory:
    def employee(self, employee_id):
        d = DEPTS.get(employee_id)
        return Employee(employee_id=employee_id, name=employee_id, email="x@example.com", department_id=d,
                        rank=2) if d else None

    def delegation(self, approver_id):
        return None

    def departments(self, only=None):
        return [(Department(department_id=d, name=d, office_id="o", head_id="h", cost_centre="c",
                            finance_controller_id="f"), 1) for d in ("D1", "D2")]


class Audit:
    def __init__(self):
        self.log = []

    def append(self, entity, actor, action, before, after):
        self.log.append((entity, actor.employee_id, action))

    def records(self, entity):
        return []


class Vault:
    """Opening records the order of events: the audit record must already be there."""

    def __init__(self, audit: Audit):
        self.audit, self.rows, self.opened_after = audit, {}, []

    def seal(self, employee_id, account, by, at):
        return SealedBankAccount(employee_id=employee_id, ciphertext=account.model_dump_json(), nonce="", key_id="k",
                                 encrypted_data_key="", last4=account.account_number[-4:], updated_at=at,
                                 updated_by=by)

    def open(self, sealed):
        self.opened_after.append(list(self.audit.log))
        return BankAccount.model_validate_json(sealed.ciphertext)

    def put(self, sealed):
        self.rows[sealed.employee_id] = sealed

    def get(self, employee_id):
        return self.rows.get(employee_id)


class Corrections:
    def __init__(self):
        self.rows: dict[str, CorrectionRequest] = {}

    def put(self, request):
        self.rows[request.request_id] = request

    def in_department(self, department_id):
        return [r for r in self.rows.values() if r.department_id == department_id]

    def find(self, department_ids, request_id):
        r = self.rows.get(request_id)
        return r if r and r.department_id in department_ids else None


def test_a_bank_read_is_on_the_persons_chain_before_the_account_is_opened():
    audit = Audit()
    vault = Vault(audit)
    privacy.set_bank_account(person("E1", Role.EMPLOYEE), vault, audit, ACCOUNT, AT)
    answer = privacy.read_bank_account(person("E3", Role.PAYROLL), vault, audit, Directory(), "E1")
    assert answer["bank_account"]["account_number"] == "12345678"
    assert vault.opened_after == [[("PERSON#E1", "E1", "bank_account.set"), ("PERSON#E1", "E3", "bank_account.read")]]


@pytest.mark.parametrize("roles", [(Role.FINANCE,), (Role.AUDITOR,), (Role.ADMIN,), (Role.EMPLOYEE, Role.APPROVER)])
def test_nobody_else_opens_a_bank_account_even_calling_the_use_case_directly(roles):
    audit = Audit()
    vault = Vault(audit)
    privacy.set_bank_account(person("E1", Role.EMPLOYEE), vault, audit, ACCOUNT, AT)
    with pytest.raises(Forbidden):
        privacy.read_bank_account(person("E2", *roles), vault, audit, Directory(), "E1")
    assert vault.opened_after == []


def test_corrections_go_to_the_department_are_resolved_once_and_never_by_their_subject():
    audit, store, directory = Audit(), Corrections(), Directory()
    asked = privacy.request_correction(person("E2", Role.EMPLOYEE, Role.FINANCE), store, audit,
                                       privacy.CorrectionBody(what_is_wrong="wrong e-mail"), AT)
    assert privacy.correction_queue(person("E3", Role.FINANCE), store, directory) == []  # another department
    assert [r.request_id for r in privacy.correction_queue(person("E1", Role.FINANCE), store, directory)] == [
        asked.request_id]
    assert len(privacy.correction_queue(person("E3", Role.FINANCE_ADMIN), store, directory)) == 1  # every one
    fix = privacy.Resolution(outcome=CorrectionStatus.CORRECTED, note="fixed")
    with pytest.raises(Forbidden):  # the finance person it is about
        privacy.resolve_correction(person("E2", Role.FINANCE), store, directory, audit, asked.request_id, fix, AT)
    done = privacy.resolve_correction(person("E1", Role.FINANCE), store, directory, audit, asked.request_id, fix, AT)
    again = privacy.resolve_correction(person("E1", Role.FINANCE), store, directory, audit, asked.request_id,
                                       privacy.Resolution(outcome=CorrectionStatus.DECLINED, note="no"), AT)
    assert (done.status, again.status, again.resolution) == ("corrected", "corrected", "fixed")
    assert [a for _, _, a in audit.log] == ["privacy.correction_requested", "privacy.correction_corrected"]
