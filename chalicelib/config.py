"""Settings read once per container from the environment that infra/resources.py defines.

Loading them is also the residency check: the app refuses to start outside Hong Kong (HOME_REGION) unless its stage
lists the region in RESIDENCY_ALLOWED_REGIONS (infra/resources.py STAGE_ALLOWED_REGIONS; no deploy stage does).
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel

from chalicelib.domain.transfers import HOME_REGION


class ResidencyError(RuntimeError):
    """The app was started in a region its stage does not allow: personal data must stay in Hong Kong."""


def check_residency(stage: str, regions: dict[str, str], allowed: tuple[str, ...]) -> None:
    """`regions`: setting name -> region it names (APP_REGION, and AWS_REGION where the Lambda runtime sets it)."""
    permitted = {HOME_REGION, *allowed}
    for name, region in regions.items():
        if region and region not in permitted:
            raise ResidencyError(
                f"refusing to start: {name} is {region}, but stage {stage!r} keeps its data in Hong Kong "
                f"({HOME_REGION}). Deploy to {HOME_REGION}, or, if this stage may run elsewhere, list the region "
                "in its RESIDENCY_ALLOWED_REGIONS (infra/resources.py STAGE_ALLOWED_REGIONS) and record why.")


class Settings(BaseModel):
    stage: str
    region: str
    claims_table: str
    expenses_table: str
    directory_table: str
    vendors_table: str
    audit_table: str
    approvals_table: str
    ledger_table: str
    advances_table: str
    finance_table: str
    idempotency_table: str
    fx_rates_table: str
    postings_table: str
    posting_queue: str
    posting_max_receives: int = 5
    ledger_credentials_secret: str
    uploads_bucket: str
    raw_mail_bucket: str
    audit_archive_bucket: str
    approver_topic_arn: str
    employee_topic_arn: str
    approval_state_machine_arn: str
    approval_link_secret: str
    dev_signing_key_secret: str
    decision_signing_key_id: str
    bank_details_key_id: str  # the KMS key bank accounts are sealed under (envelope encryption)
    audit_sealing_key_id: str = ""  # seals of the audit chains (infra/resources.py KMS_KEYS)
    allow_dev_tokens: bool
    public_base_url: str
    auth_issuer: str  # the user pool's `iss`
    auth_jwks_url: str  # where its public keys are published (moto's server on the local stack)
    auth_client_id: str  # the web client: the ID tokens' audience
    auth_hosted_ui_domain: str = ""  # "<prefix>.auth.<region>.amazoncognito.com"; "" = the page signs in itself
    cognito_endpoint: str = "https://cognito-idp.ap-east-1.amazonaws.com/"
    dev_token_issuer: str | None = None  # local and dev only: `POST /dev/token`'s tokens
    reminders_state_machine_arn: str
    telephony: str
    telephony_region: str
    telephony_origination: str
    telephony_outbox_queue: str
    ocr_backend: str = "local"
    textract_region: str = "ap-southeast-1"
    ses_receiving_region: str = "ap-southeast-1"  # where e-mailed receipts were received (a logged transfer)
    allowed_regions: tuple[str, ...] = ()  # regions besides HOME_REGION this stage may run in (none by default)
    max_upload_bytes: int = 15 * 1024 * 1024
    approval_link_ttl_seconds: int = 7 * 24 * 3600
    upload_url_ttl_seconds: int = 900

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        allowed = tuple(x.strip() for x in e.get("RESIDENCY_ALLOWED_REGIONS", "").split(",") if x.strip())
        # AWS_REGION is where the Lambda runtime runs the function; on a laptop it is only the shell's default
        runtime = e.get("AWS_REGION", "") if e.get("AWS_LAMBDA_FUNCTION_NAME") else ""
        check_residency(e["STAGE"], {"APP_REGION": e.get("APP_REGION", HOME_REGION), "AWS_REGION": runtime}, allowed)
        return cls(
            stage=e["STAGE"],
            region=e.get("APP_REGION", HOME_REGION),
            allowed_regions=allowed,
            ses_receiving_region=e.get("SES_RECEIVING_REGION", "ap-southeast-1"),
            claims_table=e["CLAIMS_TABLE"],
            expenses_table=e["EXPENSES_TABLE"],
            directory_table=e["DIRECTORY_TABLE"],
            vendors_table=e["VENDORS_TABLE"],
            audit_table=e["AUDIT_TABLE"],
            approvals_table=e["APPROVALS_TABLE"],
            ledger_table=e["LEDGER_TABLE"],
            advances_table=e["ADVANCES_TABLE"],
            finance_table=e["FINANCE_TABLE"],
            idempotency_table=e["IDEMPOTENCY_TABLE"],
            fx_rates_table=e["FX_RATES_TABLE"],
            postings_table=e["POSTINGS_TABLE"],
            posting_queue=e["POSTING_QUEUE"],
            posting_max_receives=int(e.get("POSTING_MAX_RECEIVES", "5")),
            ledger_credentials_secret=e["LEDGER_CREDENTIALS_SECRET"],
            uploads_bucket=e["UPLOADS_BUCKET"],
            raw_mail_bucket=e["RAW_MAIL_BUCKET"],
            audit_archive_bucket=e["AUDIT_ARCHIVE_BUCKET"],
            approver_topic_arn=e["APPROVER_NOTIFICATIONS_TOPIC_ARN"],
            employee_topic_arn=e["EMPLOYEE_NOTIFICATIONS_TOPIC_ARN"],
            approval_state_machine_arn=e["APPROVAL_STATE_MACHINE_ARN"],
            approval_link_secret=e["APPROVAL_LINK_KEY_SECRET"],
            dev_signing_key_secret=e["DEV_SIGNING_KEY_SECRET"],
            decision_signing_key_id=e["DECISION_SIGNING_KEY_ID"],
            bank_details_key_id=e["BANK_DETAILS_KEY_ID"],
            audit_sealing_key_id=e.get("AUDIT_SEALING_KEY_ID", ""),
            reminders_state_machine_arn=e["REMINDERS_STATE_MACHINE_ARN"],
            telephony=e["TELEPHONY"],
            telephony_region=e["TELEPHONY_REGION"],
            telephony_origination=e["TELEPHONY_ORIGINATION"],
            telephony_outbox_queue=e["TELEPHONY_OUTBOX_QUEUE"],
            ocr_backend=e.get("OCR_BACKEND", "local"),
            textract_region=e.get("TEXTRACT_REGION", "ap-southeast-1"),
            allow_dev_tokens=e.get("ALLOW_DEV_TOKENS", "false").lower() == "true",
            public_base_url=e.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            auth_issuer=e["AUTH_ISSUER"],
            auth_jwks_url=e["AUTH_JWKS_URL"],
            auth_client_id=e["AUTH_CLIENT_ID"],
            auth_hosted_ui_domain=e.get("AUTH_HOSTED_UI_DOMAIN", ""),
            cognito_endpoint=e.get("COGNITO_ENDPOINT", "https://cognito-idp.ap-east-1.amazonaws.com/"),
            dev_token_issuer=e.get("DEV_TOKEN_ISSUER") or None,
            max_upload_bytes=int(e.get("MAX_UPLOAD_BYTES", 15 * 1024 * 1024)),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
