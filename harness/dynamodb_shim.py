"""Local plumbing: make moto's DynamoDB keep DynamoDB's promises when many requests arrive at once.

moto 5.2.5 (pinned) has two gaps that only show under concurrency, which the local stack has plenty of
(the threaded moto server, the stream worker, Step Functions task threads):

- `transact_write_items` deep-copies every table it touches before it starts and, when the transaction is
  cancelled (a lost optimistic-lock race, which is routine for us), puts the copies back. Any write another
  thread made to those tables meanwhile is silently undone: a lost write DynamoDB never makes. The copy is also
  O(table size), so the stack slows as the audit table grows.
- Backend methods iterate plain dicts that other request threads mutate ("dictionary changed size during
  iteration" → HTTP 500).
- A table query sorts every item of the table to find one partition, so each audit append (a query for the
  chain's last record) costs O(table): the stack slowed threefold over a 500-claim run. DynamoDB reads one
  partition; so does the patched query (same moto code, handed only that partition's items).

The replacement keeps DynamoDB's semantics and moto's own item code: every backend call runs under one lock
(DynamoDB serialises conflicting writes too); a transaction checks all its conditions against the state before
it, then applies its writes, or cancels with per-item reasons and writes nothing. Only if an apply step itself
fails (an invalid update expression) are the items already written put back, item by item.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from harness import moto_pin

LOCK = threading.RLock()
_SERIALISED = ("put_item", "get_item", "update_item", "delete_item", "query", "scan", "batch_get_item",
               "transact_get_items", "describe_table", "update_table", "create_table", "delete_table")
_originals: dict[str, Any] = {}
_OPS = {"ConditionCheck", "Put", "Delete", "Update"}


def _serialised(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with LOCK:
            return method(*args, **kwargs)

    return locked


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict, dict]]:
    """Evaluate every condition against the state before the transaction; cancel with moto's error shape."""
    planned: list[tuple[str, dict, dict]] = []
    errors: list[tuple[Any, Any, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        original_item = None
        try:
            if op_type not in _OPS:
                raise ValueError("Unsupported transaction operation")
            key = _key_of(backend, op_type, op)
            marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            current = backend.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                expr = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                             op.get("ExpressionAttributeValues"))
                if not expr.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            planned.append((op_type, op, key))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:  # noqa: BLE001 - moto reports any other failure per item, as DynamoDB does
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    return planned


def _restore(backend: DynamoDBBackend, table_name: str, key: dict[str, Any], before: Any) -> None:
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, key)
    bucket = table.items[hash_key] if range_key is not None else table.items
    slot = range_key if range_key is not None else hash_key
    if before is None:
        bucket.pop(slot, None)
    else:
        bucket[slot] = before


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    table, condition = op["TableName"], op.get("ConditionExpression")
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(table, op["Item"], condition_expression=condition,
                         expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(table, key, condition_expression=condition,
                            expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(table, key, update_expression=op["UpdateExpression"], condition_expression=condition,
                            expression_attribute_names=names, expression_attribute_values=values)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with LOCK:
        planned = _check(self, transact_items)
        applied: list[tuple[str, dict, Any]] = []
        for index, (op_type, op, key) in enumerate(planned):
            try:
                applied.append((op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))))
                _apply(self, op_type, op, key)
            except Exception as exc:
                for table_name, item_key, before in reversed(applied):
                    _restore(self, table_name, item_key, before)
                if isinstance(exc, MockValidationException):
                    raise
                errors: list[tuple[Any, Any, Any]] = [(None, None, None)] * len(planned)
                errors[index] = (type(exc).__name__, str(exc), None)
                raise TransactionCanceledException(errors) from exc


def _partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's own Table.query, shown only the queried partition when it reads the base table (not an index).
    Runs under LOCK (the backend's query is serialised), so the per-call override cannot leak."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name is not None or hash_key is None:
        return _originals["Table.query"](self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)
    items = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
    self.all_items = lambda: items  # type: ignore[method-assign]
    try:
        return _originals["Table.query"](self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


def install() -> None:
    moto_pin.require("harness/dynamodb_shim.py")  # replaces DynamoDBBackend and Table methods, moto internals
    if _originals:
        return
    for name in (*_SERIALISED, "transact_write_items"):
        _originals[name] = getattr(DynamoDBBackend, name)
    _originals["Table.query"] = Table.query
    for name in _SERIALISED:
        setattr(DynamoDBBackend, name, _serialised(_originals[name]))
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = _partition_query  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto's methods back. The shim starts no threads (it only serialises the callers'), so nothing to join."""
    for name, method in _originals.items():
        if name == "Table.query":
            Table.query = method  # type: ignore[method-assign]
        else:
            setattr(DynamoDBBackend, name, method)
    _originals.clear()
