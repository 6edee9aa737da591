"""The local shims' own contract: they patch only the moto they were written for, `drain()` reports what has
really finished, and `uninstall()` puts moto back and leaves no shim thread running into the next test."""

from __future__ import annotations

import threading
import types

import moto
import pytest
from moto.awslambda.models import LambdaFunction
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from harness import dynamodb_shim, lambda_shim, moto_pin

RELEASE = threading.Event()
HANDLED: list[dict] = []
BATCH = {"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "1"}}}}]}


def held_handler(event: dict, context: object) -> dict:
    """A stream consumer that finishes only when the test lets it (bounded, so a broken test cannot hang)."""
    RELEASE.wait(60)
    HANDLED.append(event["Records"][0]["dynamodb"]["Keys"])
    return {}


def _function(name: str) -> types.SimpleNamespace:
    """The attributes of moto's LambdaFunction that the shim reads."""
    return types.SimpleNamespace(
        function_name=name, handler=f"{__name__}.held_handler", environment_vars={}, version="$LATEST",
        function_arn=f"arn:aws:lambda:ap-east-1:123456789012:function:{name}", memory_size=128, timeout=30)


def test_drain_waits_for_the_batch_to_finish_and_uninstall_joins_the_worker():
    RELEASE.clear()
    HANDLED.clear()
    lambda_shim.install()
    try:
        # moto hands the stream batch over inside the write; the shim returns at once and runs it on its worker
        assert LambdaFunction._invoke_lambda(_function("shim-test"), BATCH) == ("{}", False, "")
        assert [t.name for t in lambda_shim.worker_threads()] == ["stream-shim-test"]
        assert lambda_shim.drain(0.2) is False  # the handler is held: not settled, whatever the clock says
        assert HANDLED == []
        RELEASE.set()
        assert lambda_shim.drain() is True
        assert HANDLED == [{"id": {"S": "1"}}]
    finally:
        RELEASE.set()
        lambda_shim.uninstall()
    assert lambda_shim.worker_threads() == []
    assert LambdaFunction._invoke_lambda is lambda_shim._original


def test_reinstalled_shim_starts_fresh_workers():
    RELEASE.set()
    for _ in range(2):
        lambda_shim.install()
        try:
            LambdaFunction._invoke_lambda(_function("shim-again"), BATCH)
            assert lambda_shim.drain() is True
        finally:
            lambda_shim.uninstall()
        assert lambda_shim.worker_threads() == []


def test_dynamodb_shim_uninstall_puts_moto_back():
    before = (DynamoDBBackend.transact_write_items, DynamoDBBackend.put_item, Table.query)
    dynamodb_shim.install()
    try:
        assert (DynamoDBBackend.transact_write_items, DynamoDBBackend.put_item, Table.query) != before
    finally:
        dynamodb_shim.uninstall()
    assert (DynamoDBBackend.transact_write_items, DynamoDBBackend.put_item, Table.query) == before


@pytest.mark.parametrize("shim", [lambda_shim, dynamodb_shim], ids=["lambda_shim", "dynamodb_shim"])
def test_a_shim_refuses_a_moto_it_was_not_written_for(shim, monkeypatch):
    before = (LambdaFunction._invoke_lambda, DynamoDBBackend.transact_write_items, Table.query)
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(moto_pin.UnsupportedMoto, match=r"patches moto 5\.2\.5 internals but moto 5\.3\.0"):
        shim.install()
    assert (LambdaFunction._invoke_lambda, DynamoDBBackend.transact_write_items, Table.query) == before
