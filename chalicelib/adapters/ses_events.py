"""Pydantic models for the two events of e-mail intake: only the fields the pipeline reads.

(a) The SES receipt notification. SES sends it in two shapes: to a Lambda action as
    ``{"Records": [{"eventSource": "aws:ses", "ses": {"mail": ..., "receipt": ...}}]}``, and (for an S3 action
    with a topic) through SNS as ``{"notificationType": "Received", "mail": ..., "receipt": ...}``.
    ``parse_ses_notification`` accepts both; for an S3 action ``receipt.action`` names the bucket and key.
(b) The S3 ObjectCreated notification of the raw-mail bucket (through SQS): ``chalicelib.adapters.events``.

Neither model keeps more personal data than it must: ``mail.source``/``destination`` are there because SES
sends them, and callers mask them before logging (``chalicelib.intake.mime.mask_email``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SesVerdict(_Lenient):
    status: str  # PASS | FAIL | GRAY | PROCESSING_FAILED | DISABLED


class SesAction(_Lenient):
    type: str  # S3 | Lambda | SNS | Bounce | Stop | WorkMail | AddHeader
    topicArn: str | None = None  # noqa: N815 (AWS's field names)
    bucketName: str | None = None  # noqa: N815
    objectKeyPrefix: str | None = None  # noqa: N815
    objectKey: str | None = None  # noqa: N815
    functionArn: str | None = None  # noqa: N815
    invocationType: str | None = None  # noqa: N815


class SesReceipt(_Lenient):
    timestamp: str
    recipients: list[str] = Field(default_factory=list)
    processingTimeMillis: int | None = None  # noqa: N815
    spamVerdict: SesVerdict | None = None  # noqa: N815
    virusVerdict: SesVerdict | None = None  # noqa: N815
    spfVerdict: SesVerdict | None = None  # noqa: N815
    dkimVerdict: SesVerdict | None = None  # noqa: N815
    dmarcVerdict: SesVerdict | None = None  # noqa: N815
    dmarcPolicy: str | None = None  # noqa: N815
    action: SesAction

    def failed_checks(self) -> list[str]:
        """The security verdicts that say FAIL (virus, spam, DMARC): such a message must not become a claim."""
        checks = {"virus": self.virusVerdict, "spam": self.spamVerdict, "dmarc": self.dmarcVerdict}
        return [name for name, verdict in checks.items() if verdict is not None and verdict.status == "FAIL"]


class SesHeader(_Lenient):
    name: str
    value: str


class SesMail(_Lenient):
    timestamp: str
    messageId: str  # noqa: N815  (SES's id, also the S3 object name under the prefix)
    source: str | None = None
    destination: list[str] = Field(default_factory=list)
    headersTruncated: bool = False  # noqa: N815
    headers: list[SesHeader] = Field(default_factory=list)
    commonHeaders: dict[str, Any] = Field(default_factory=dict)  # noqa: N815


class SesMessage(_Lenient):
    """One received message: what SES saw (mail) and what it did (receipt)."""

    mail: SesMail
    receipt: SesReceipt

    @property
    def s3_object(self) -> tuple[str, str] | None:
        """(bucket, key) the S3 action wrote the raw message to; None for any other action."""
        action = self.receipt.action
        if action.type != "S3" or not action.bucketName:
            return None
        key = action.objectKey or f"{action.objectKeyPrefix or ''}{self.mail.messageId}"
        return action.bucketName, key


class SesRecord(_Lenient):
    eventSource: str = Field(pattern="^aws:ses$")  # noqa: N815
    eventVersion: str | None = None  # noqa: N815
    ses: SesMessage


class SesReceiptNotification(_Lenient):
    """The Lambda-action shape: ``Records[].ses.{mail,receipt}``."""

    Records: list[SesRecord] = Field(default_factory=list)  # noqa: N815


class SesSnsNotification(SesMessage):
    """The SNS shape of the same content (S3 action with a topic): ``notificationType`` + mail + receipt."""

    notificationType: str = Field(pattern="^Received$")  # noqa: N815
    content: str | None = None  # only with an SNS action; never kept (it is the whole e-mail)


def parse_ses_notification(body: str | bytes | dict) -> list[SesMessage]:
    """Either shape (and an SNS envelope around the SNS shape) -> the received messages it reports."""
    data = json.loads(body) if isinstance(body, str | bytes) else body
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        data = json.loads(data["Message"])  # an SNS envelope delivered to SQS without raw delivery
    if isinstance(data, dict) and "Records" in data:
        return [record.ses for record in SesReceiptNotification.model_validate(data).Records]
    notification = SesSnsNotification.model_validate(data)
    return [SesMessage(mail=notification.mail, receipt=notification.receipt)]
