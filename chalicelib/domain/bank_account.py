"""An employee's bank account for reimbursements: personal data kept encrypted, shown masked to all but payroll."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.masking import mask_last4


class BankAccount(BaseModel):
    """A Hong Kong account as the HKMA's clearing codes write it: bank code (3 digits), branch code (3 digits),
    account number (the bank's own length; 6 to 12 digits)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holder_name: str = Field(min_length=1, max_length=140)
    bank_code: str = Field(pattern=r"^\d{3}$")
    branch_code: str = Field(pattern=r"^\d{3}$")
    account_number: str = Field(pattern=r"^\d{6,12}$")

    def masked(self) -> dict:
        return {"holder_name": self.holder_name, "bank_code": self.bank_code, "branch_code": self.branch_code,
                "account_number": mask_last4(self.account_number)}


class SealedBankAccount(BaseModel):
    """What is stored: the account under AES-256-GCM with its own data key, that key encrypted by the KMS key
    (envelope encryption); the last four digits in clear for a masked view without a KMS call."""

    employee_id: str
    ciphertext: str  # base64: AES-GCM output (ciphertext || tag)
    nonce: str  # base64, 12 bytes
    encrypted_data_key: str  # base64 CiphertextBlob from KMS GenerateDataKey
    key_id: str  # the KMS key's ARN that encrypted the data key
    last4: str
    updated_at: datetime
    updated_by: str
