"""Where seals come from and where they are kept: a KMS signing key and the Object Lock archive bucket.

The key (ECC_NIST_P256, ECDSA_SHA_256) never leaves KMS; its public half is fetched once and checks seals
locally, so reading a claim's trail costs no KMS call. Messages are signed as RAW (KMS hashes them with SHA-256),
which is also what moto does with any message, so a seal made locally verifies like one made in AWS.

The archive bucket is created with Object Lock in compliance mode and a seven-year default retention
(infra/resources.py AUDIT_ARCHIVE_RETENTION): every object version written here can be neither deleted nor
overwritten by anyone until it expires. One object per seal: `seals/<entity>/<seq>.json` holding the seal and the
records since the previous one.
"""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel

from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.audit_seal import Seal

ALGORITHM = "ECDSA_SHA_256"


class AuditSealer:
    def __init__(self, kms: Any, key_id: str):
        self._kms = kms
        self.key_id = key_id
        self._public: dict[str, Any] = {}

    def sign(self, seal: Seal) -> Seal:
        resp = self._kms.sign(KeyId=self.key_id, Message=seal.message(), MessageType="RAW",
                              SigningAlgorithm=ALGORITHM)
        return seal.model_copy(update={"key_id": resp["KeyId"], "algorithm": ALGORITHM,
                                       "signature": base64.b64encode(resp["Signature"]).decode()})

    def sign_bytes(self, message: bytes) -> tuple[str, str]:
        """A bundle's manifest statement; (key ARN, base64 signature)."""
        resp = self._kms.sign(KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=ALGORITHM)
        return resp["KeyId"], base64.b64encode(resp["Signature"]).decode()

    def public_key_pem(self, key_id: str | None = None) -> bytes:
        return self._key(key_id or self.key_id).public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, seal: Seal) -> bool:
        return self.verify_bytes(seal.message(), seal.key_id, seal.signature) if seal.algorithm == ALGORITHM \
            else False

    def verify_bytes(self, message: bytes, key_id: str, signature: str) -> bool:
        try:
            key = self._key(key_id)
        except ClientError:  # a key id that is not ours (or no longer exists): nothing it signed counts
            return False
        try:
            key.verify(base64.b64decode(signature), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def _key(self, key_id: str):
        if key_id not in self._public:
            der = self._kms.get_public_key(KeyId=key_id)["PublicKey"]
            self._public[key_id] = serialization.load_der_public_key(der)
        return self._public[key_id]


class ArchivedSeal(BaseModel):
    seal: Seal
    records: list[AuditRecord]


class AuditArchive:
    PREFIX = "seals/"

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self.bucket = bucket

    @classmethod
    def key(cls, entity: str, seq: int) -> str:
        return f"{cls.PREFIX}{entity}/{seq:010d}.json"

    def put(self, archived: ArchivedSeal) -> str | None:
        """Write once: a second seal of the same head (the sweep and the claim's end racing) is refused by S3
        (If-None-Match) and is not an error; returns the version written, or None."""
        try:
            resp = self._s3.put_object(Bucket=self.bucket, Key=self.key(archived.seal.entity, archived.seal.seq),
                                       Body=archived.model_dump_json().encode(), ContentType="application/json",
                                       ChecksumAlgorithm="SHA256", IfNoneMatch="*")
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict"):
                return None
            raise
        return resp.get("VersionId")

    def keys(self, entity: str) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                  Prefix=f"{self.PREFIX}{entity}/")
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def get(self, key: str) -> ArchivedSeal:
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return ArchivedSeal.model_validate_json(body)

    def seals(self, entity: str) -> list[ArchivedSeal]:
        return [self.get(k) for k in self.keys(entity)]

    def raw(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
