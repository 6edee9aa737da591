"""Where seals come from and where they are kept: a KMS signing key and the Object Lock archive bucket.

The key (ECC_NIST_P256, ECDSA_SHA_256) never leaves KMS; its public half is fetched once and checks seals
locally, so reading a claim's trail costs no KMS call. Messages are signed as RAW (KMS hashes them with SHA-256),
which is also what moto does with any message, so a seal made locally verifies like one made in AWS.

The archive bucket is created with Object Lock in compliance mode and a seven-year default retention
(infra/resources.py AUDIT_ARCHIVE_RETENTION): every object version written here can be neither deleted nor
overwritten by anyone until it expires. A later version may be stacked on a key, so only the first is read.
One object per seal: `seals/<entity>/<seq>.json`, the seal and the records since the previous one.
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
        self._arns: dict[str, str] = {}

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

    def trusted_key(self) -> str:
        """Our sealing key's id (the alias resolved by GetPublicKey; AWS answers its ARN, moto its bare id, so
        the id after `key/` is compared): the only key whose seals count. Another key of the account, however
        valid its signature, is not ours."""
        self._key(self.key_id)
        return _bare(self._arns[self.key_id])

    def verify(self, seal: Seal) -> bool:
        return seal.algorithm == ALGORITHM and self.verify_bytes(seal.message(), seal.key_id, seal.signature)

    def verify_bytes(self, message: bytes, key_id: str, signature: str) -> bool:
        if _bare(key_id) != self.trusted_key():
            return False
        key = self._key(self.key_id)  # always our key's public half, whatever the seal names
        try:
            key.verify(base64.b64decode(signature), message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def _key(self, key_id: str):
        if key_id not in self._public:
            resp = self._kms.get_public_key(KeyId=key_id)
            self._public[key_id] = self._public[resp["KeyId"]] = serialization.load_der_public_key(resp["PublicKey"])
            self._arns[key_id] = self._arns[resp["KeyId"]] = resp["KeyId"]
        return self._public[key_id]


def _bare(key_id: str) -> str:
    return key_id.rsplit("/", 1)[-1]


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

    def put_export(self, export_id: str, data: bytes) -> str:
        """An auditor's bundle, kept beside the seals (and under the same lock): what was handed over stays."""
        key = f"exports/{export_id}.zip"
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/zip",
                            ChecksumAlgorithm="SHA256", IfNoneMatch="*")
        return key

    def download_url(self, key: str, seconds: int) -> str:
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                               ExpiresIn=seconds)

    def keys(self, entity: str) -> list[str]:
        return sorted(self._first_versions(f"{self.PREFIX}{entity}/"))

    def _first_versions(self, prefix: str) -> dict[str, str]:
        """key -> the first version written under it. Object Lock keeps that version, but anyone allowed to
        write may stack another on top: the archive only ever reads the first, the one that was locked."""
        first: dict[str, tuple] = {}
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for v in page.get("Versions", []):
                seen = first.get(v["Key"])
                # S3 lists a key's versions newest first and times them to the second: on a tie the later listed
                # is the older
                if seen is None or v["LastModified"] <= seen[0]:
                    first[v["Key"]] = (v["LastModified"], v["VersionId"])
        return {key: version for key, (_, version) in first.items()}

    def get(self, key: str, version: str | None = None) -> ArchivedSeal:
        return ArchivedSeal.model_validate_json(self.raw(key, version))

    def seals(self, entity: str) -> list[ArchivedSeal]:
        versions = self._first_versions(f"{self.PREFIX}{entity}/")
        return [self.get(k, versions[k]) for k in sorted(versions)]

    def raw(self, key: str, version: str | None = None) -> bytes:
        if version is None:
            version = self._first_versions(key).get(key)
        extra = {"VersionId": version} if version else {}
        return self._s3.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
