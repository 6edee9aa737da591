"""The local DynamoDB plumbing keeps DynamoDB's transaction promises under concurrent requests."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from harness import dynamodb_shim

REGION = "ap-east-1"


@pytest.fixture
def table():
    with mock_aws():
        dynamodb_shim.install()
        try:
            ddb = boto3.client("dynamodb", region_name=REGION)
            ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            yield ddb
        finally:
            dynamodb_shim.uninstall()


def _cancelled_transaction(ddb, n: int) -> None:
    """A write plus a condition that fails: DynamoDB cancels the whole transaction."""
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": f"tx-{n}"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "missing"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])


def test_a_cancelled_transaction_writes_nothing_and_says_why(table):
    with pytest.raises(table.exceptions.TransactionCanceledException) as caught:
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "missing"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in table.get_item(TableName="t", Key={"pk": {"S": "a"}})


def test_a_successful_transaction_applies_every_write(table):
    table.put_item(TableName="t", Item={"pk": {"S": "v"}, "version": {"N": "1"}})
    table.transact_write_items(TransactItems=[
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "v"}}, "UpdateExpression": "SET version = :n",
                    "ConditionExpression": "version = :o",
                    "ExpressionAttributeValues": {":n": {"N": "2"}, ":o": {"N": "1"}}}},
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "audit-2"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    assert table.get_item(TableName="t", Key={"pk": {"S": "v"}})["Item"]["version"] == {"N": "2"}
    assert "Item" in table.get_item(TableName="t", Key={"pk": {"S": "audit-2"}})


def test_a_failing_apply_step_puts_back_what_the_transaction_wrote(table):
    table.put_item(TableName="t", Item={"pk": {"S": "s"}, "name": {"S": "text"}})
    with pytest.raises(ClientError, match="incorrect data type"):
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "first"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "s"}}, "UpdateExpression": "ADD #n :one",
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])
    assert "Item" not in table.get_item(TableName="t", Key={"pk": {"S": "first"}})
    assert table.get_item(TableName="t", Key={"pk": {"S": "s"}})["Item"]["name"] == {"S": "text"}


def test_cancelled_transactions_never_undo_other_writers(table):
    """moto alone restores a whole-table copy on cancel, erasing writes other threads made meanwhile."""
    for n in range(500):  # a table of some size, so a whole-table copy takes long enough to be overtaken
        table.put_item(TableName="t", Item={"pk": {"S": f"old-{n}"}, "body": {"S": "x" * 200}})
    writers, per_writer = 4, 40
    failures: list[BaseException] = []

    def guarded(work):
        def run(n: int) -> None:
            try:
                work(n)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)
        return run

    @guarded
    def write(w: int) -> None:
        for i in range(per_writer):
            table.put_item(TableName="t", Item={"pk": {"S": f"w{w}-{i}"}})

    @guarded
    def cancel(c: int) -> None:
        for i in range(per_writer):
            _cancelled_transaction(table, c * 1000 + i)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=cancel, args=(c,)) for c in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    pks = set()
    for page in table.get_paginator("scan").paginate(TableName="t"):
        pks.update(i["pk"]["S"] for i in page["Items"])
    assert {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)} <= pks
    assert not any(pk.startswith("tx-") for pk in pks)


@pytest.fixture
def chain():
    with mock_aws():
        dynamodb_shim.install()
        try:
            ddb = boto3.client("dynamodb", region_name=REGION)
            ddb.create_table(TableName="c", BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "entity", "KeyType": "HASH"},
                                        {"AttributeName": "seq", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": "entity", "AttributeType": "S"},
                                                   {"AttributeName": "seq", "AttributeType": "S"}])
            for entity in ("a", "b", "c"):
                for seq in range(1, 6):
                    ddb.put_item(TableName="c", Item={"entity": {"S": entity}, "seq": {"S": f"{seq:04d}"}})
            yield ddb
        finally:
            dynamodb_shim.uninstall()


def test_a_query_reads_only_its_partition_and_answers_as_before(chain, monkeypatch):
    from moto.dynamodb.models.table import Table

    def whole_table(self):
        raise AssertionError("a base-table query must not sort the whole table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    newest = chain.query(TableName="c", KeyConditionExpression="entity = :e", ScanIndexForward=False, Limit=2,
                         ExpressionAttributeValues={":e": {"S": "b"}})
    assert [i["seq"]["S"] for i in newest["Items"]] == ["0005", "0004"] and "LastEvaluatedKey" in newest
    page = chain.query(TableName="c", KeyConditionExpression="entity = :e AND seq > :s",
                       ExpressionAttributeValues={":e": {"S": "a"}, ":s": {"S": "0003"}})
    assert [(i["entity"]["S"], i["seq"]["S"]) for i in page["Items"]] == [("a", "0004"), ("a", "0005")]
    assert chain.query(TableName="c", KeyConditionExpression="entity = :e",
                       ExpressionAttributeValues={":e": {"S": "zzz"}})["Items"] == []
