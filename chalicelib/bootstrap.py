"""Composition root: builds every adapter once per container; tests call `reset()` to rebuild."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from jwt import PyJWTError
from pynamodb.connection import Connection

from chalicelib.adapters import aws, dynamo_models
from chalicelib.adapters.advances_repository import AdvanceRepository
from chalicelib.adapters.finance_store import AggregateStore, ClaimIndexes
from chalicelib.adapters.jwks import JwksCache, StaticKeys
from chalicelib.adapters.repositories import (
    ApprovalLinkStore,
    AuditLog,
    ClaimRepository,
    DirectoryRepository,
    ExpenseRepository,
    LedgerStore,
)
from chalicelib.adapters.tokens import DevTokenIssuer, TokenVerifier, TrustedIssuer
from chalicelib.adapters.vendor_store import VendorStore
from chalicelib.config import Settings, settings
from chalicelib.services.approvals.context import ApprovalContext
from chalicelib.services.claimant_updates import ClaimantUpdates
from chalicelib.web import security

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    _once: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        dynamo_models.bind(self.settings)  # the repositories' tables: names and region from Settings

    @cached_property
    def connection(self) -> Connection:
        return Connection(region=self.settings.region)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.connection)

    @cached_property
    def audit_trail(self):
        """Seals (KMS) and the Object Lock archive (S3) over the audit table's chains."""
        from chalicelib.adapters.audit_store import AuditArchive, AuditSealer
        from chalicelib.services.audit_trail import AuditTrail

        s = self.settings
        return AuditTrail(chains=self.audit,
                          archive=AuditArchive(aws.client("s3", s.region), s.audit_archive_bucket),
                          sealer=AuditSealer(aws.client("kms", s.region), s.audit_sealing_key_id))

    @cached_property
    def audit_export_sources(self):
        """What an auditor's bundle reads (services/audit_export.py): chains, seals, receipts, signatures, keys."""
        from cryptography.hazmat.primitives import serialization

        from chalicelib.services.approvals import decisions
        from chalicelib.services.audit_export import ExportSources

        s = self.settings

        def decision_key_pem() -> bytes:
            der = aws.client("kms", s.region).get_public_key(KeyId=s.decision_signing_key_id)["PublicKey"]
            return serialization.load_der_public_key(der).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

        return ExportSources(
            audit=self.audit, trail=self.audit_trail, claim=self.claims.get,
            receipt=lambda e: self.uploads.read(e.s3_key, s.max_upload_bytes, e.s3_version_id),
            signatures=lambda claim: decisions.verify_signatures(self.approvals, claim),
            decision_key_pem=decision_key_pem)

    @cached_property
    def claims(self) -> ClaimRepository:
        return ClaimRepository(self.connection, self.audit)

    @cached_property
    def aggregates(self) -> AggregateStore:
        """The finance dashboard's aggregates (kept by functions/finance_aggregates.py)."""
        return AggregateStore(self.connection)

    @cached_property
    def claim_indexes(self) -> ClaimIndexes:
        return ClaimIndexes()

    @cached_property
    def expenses(self) -> ExpenseRepository:
        return ExpenseRepository(self.connection, self.audit)

    @cached_property
    def advances(self) -> AdvanceRepository:
        return AdvanceRepository(self.connection, self.audit)

    @cached_property
    def employee_notifier(self) -> aws.Notifier:
        """The employees' topic (a cash advance overdue reminder goes to its holder)."""
        return aws.Notifier(aws.client("sns", self.settings.region), self.settings.employee_topic_arn)

    @cached_property
    def directory(self) -> DirectoryRepository:
        return DirectoryRepository(self.connection)

    @cached_property
    def vendors(self) -> VendorStore:
        """Finance's vendor entries; ``vendors.directory()`` is the seed with them merged (extraction, /vendors)."""
        return VendorStore()

    @cached_property
    def links(self) -> ApprovalLinkStore:
        return ApprovalLinkStore()

    @cached_property
    def ledger(self) -> LedgerStore:
        return LedgerStore()

    # --- posting to the company's ledger (services/posting.py) ------------------------------------------------
    @cached_property
    def rates(self):
        from chalicelib.adapters.rate_store import RateStore

        return RateStore()

    @cached_property
    def rate_feed(self):
        """The HKMA daily rates feed (functions/fx_rate_feed.py); one HTTP session per container. Tests and the
        local stack (no internet) mount a recorded payload on its `session`."""
        import requests

        from chalicelib.adapters.ledgers.fx_feed import HkmaRateFeed

        return HkmaRateFeed(requests.Session())

    @cached_property
    def posting_records(self):
        from chalicelib.adapters.posting_records import PostingRecords

        return PostingRecords()

    @cached_property
    def ledger_wiring(self):
        """Credentials from Secrets Manager (one client); an HTTP session per container. Tests and the local stack
        replace `session` with a vendor fake's (tests/ledger_fakes/)."""
        from chalicelib.adapters.ledgers.factory import LedgerWiring

        return LedgerWiring(journal=self.ledger, secretsmanager=aws.client("secretsmanager", self.settings.region),
                            secret_id=self.settings.ledger_credentials_secret)

    def ledger_for(self, name: str):
        from chalicelib.adapters.ledgers.factory import ledger_adapter

        return ledger_adapter(name, self.ledger_wiring)

    @cached_property
    def posting(self):
        from chalicelib.services.posting import FinanceAlerts, PostingContext

        alerts = FinanceAlerts(self.notifier, self.directory, self.settings.public_base_url)
        return PostingContext(claims=self.claims, directory=self.directory, records=self.posting_records,
                              rates=self.rates, ledger_for=self.ledger_for, tell=self.claimant_updates.tell,
                              advances=self.advances, receipts=self.receipt_files, tell_finance=alerts.tell)

    def receipt_files(self, claim):
        """The claim's receipt images for a vendor ledger to attach (the version each was read from). A receipt
        that cannot be read is left out and logged: the document stands without it, the claim links it."""
        from chalicelib.domain.ledger_mapping import ReceiptFile

        files = []
        for expense in claim.expenses:
            if not expense.s3_key:
                continue
            try:
                data = self.uploads.read(expense.s3_key, self.settings.max_upload_bytes, expense.s3_version_id)
            except Exception:  # noqa: BLE001 (botocore's or ObjectTooLarge: one receipt missing, not the posting)
                log.warning("receipt not attached", extra={"claim_id": claim.claim_id,
                                                           "expense_id": expense.expense_id}, exc_info=True)
                continue
            suffix = expense.s3_key.rsplit(".", 1)[-1][:5] if "." in expense.s3_key else "bin"
            files.append(ReceiptFile(file_name=f"receipt-{expense.expense_id}.{suffix}"[:200],
                                     content_type=expense.content_type or "application/octet-stream", content=data))
        return files

    @cached_property
    def posting_queue(self) -> aws.Queue:
        sqs = aws.client("sqs", self.settings.region)
        return aws.Queue(sqs, self.settings.posting_queue)

    @cached_property
    def uploads(self) -> aws.BlobStore:
        return aws.BlobStore(aws.client("s3", self.settings.region), self.settings.uploads_bucket)

    @cached_property
    def raw_mail(self) -> aws.BlobStore:
        return aws.BlobStore(aws.client("s3", self.settings.region), self.settings.raw_mail_bucket)

    @cached_property
    def security_headers(self) -> dict[str, str]:
        """Added to every API response; the CSP lets pages upload to the uploads bucket and the sign-in page reach
        Cognito, and nowhere else."""
        s = self.settings
        return security.headers(upload_origin=self.uploads.origin(),
                                sign_in_origins=security.sign_in_origins(s.cognito_endpoint, s.auth_hosted_ui_domain))

    @cached_property
    def secrets(self) -> aws.Secrets:
        return aws.Secrets(aws.client("secretsmanager", self.settings.region))

    @cached_property
    def workflow(self) -> aws.Workflow:
        return aws.Workflow(aws.client("stepfunctions", self.settings.region), self.settings.approval_state_machine_arn)

    @cached_property
    def notifier(self) -> aws.Notifier:
        return aws.Notifier(aws.client("sns", self.settings.region), self.settings.approver_topic_arn)

    @cached_property
    def claimant_updates(self) -> ClaimantUpdates:
        sns = aws.client("sns", self.settings.region)
        return ClaimantUpdates(aws.Notifier(sns, self.settings.employee_topic_arn), self.directory,
                               self.settings.public_base_url)

    @cached_property
    def signer(self) -> aws.DecisionSigner:
        return aws.DecisionSigner(aws.client("kms", self.settings.region), self.settings.decision_signing_key_id)

    # --- personal data (services/privacy.py) --------------------------------------------------------------------
    @cached_property
    def bank_vault(self):
        from chalicelib.adapters.privacy_store import BankDetailsVault

        return BankDetailsVault(aws.client("kms", self.settings.region), self.settings.bank_details_key_id)

    @cached_property
    def corrections(self):
        from chalicelib.adapters.privacy_store import CorrectionRequests

        return CorrectionRequests()

    @cached_property
    def holdings(self):
        from chalicelib.adapters.privacy_store import Holdings

        return Holdings(self.claims, self.expenses, self.advances)

    @cached_property
    def approvals(self) -> ApprovalContext:
        return ApprovalContext(
            claims=self.claims, directory=self.directory, links=self.links, notifier=self.notifier,
            workflow=self.workflow, audit=self.audit, signer=self.signer, link_key=self.link_key,
            reminders=aws.Workflow(aws.client("stepfunctions", self.settings.region),
                                   self.settings.reminders_state_machine_arn),
            base_url=self.settings.public_base_url, link_ttl_seconds=self.settings.approval_link_ttl_seconds,
            claimants=self.claimant_updates,
        )

    @cached_property
    def telephony(self):
        """SMS/voice: the outbox queue locally; AWS End User Messaging in an explicit other region otherwise."""
        from chalicelib.adapters.telephony import OutboxTelephony, PinpointTelephony

        s = self.settings
        if s.telephony == "outbox":
            sqs = aws.client("sqs", s.region)
            return OutboxTelephony(sqs, sqs.get_queue_url(QueueName=s.telephony_outbox_queue)["QueueUrl"])
        return PinpointTelephony(aws.client("pinpoint-sms-voice-v2", s.telephony_region), s.telephony_origination)

    @cached_property
    def link_key(self) -> bytes:
        return self.secrets.get(self.settings.approval_link_secret).encode()

    @cached_property
    def jwks(self) -> JwksCache:
        """The user pool's public keys, fetched and cached for the container's life (rotation: see jwks.py)."""
        return JwksCache(self.settings.auth_jwks_url)

    @cached_property
    def verifier(self) -> TokenVerifier:
        s = self.settings
        trusted = [TrustedIssuer(issuer=s.auth_issuer, audience=s.auth_client_id, keys=self.jwks)]
        if self.dev_issuer is not None:
            trusted.append(TrustedIssuer(issuer=self.dev_issuer.issuer, audience=self.dev_issuer.audience,
                                         keys=StaticKeys(self.dev_issuer.public_jwks)))
        return TokenVerifier(trusted)

    @cached_property
    def dev_issuer(self) -> DevTokenIssuer | None:
        """Local and dev only: the flag and the dev issuer's name must both be set (staging and prod have neither)."""
        if not (self.settings.allow_dev_tokens and self.settings.dev_token_issuer):
            return None
        try:
            return DevTokenIssuer(self.secrets.get(self.settings.dev_signing_key_secret),
                                  self.settings.dev_token_issuer)
        except (ValueError, KeyError, TypeError, PyJWTError):  # not (yet) a private JWK: Cognito sign-in still works
            log.warning("the dev-signing-key secret is not a private JWK: dev tokens are off")
            return None

    @cached_property
    def idempotency(self):
        """Powertools' DynamoDB persistence: a redelivered or concurrent event does the expensive work once."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.settings.idempotency_table, boto3_client=aws.client("dynamodb", self.settings.region)
        )

    @cached_property
    def idempotency_config(self):
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(expires_after_seconds=24 * 3600)

    def once(self, fn, data_keyword_argument: str, context: object):
        """`fn` wrapped by Powertools' idempotent_function, keyed on one keyword argument's content."""
        from aws_lambda_powertools.utilities.idempotency import idempotent_function

        self.idempotency_config.register_lambda_context(context)  # in-progress locks expire with the Lambda
        wrapped = self._once.get(fn)
        if wrapped is None:
            wrapped = self._once[fn] = idempotent_function(
                data_keyword_argument=data_keyword_argument, persistence_store=self.idempotency,
                config=self.idempotency_config,
            )(fn)
        return wrapped

    @cached_property
    def extractor(self):
        """In-region OCR by default; Textract only where a stage opts in (a logged cross-border transfer)."""
        if self.settings.ocr_backend == "textract":
            from chalicelib.adapters.textract import TextractExpense

            return TextractExpense(aws.client("textract", self.settings.textract_region), self.vendors.directory)
        # Imported here: the OCR engine is heavy and only the extraction Lambda needs it.
        from chalicelib.extraction.service import extract_document

        def extract(data: bytes, filename: str):  # finance's vendor entries count from the next receipt on
            return extract_document(data, filename, vendors=self.vendors.directory())

        return extract


@lru_cache(maxsize=1)
def container() -> Container:
    return Container(settings())


def reset() -> None:
    """Forget cached settings, clients and adapters (tests and the local stack switch environments)."""
    settings.cache_clear()
    container.cache_clear()
    aws.client.cache_clear()
