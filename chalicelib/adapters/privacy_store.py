"""Bank details under envelope encryption: a fresh KMS data key per record (GenerateDataKey, AES-256), the
account sealed with AES-GCM under it, and only the KMS-encrypted data key kept beside the ciphertext.

Reading needs kms:Decrypt on the bank-details key (only the API's role has it) and an encryption context binding
the record to its employee, so a blob copied onto another employee's row does not decrypt. Stored in the
directory table as BANK#<employee_id> / PROFILE (the API role's writes there are limited to those keys).
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo_models import ApprovalItem, DirectoryItem
from chalicelib.domain.bank_account import BankAccount, SealedBankAccount
from chalicelib.domain.claim import Claim
from chalicelib.domain.privacy import CorrectionRequest

_SK = "PROFILE"


def _context(employee_id: str) -> dict[str, str]:
    return {"purpose": "reimbursement-bank-account", "employee_id": employee_id}


class BankDetailsVault:
    def __init__(self, kms: Any, key_id: str):
        self._kms = kms
        self.key_id = key_id

    @staticmethod
    def _pk(employee_id: str) -> str:
        return f"BANK#{employee_id}"

    def seal(self, employee_id: str, account: BankAccount, by: str, at: datetime) -> SealedBankAccount:
        key = self._kms.generate_data_key(KeyId=self.key_id, KeySpec="AES_256",
                                          EncryptionContext=_context(employee_id))
        nonce = os.urandom(12)
        aad = employee_id.encode()
        ciphertext = AESGCM(key["Plaintext"]).encrypt(nonce, account.model_dump_json().encode(), aad)
        return SealedBankAccount(
            employee_id=employee_id, ciphertext=base64.b64encode(ciphertext).decode(),
            nonce=base64.b64encode(nonce).decode(), encrypted_data_key=base64.b64encode(key["CiphertextBlob"]).decode(),
            key_id=key["KeyId"], last4=account.account_number[-4:], updated_at=at, updated_by=by)

    def open(self, sealed: SealedBankAccount) -> BankAccount:
        key = self._kms.decrypt(CiphertextBlob=base64.b64decode(sealed.encrypted_data_key),
                                EncryptionContext=_context(sealed.employee_id), KeyId=sealed.key_id)
        plain = AESGCM(key["Plaintext"]).decrypt(base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext),
                                                 sealed.employee_id.encode())
        return BankAccount.model_validate_json(plain)

    def put(self, sealed: SealedBankAccount) -> None:
        DirectoryItem(pk=self._pk(sealed.employee_id), sk=_SK, body=sealed.model_dump_json()).save()

    def get(self, employee_id: str) -> SealedBankAccount | None:
        try:
            return SealedBankAccount.model_validate_json(DirectoryItem.get(self._pk(employee_id), _SK).body)
        except DoesNotExist:
            return None


class CorrectionRequests:
    """The correction queue: CORRECTION#<department> / <created>#<id> in the directory table, so finance lists its
    department's with one Query, and a finance admin each department's."""

    @staticmethod
    def _pk(department_id: str) -> str:
        return f"CORRECTION#{department_id}"

    @staticmethod
    def _sk(request: CorrectionRequest) -> str:
        return f"{request.created_at.isoformat()}#{request.request_id}"

    def put(self, request: CorrectionRequest) -> None:
        DirectoryItem(pk=self._pk(request.department_id), sk=self._sk(request), body=request.model_dump_json()).save()

    def in_department(self, department_id: str) -> list[CorrectionRequest]:
        return [CorrectionRequest.model_validate_json(item.body)
                for item in DirectoryItem.query(self._pk(department_id), scan_index_forward=True)]

    def find(self, department_ids: list[str], request_id: str) -> CorrectionRequest | None:
        for department_id in department_ids:
            for request in self.in_department(department_id):
                if request.request_id == request_id:
                    return request
        return None


class Holdings:
    """A person's claims, expenses and advances, and the claims they decided, for a data access request."""

    def __init__(self, claims, expenses, advances):
        self._claims = claims
        self._expenses = expenses
        self._advances = advances

    def claims_of(self, employee_id: str) -> list[Claim]:
        return self._claims.by_employee(employee_id, limit=10_000)

    def unattached_expenses_of(self, employee_id: str) -> list:
        return self._expenses.unattached(employee_id, limit=10_000)

    def expense_history(self, expense_id: str) -> list:
        return self._expenses.history(expense_id)

    def advances_of(self, employee_id: str) -> list:
        return self._advances.by_employee(employee_id, limit=10_000)

    def advance_history(self, advance_id: str) -> list:
        return self._advances.history(advance_id)

    def claim_entity(self, claim_id: str) -> str:
        return self._claims.entity(claim_id)

    def claims_decided_by(self, approver_id: str) -> list[Claim]:
        """Every claim with a step ever sent to this approver (the links' by-approver index, any state)."""
        ids = dict.fromkeys(item.claim_id for item in ApprovalItem.by_approver.query(approver_id))
        return [claim for claim in (self._claims.get(i) for i in ids) if claim is not None]
