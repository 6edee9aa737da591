"""Typed event records at the Lambda boundary: only the fields the pipeline reads.

Powertools' S3Model requires every field AWS sends (userIdentity, requestParameters...); a model of just what
we use accepts both AWS's events and moto's leaner ones without weakening what we rely on. The SQS and stream
envelopes are Powertools' own models, so the batch processor can report each failed record by its id.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamChangedRecordModel,
    DynamoDBStreamRecordModel,
    SqsRecordModel,
)
from pydantic import BaseModel, Field, Json

RAW_MAIL_PREFIX = "inbound/"  # where SES receiving writes raw messages (infra/resources.py BUCKET_NOTIFICATIONS)
SES_SETUP_OBJECT = "AMAZON_SES_SETUP_NOTIFICATION"  # SES writes it under the prefix when the rule is saved


class _Bucket(BaseModel):
    name: str


class _Object(BaseModel):
    key: str
    size: int | None = None
    eTag: str | None = None  # noqa: N815 (AWS's field name)
    versionId: str | None = None  # noqa: N815 (AWS's field name; versioned buckets only, and not from moto)


class _S3(BaseModel):
    bucket: _Bucket
    object: _Object


class S3NotificationRecord(BaseModel):
    eventSource: str = Field(pattern="^aws:s3$")  # noqa: N815
    eventName: str  # noqa: N815
    s3: _S3

    @property
    def key(self) -> str:
        return unquote_plus(self.s3.object.key)  # S3 event keys arrive URL-encoded

    @property
    def version_id(self) -> str | None:
        return self.s3.object.versionId


class S3Notification(BaseModel):
    Records: list[S3NotificationRecord]  # noqa: N815


class S3TestEvent(BaseModel):
    """Sent once to the queue when a bucket notification is configured: nothing to process."""

    Service: Literal["Amazon S3"]  # noqa: N815
    Event: Literal["s3:TestEvent"]  # noqa: N815
    Bucket: str  # noqa: N815


class S3EventMessage(SqsRecordModel):
    """One SQS message from an S3 bucket notification: object records, or S3's test event."""

    body: Json[S3Notification | S3TestEvent]

    def objects_created(self, prefix: str = "") -> list[S3NotificationRecord]:
        """The new objects under `prefix` (a test event has none). The records, not just keys, so a Lambda can key
        Powertools idempotency on them; SES's setup object under the raw-mail prefix is not mail."""
        if isinstance(self.body, S3TestEvent):
            return []
        return [
            record
            for record in self.body.Records
            if record.eventName.startswith("ObjectCreated:")
            and record.key.startswith(prefix)
            and not record.key.endswith(SES_SETUP_OBJECT)
        ]


class ClaimImage(BaseModel):
    """A claims-table item as the stream shows it: the claim is its JSON `body` (the other attributes are keys)."""

    body: str


class _ClaimChange(DynamoDBStreamChangedRecordModel):
    NewImage: ClaimImage | None = None  # noqa: N815
    OldImage: ClaimImage | None = None  # noqa: N815


class ClaimStreamRecord(DynamoDBStreamRecordModel):
    """One change of the claims table (stream view NEW_AND_OLD_IMAGES)."""

    dynamodb: _ClaimChange
