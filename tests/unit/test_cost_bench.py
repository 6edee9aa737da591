"""bench/cost.py's arithmetic: DynamoDB's unit rules, the Lambda GB-seconds from the template's memory sizes, and
the prices kept as cited data (the run itself needs the local stack: `make bench`)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bench import cost
from infra import resources as r


def test_item_size_follows_dynamodbs_rule():
    assert cost.item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert cost.item_size({"n": {"N": "12345"}}) == 1 + 3  # ~1 byte per two digits, plus one
    assert cost.item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + (1 + 2 + 1)
    assert cost.item_size({"t": {"S": "咖"}}) == 1 + 3  # UTF-8 bytes, not characters


def _meter() -> cost.Meter:
    return cost.Meter(stage="local")


def test_writes_cost_one_unit_per_kb_plus_one_per_index_the_item_is_in():
    meter = _meter()
    claims = r.physical_name("local", "claims")
    small = {"claim_id": {"S": "c1"}}
    meter.dynamodb("PutItem", {"TableName": claims, "Item": small}, {})
    assert meter.ddb.wru == 1  # no index key present: the sparse indexes are not written
    indexed = {**small, "department_id": {"S": "D1"}, "created_at": {"S": "2026"}, "pad": {"S": "x" * 1500}}
    meter.dynamodb("PutItem", {"TableName": claims, "Item": indexed}, {})
    assert meter.ddb.wru == 1 + 2 + 2  # 2 KB in the table and 2 KB in the by-department index (ALL)


def test_transactions_double_the_table_write_and_reads_are_by_4_kb():
    meter = _meter()
    table = r.physical_name("local", "ledger")
    meter.dynamodb("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": table, "Item": {"journal_id": {"S": "j"}}}},
        {"ConditionCheck": {"TableName": table, "Key": {"journal_id": {"S": "k"}}}}]}, {})
    assert meter.ddb.wru == 4
    meter.dynamodb("GetItem", {"TableName": table}, {"Item": {"journal_id": {"S": "x" * 5000}}})
    meter.dynamodb("Query", {"TableName": table, "ConsistentRead": True}, {"Items": []})
    assert meter.ddb.rru == 2 * 0.5 + 1  # eventually consistent 8 KB, then an empty consistent query


def test_bill_prices_gb_seconds_by_memory_size_in_decimal():
    meter = _meter()
    meter.calls = Counter({("x", "s3", "PutObject"): 2, ("x", "s3", "GetObject"): 4, ("x", "sns", "Publish"): 2})
    measured = {"claims": 2, "meter": meter, "api_seconds": [0.1, 0.1],
                "invocations": [{"function": r.function_name("local", "extract_receipt"), "seconds": 2.0}],
                "transitions": 10, "stored": {"uploads": 0}, "sms": 0, "voice": 0}
    billed = cost.bill(measured)
    assert billed["lambda"]["extract_receipt"]["gb_s"] == pytest.approx(2.0 * 1536 / 1024 / 2)
    assert billed["units"]["s3_tier1"] == (2 + 2) / 2  # + the browser's POST per claim
    assert billed["units"]["states_transitions"] == 5
    assert all(isinstance(v, Decimal) for v in billed["cost"].values())
    expected = Decimal(str(billed["units"]["lambda_gb_s"])) * cost.price("lambda_gb_s") * 1000
    assert billed["cost"]["lambda_compute"] == expected
    lines = cost.report(billed, measured)
    assert any(line.startswith("cost_total_usd_per_1000_claims_without_sms_voice: ") for line in lines)
    assert any(line.startswith("cost_dominated_by: ") for line in lines)


def test_prices_are_data_with_their_pages_cited():
    assert "Recorded 2026-12-02" in Path(cost.__file__).read_text("utf-8")
    for key, (usd, unit, _note) in cost.PRICES.items():
        assert isinstance(usd, Decimal) and usd > 0 and unit, key
    assert all(url.startswith("https://aws.amazon.com/") for url in cost.PRICING_PAGES.values())
