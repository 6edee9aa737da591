"""boto3 adapters: created once per container, injectable for tests, the only place boto3 is touched."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.domain import masking
from chalicelib.domain.errors import ExecutionAlreadyStarted, ObjectTooLarge

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")


@cache
def client(service: str, region: str) -> Any:
    """One client per service and region for the container's life (cold start pays once)."""
    return boto3.client(service, region_name=region, config=_CONFIG)


class BlobStore:
    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self.bucket = bucket

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int,
                       metadata: dict[str, str] | None = None) -> dict:
        """A browser form upload bound to this key, this Content-Type and 1..max_bytes bytes: S3 itself refuses a
        larger body (a presigned PUT binds no size). Reuse within `expires` would add a version of the same key,
        which the bucket keeps (versioned) and extraction audits (services/extraction.py)."""
        meta = {f"x-amz-meta-{k}": v for k, v in (metadata or {}).items()}
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, **meta},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes],
                        *({k: v} for k, v in meta.items())],
            ExpiresIn=expires,
        )
        return {"url": post["url"], "method": "POST", "fields": post["fields"], "max_bytes": max_bytes}

    def view_url(self, key: str, version_id: str | None, seconds: int) -> str:
        """A short-lived GET of exactly this version, for a page's <img>: the receipt shown is the one that was read,
        even if the key was overwritten since (signed locally, no request is made). An e-mailed HTML receipt is
        evidence, never a page: S3 is told to answer it as a plain-text download, so no browser renders it."""
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key,
                                                                     **_version(version_id), **_as_download(key)},
                                               ExpiresIn=seconds)

    def head(self, key: str, version_id: str | None = None) -> dict:
        """The object's metadata (of one version, when given; the current one otherwise)."""
        return self._s3.head_object(Bucket=self.bucket, Key=key, **_version(version_id))

    def read(self, key: str, max_bytes: int, version_id: str | None = None) -> bytes:
        head = self.head(key, version_id)
        if head["ContentLength"] > max_bytes:
            raise ObjectTooLarge(f"{head['ContentLength']} bytes")
        return self._s3.get_object(Bucket=self.bucket, Key=key, **_version(version_id))["Body"].read()

    def delete_version(self, key: str, version_id: str | None) -> None:
        """Remove one version for good (in a versioned bucket a plain delete only hides the object)."""
        self._s3.delete_object(Bucket=self.bucket, Key=key, **_version(version_id))

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                            Metadata=metadata or {})

    def copy(self, source_key: str, key: str, version_id: str | None = None) -> None:
        source = {"Bucket": self.bucket, "Key": source_key, **_version(version_id)}
        self._s3.copy_object(Bucket=self.bucket, Key=key, CopySource=source)

    def origin(self) -> str:
        """Scheme and host of this bucket's object URLs: where a browser sends a presigned upload (signed locally,
        no request is made)."""
        url = self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "-"}, ExpiresIn=60)
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"


def _as_download(key: str) -> dict:
    if not key.lower().endswith((".html", ".htm")):
        return {}
    return {"ResponseContentType": "text/plain; charset=utf-8",
            "ResponseContentDisposition": 'attachment; filename="e-receipt.html"'}


def _version(version_id: str | None) -> dict:
    return {"VersionId": version_id} if version_id else {}


class Secrets:
    def __init__(self, secretsmanager: Any):
        self._sm = secretsmanager
        self._cache: dict[str, str] = {}

    def get(self, secret_id: str) -> str:
        if secret_id not in self._cache:
            self._cache[secret_id] = self._sm.get_secret_value(SecretId=secret_id)["SecretString"]
        return self._cache[secret_id]


class Queue:
    """One SQS queue the code sends to, by name (its URL is looked up once, on first use)."""

    def __init__(self, sqs: Any, name: str):
        self._sqs, self.name = sqs, name
        self._url: str | None = None

    def send(self, body: dict) -> str:
        if self._url is None:
            self._url = self._sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        return self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))["MessageId"]


class Workflow:
    """Step Functions: start the approval execution and resume its waiting task."""

    def __init__(self, sfn: Any, state_machine_arn: str):
        self._sfn = sfn
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict) -> str:
        try:
            resp = self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                raise ExecutionAlreadyStarted(name) from exc
            raise
        return resp["executionArn"]

    def stop(self, name: str, cause: str) -> None:
        """Stop the execution called `name` if it is still running (a finished one is left as it is)."""
        arn = self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
        try:
            self._sfn.stop_execution(executionArn=arn, cause=cause[:32768])
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ValidationException"):
                raise

    def succeed(self, task_token: str, output: dict) -> bool:
        """False when the task is no longer waiting (timed out and being re-armed): the caller records the
        outcome elsewhere so the re-armed task can be completed with it."""
        return self._resume(self._sfn.send_task_success, taskToken=task_token, output=json.dumps(output))

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        return self._resume(self._sfn.send_task_failure, taskToken=task_token, error=error, cause=cause[:32768])

    @staticmethod
    def _resume(call: Any, **kwargs: Any) -> bool:
        try:
            call(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                return False
            raise
        return True


class Notifier:
    """SNS: one topic for approver notifications; subscribers (email, push, SMS relay) fan out from it."""

    def __init__(self, sns: Any, topic_arn: str):
        self._sns = sns
        self._topic = topic_arn

    def publish(self, subject: str, message: dict, attributes: dict[str, str]) -> str:
        resp = self._sns.publish(
            TopicArn=self._topic,
            Subject=masking.scrub(subject, frozenset())[:99],
            # nobody reading a notification needs a full card, HKID or bank account number (domain/masking.py)
            Message=json.dumps(masking.scrub_all(message, frozenset()), ensure_ascii=False),
            # SNS refuses an empty attribute value (e.g. no escalation desk configured): leave such ones out
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v},
        )
        return resp["MessageId"]


class DecisionSigner:
    """KMS asymmetric signing of approval decisions (RSASSA-PSS SHA-256): the key never leaves KMS."""

    ALGORITHM = "RSASSA_PSS_SHA_256"

    def __init__(self, kms: Any, key_id: str):
        self._kms = kms
        self.key_id = key_id

    def sign(self, message: bytes) -> tuple[str, str]:
        resp = self._kms.sign(KeyId=self.key_id, Message=hashlib.sha256(message).digest(), MessageType="DIGEST",
                              SigningAlgorithm=self.ALGORITHM)
        return resp["KeyId"], base64.b64encode(resp["Signature"]).decode()

    def verify(self, message: bytes, key_id: str, signature: str) -> bool:
        try:
            resp = self._kms.verify(KeyId=key_id, Message=hashlib.sha256(message).digest(), MessageType="DIGEST",
                                    Signature=base64.b64decode(signature), SigningAlgorithm=self.ALGORITHM)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "KMSInvalidSignatureException":
                return False
            raise
        return bool(resp["SignatureValid"])
