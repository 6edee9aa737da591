"""Pydantic models for the S3 notification inside an SQS message: only the fields the pipeline reads.

Powertools' S3Model requires every field AWS sends (userIdentity, requestParameters...); a model of just what
we use accepts both AWS's events and moto's leaner ones without weakening what we rely on.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from pydantic import BaseModel, Field


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
    Records: list[S3NotificationRecord] = Field(default_factory=list)  # noqa: N815
