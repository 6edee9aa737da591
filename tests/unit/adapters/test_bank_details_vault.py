"""Envelope encryption of bank accounts on moto's KMS: a fresh data key per record, AES-GCM under it, only the
KMS-encrypted data key stored beside the ciphertext, and the record bound to its employee."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import boto3
import pytest
from cryptography.exceptions import InvalidTag
from moto import mock_aws

from chalicelib.adapters.privacy_store import BankDetailsVault
from chalicelib.domain.bank_account import BankAccount

ACCOUNT = BankAccount(holder_name="WONG SIU MING", bank_code="004", branch_code="123", account_number="456789001")
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def vault():
    with mock_aws():
        kms = boto3.client("kms", region_name="ap-east-1")
        key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        yield BankDetailsVault(kms, key["Arn"])


def test_a_sealed_account_opens_to_the_same_account_and_shows_only_its_last_four(vault):
    sealed = vault.seal("E201", ACCOUNT, "user-E201", AT)
    stored = sealed.model_dump_json()
    assert "456789001" not in stored and "WONG" not in stored  # neither the number nor the holder in clear
    assert sealed.last4 == "9001" and len(base64.b64decode(sealed.nonce)) == 12
    assert vault.open(sealed) == ACCOUNT


def test_each_record_has_its_own_data_key(vault):
    first, second = vault.seal("E201", ACCOUNT, "u", AT), vault.seal("E201", ACCOUNT, "u", AT)
    assert first.encrypted_data_key != second.encrypted_data_key and first.ciphertext != second.ciphertext


def test_a_record_copied_onto_another_employee_does_not_open(vault):
    sealed = vault.seal("E201", ACCOUNT, "u", AT)
    moved = sealed.model_copy(update={"employee_id": "E202"})
    with pytest.raises(Exception) as refused:  # KMS refuses the encryption context, or GCM the associated data
        vault.open(moved)
    assert refused.type.__name__ in ("InvalidCiphertextException", "InvalidTag", "ClientError")


def test_a_changed_ciphertext_is_refused(vault):
    sealed = vault.seal("E201", ACCOUNT, "u", AT)
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[0] ^= 1
    with pytest.raises(InvalidTag):
        vault.open(sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw)).decode()}))


def test_the_account_format_is_checked_at_the_boundary():
    with pytest.raises(ValueError):
        BankAccount(holder_name="X", bank_code="4", branch_code="123", account_number="456789001")
    with pytest.raises(ValueError):
        BankAccount(holder_name="X", bank_code="004", branch_code="123", account_number="12-34")
