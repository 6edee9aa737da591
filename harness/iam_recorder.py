"""Test plumbing: record which IAM actions each function's code really uses on the local stack.

moto never enforces IAM, so a permission missing from a function's role (infra/template.py `access()`) would
pass every local test and fail in AWS with AccessDenied. This recorder wraps botocore's single call point and
attributes each call to the Lambda function running in that thread (set by harness/lambda_shim.py) or, on the
test's own thread, to the REST handler while a request is being served; anything else (the test driver reading
the local inboxes) is not the deployment's and is not recorded. `iam_actions` maps an API call to the IAM
actions AWS evaluates for it, with the table it touches where DynamoDB is concerned.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

_current = threading.local()
CALLS: dict[str, set[tuple[str, str | None]]] = defaultdict(set)  # function -> {(iam action, table or None)}
_original = BaseClient._make_api_call

_S3 = {"HeadObject": ("GetObject",), "ListObjectsV2": ("ListBucket",), "CopyObject": ("GetObject", "PutObject"),
       "ListObjectVersions": ("ListBucketVersions",)}
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@contextmanager
def running(function: str | None):  # None: calls made now are nobody's
    previous = getattr(_current, "function", None)
    _current.function = function
    try:
        yield
    finally:
        _current.function = previous


def iam_actions(prefix: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    if prefix == "s3":
        actions = _S3.get(operation, (operation,))
        if params.get("VersionId") or (isinstance(params.get("CopySource"), dict) and params["CopySource"].get(
                "VersionId")):  # one version named: AWS evaluates the *Version action instead
            actions = tuple({"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}.get(a, a)
                            for a in actions)
        return [(f"s3:{a}", None) for a in actions]
    if prefix != "dynamodb":
        return [(f"{prefix}:{operation}", None)]
    if operation == "TransactWriteItems":
        out = []
        for item in params["TransactItems"]:
            kind, op = next(iter(item.items()))
            out.append((f"dynamodb:{_TRANSACT[kind]}", op["TableName"]))
        return out
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", i["Get"]["TableName"]) for i in params["TransactItems"]]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", table) for table in params["RequestItems"]]
    table = params.get("TableName")
    index = params.get("IndexName")
    return [(f"dynamodb:{operation}", f"{table}/index/{index}" if index else table)]


def _recording(self: BaseClient, operation_name: str, api_params: dict) -> Any:
    function = getattr(_current, "function", None)
    if function is not None:
        prefix = self.meta.service_model.signing_name
        for action in iam_actions(prefix, operation_name, api_params):
            CALLS[function].add(action)
    return _original(self, operation_name, api_params)


def install() -> None:
    CALLS.clear()
    BaseClient._make_api_call = _recording  # type: ignore[method-assign]


def uninstall() -> None:
    BaseClient._make_api_call = _original  # type: ignore[method-assign]
