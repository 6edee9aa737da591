"""Where the anomaly models live (`chalicelib.services.anomaly_model.ModelStore`): the `models` bucket in AWS, a dict
in tests and the bench.

Layout per company: ``anomaly/<company>/<version>/model.joblib`` (the model's bytes), ``.../metadata.json``
(version, training window, rows, metrics, scikit-learn version, sha256 of the model bytes, promoted or why not),
``anomaly/<company>/current`` (``{"version": ...}``: the promoted one) and ``anomaly/<company>/last-run.json``
(the latest retrain: when, claims and rows read, the version written or "rules only" and why). A version's files
are written before the pointer moves, so scoring never sees a pointer to a half-written version.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from chalicelib.services.anomaly_model import metadata_json

PREFIX = "anomaly"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _company(company: str) -> str:
    return _SAFE.sub("_", company) or "_"


def model_key(company: str, version: str) -> str:
    return f"{PREFIX}/{_company(company)}/{version}/model.joblib"


def metadata_key(company: str, version: str) -> str:
    return f"{PREFIX}/{_company(company)}/{version}/metadata.json"


def current_key(company: str) -> str:
    return f"{PREFIX}/{_company(company)}/current"


def run_key(company: str) -> str:
    return f"{PREFIX}/{_company(company)}/last-run.json"


class InMemoryModelStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def _put(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    def _get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put_version(self, company: str, version: str, model: bytes, metadata: dict) -> None:
        self._put(model_key(company, version), model)
        self._put(metadata_key(company, version), metadata_json(metadata))

    def promote(self, company: str, version: str) -> None:
        if self._get(metadata_key(company, version)) is None:
            raise KeyError(f"no version {version} for {company}")
        self._put(current_key(company), json.dumps({"version": version}).encode())

    def metadata(self, company: str, version: str) -> dict | None:
        body = self._get(metadata_key(company, version))
        return json.loads(body) if body is not None else None

    def put_run(self, company: str, run: dict) -> None:
        self._put(run_key(company), metadata_json(run))

    def last_run(self, company: str) -> dict | None:
        body = self._get(run_key(company))
        return json.loads(body) if body is not None else None

    def current_metadata(self, company: str) -> dict | None:
        """The promoted version's metadata (what scoring uses), without reading the model's bytes."""
        pointer = self._get(current_key(company))
        return self.metadata(company, json.loads(pointer)["version"]) if pointer is not None else None

    def current(self, company: str) -> tuple[bytes, dict] | None:
        pointer = self._get(current_key(company))
        if pointer is None:
            return None
        version = json.loads(pointer)["version"]
        metadata = self.metadata(company, version)
        model = self._get(model_key(company, version))
        if metadata is None or model is None:
            return None
        return model, metadata


class S3ModelStore(InMemoryModelStore):
    """The same layout in the models bucket (SSE-KMS by the bucket's default, TLS only by its policy)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        super().__init__()
        self._s3 = s3
        self.bucket = bucket

    def _put(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None


def from_environment() -> S3ModelStore | None:
    """The stage's models bucket (MODELS_BUCKET), or None where none is configured (scoring then uses rules only)."""
    bucket = os.environ.get("MODELS_BUCKET")
    if not bucket:
        return None
    from chalicelib.adapters import aws

    return S3ModelStore(aws.client("s3", os.environ.get("APP_REGION", "ap-east-1")), bucket)
