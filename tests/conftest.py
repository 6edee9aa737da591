"""Shared fixtures: a fresh local stack on moto (in-process) with the sample organisation loaded.

The environment is set before any project module is imported, as in a Lambda container (`Settings` reads it
when the container is first built; the PynamoDB models are bound to those table names then).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="ap-east-1",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from harness.local_stack import LocalStack  # noqa: E402

os.environ.update(LocalStack().environment())

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import bootstrap  # noqa: E402
from harness import dynamodb_shim, lambda_shim, s3_shim, sample_org  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def stack():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        lambda_shim.install()
        dynamodb_shim.install()
        s3_shim.install()
        bootstrap.reset()
        local = LocalStack().create()
        sample_org.load(bootstrap.container().directory)
        try:
            yield local
        finally:
            # Settle before the next test: executions stopped and ended, stream batches and handlers finished,
            # the shims' threads joined. Each step runs even if an earlier one reports a hang.
            try:
                local.stop_running_executions()
                assert lambda_shim.drain(), "the local stack did not settle: a handler is still running"
            finally:
                try:
                    lambda_shim.uninstall()
                finally:
                    try:
                        dynamodb_shim.uninstall()
                    finally:
                        s3_shim.uninstall()
                        bootstrap.reset()


@pytest.fixture
def api(stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield client


@pytest.fixture
def driver(api, stack):
    """Drives the pipeline through the Chalice test client, the way the demo drives it over HTTP."""
    import json

    from harness.driver import Driver

    def call(method, path, body, headers):
        hdrs = {"Content-Type": "application/json", **headers}
        resp = api.http.request(method, path, body=json.dumps(body).encode() if body is not None else b"",
                                headers=hdrs)
        try:
            payload = json.loads(resp.body) if resp.body else {}
        except ValueError:
            payload = {"raw": resp.body.decode("utf-8", "replace")}
        return resp.status_code, payload

    return Driver(call, stack)
