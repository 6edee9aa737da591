"""Cost per 1,000 claims at ap-east-1 list prices, from billable units counted on a run through the local stack.

Each claim is what an employee most often files: one photographed receipt uploaded with the presigned form, read
by the OCR Lambda, submitted, scored, routed, approved through the link by the one approver a small claim needs,
posted to the ledger. Every AWS call the deployment's code makes is counted on the way (botocore's one call
point, attributed to the Lambda function running it, as harness/iam_recorder.py does):

* Lambda: requests, and GB-seconds = duration x MemorySize from the template (infra/template.py), by function.
  The duration priced is the process's CPU time while the handler ran (the OCR computes on native threads;
  moto's in-process work for the handler is included, an over-count) plus AWS_CALL_LATENCY_S for each AWS call it
  made, never more than the wall clock: wall-clock time on a shared machine includes waiting for a core (it is
  printed too, as an upper bound). Compare both with CloudWatch's REPORT lines after a real deploy.
* Step Functions (standard): state transitions, from the executions' histories (StateEntered events).
* DynamoDB on-demand: RRU/WRU from each call's items and their sizes (1 KB per WRU, 4 KB per RRU, eventually
  consistent reads half, transactions double, one more write per GSI an item is projected into); stream reads by
  Lambda triggers are free.
* S3: requests by tier (the browser's presigned POST counted as one PUT) and the bytes stored per claim.
* KMS: the explicit calls (decision signatures); encryption at rest is amortised (S3 Bucket Keys, DynamoDB's
  table-key cache) and shown as a fixed monthly figure, with the keys', secrets' and alarms' monthly fees.
* SNS publishes and deliveries, SQS requests, API Gateway requests, Secrets Manager calls, X-Ray traces.
* SMS and voice (cross-border, chalicelib/domain/transfers.py) apart: counted from the telephony outbox, and
  priced for the worst case where every approval step needs its SMS and its call.

PRICES are data, with their pages and the date they were recorded. Prints `name: value unit` lines.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# --- prices (USD), ap-east-1 (Asia Pacific (Hong Kong)), on-demand list prices ------------------------------------
# Recorded 2026-12-02 from the pages below (regional tables; select "Asia Pacific (Hong Kong)"). Values marked
# "check" were not re-read against the page today: confirm with
#   aws pricing get-products --region us-east-1 --service-code <code> \
#       --filters Type=TERM_MATCH,Field=regionCode,Value=ap-east-1
# before quoting them. A price change is a change here, never in the counting code.
PRICING_PAGES = {
    "lambda": "https://aws.amazon.com/lambda/pricing/",
    "states": "https://aws.amazon.com/step-functions/pricing/",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "s3": "https://aws.amazon.com/s3/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
    "sns": "https://aws.amazon.com/sns/pricing/",
    "sqs": "https://aws.amazon.com/sqs/pricing/",
    "apigateway": "https://aws.amazon.com/api-gateway/pricing/",
    "secretsmanager": "https://aws.amazon.com/secrets-manager/pricing/",
    "xray": "https://aws.amazon.com/xray/pricing/",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/",
    "sms": "https://aws.amazon.com/end-user-messaging/pricing/",
}
PRICES: dict[str, tuple[Decimal, str, str]] = {  # key -> (USD, unit, note)
    "lambda_gb_s": (Decimal("0.00002292"), "GB-second (x86)", "ap-east-1 rate"),
    "lambda_request": (Decimal("0.20") / 10**6, "request", "check"),
    "states_transition": (Decimal("0.0275") / 1000, "state transition (standard)", "check"),
    "dynamodb_wru": (Decimal("0.7875") / 10**6, "write request unit (on-demand)", "check"),
    "dynamodb_rru": (Decimal("0.1575") / 10**6, "read request unit (on-demand)", "check"),
    "dynamodb_gb_month": (Decimal("0.28"), "GB-month (standard table class)", "check"),
    "s3_tier1": (Decimal("0.0055") / 1000, "PUT/COPY/POST/LIST request", "check"),
    "s3_tier2": (Decimal("0.00044") / 1000, "GET/HEAD and other requests", "check"),
    "s3_gb_month": (Decimal("0.025"), "GB-month (S3 Standard, first 50 TB)", "check"),
    "kms_request": (Decimal("0.03") / 10**4, "API request", "the same in every commercial region"),
    "kms_key_month": (Decimal("1"), "customer-managed key-month", ""),
    "sns_publish": (Decimal("0.50") / 10**6, "publish (64 KB chunk)", ""),
    "sns_email": (Decimal("2.00") / 10**5, "e-mail delivery", ""),
    "sqs_request": (Decimal("0.40") / 10**6, "standard queue request", "check"),
    "apigw_request": (Decimal("4.25") / 10**6, "REST API request (first 333 M)", "check"),
    "secrets_call": (Decimal("0.05") / 10**4, "API call", ""),
    "secret_month": (Decimal("0.40"), "secret-month", ""),
    "xray_trace": (Decimal("5.00") / 10**6, "trace recorded", ""),
    "alarm_month": (Decimal("0.10"), "standard-resolution alarm-month", "check"),
    "sms_hk": (Decimal("0.0405"), "SMS to a Hong Kong number (transactional)", "check: carrier fees vary"),
    "voice_minute": (Decimal("0.0130"), "voice minute to a Hong Kong number", "check"),
}

AWS_CALL_LATENCY_S = 0.010  # a typical in-region AWS API round trip from Lambda (DynamoDB single-digit ms, S3 ~20)
TARGET_PER_1000 = Decimal("1.00")  # issue #21: at most US$1 per 1,000 claims without SMS/voice
API = "api_handler"


def price(key: str) -> Decimal:
    return PRICES[key][0]


# --- counting -----------------------------------------------------------------------------------------------------


def attribute_size(value: dict) -> int:
    """DynamoDB's item-size rule, approximately: names + values (strings UTF-8, numbers ~1 byte per 2 digits)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, (bytes, bytearray)) else len(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(x)) for x in inner)
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    return 1


def item_size(item: dict | None) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


@dataclass
class Units:
    rru: float = 0.0
    wru: float = 0.0
    by_table: dict | None = None

    def add(self, table: str, rru: float = 0.0, wru: float = 0.0) -> None:
        self.rru += rru
        self.wru += wru
        if self.by_table is None:
            self.by_table = defaultdict(lambda: [0.0, 0.0])
        self.by_table[table][0] += rru
        self.by_table[table][1] += wru


class Meter:
    """Counts billable units from every botocore call the deployment's code makes."""

    def __init__(self, stage: str = "local"):
        from infra import resources as r

        self.calls: Counter = Counter()  # (function, service, operation) -> n
        self.ddb = Units()
        self.lock = threading.Lock()
        self._indexes = {r.physical_name(stage, tb.logical): tb.indexes for tb in r.TABLES}

    def _index_writes(self, table: str, item: dict) -> float:
        """One more write per GSI the item is projected into (a sparse index only when its keys are present)."""
        size = item_size(item)
        extra = 0.0
        for ix in self._indexes.get(table, ()):
            if ix.hash_key in item and (ix.range_key is None or ix.range_key in item):
                projected = size if not ix.include else sum(
                    item_size({k: item[k]}) for k in (ix.hash_key, ix.range_key, *ix.include) if k and k in item)
                extra += max(1, math.ceil(projected / 1024))
        return extra

    def _wru(self, table: str, item: dict | None, transactional: bool = False) -> float:
        """A transaction doubles the table write; the index propagation is an ordinary write."""
        base = max(1, math.ceil(item_size(item) / 1024)) * (2 if transactional else 1)
        return base + (self._index_writes(table, item) if item else 0)

    @staticmethod
    def _rru(size: int, consistent: bool, transactional: bool = False) -> float:
        units = max(1, math.ceil(size / 4096))
        return units * (2 if transactional else 1 if consistent else 0.5)

    def dynamodb(self, op: str, params: dict, response: dict) -> None:
        table = params.get("TableName", "")
        consistent = bool(params.get("ConsistentRead"))
        if op == "GetItem":
            self.ddb.add(table, rru=self._rru(item_size(response.get("Item")), consistent))
        elif op in ("Query", "Scan"):
            size = sum(item_size(i) for i in response.get("Items", []))
            self.ddb.add(table, rru=self._rru(size, consistent))
        elif op == "PutItem":
            self.ddb.add(table, wru=self._wru(table, params.get("Item")))
        elif op == "UpdateItem":
            values = params.get("ExpressionAttributeValues") or {}
            self.ddb.add(table, wru=max(1, math.ceil((item_size(values) + item_size(params.get("Key"))) / 1024)))
        elif op == "DeleteItem":
            self.ddb.add(table, wru=1)
        elif op == "BatchWriteItem":
            for name, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    self.ddb.add(name, wru=self._wru(name, request.get("PutRequest", {}).get("Item")))
        elif op == "BatchGetItem":
            for name, items in response.get("Responses", {}).items():
                for item in items:
                    self.ddb.add(name, rru=self._rru(item_size(item), False))
        elif op == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                kind, body = next(iter(entry.items()))
                item = body.get("Item") if kind == "Put" else None
                self.ddb.add(body["TableName"], wru=self._wru(body["TableName"], item, transactional=True))
        elif op == "TransactGetItems":
            for entry, got in zip(params.get("TransactItems", []), response.get("Responses", []), strict=False):
                self.ddb.add(entry["Get"]["TableName"], rru=self._rru(item_size(got.get("Item")), True, True))

    def record(self, function: str, service: str, op: str, params: dict, response: dict) -> None:
        with self.lock:
            self.calls[(function, service, op)] += 1
            if service == "dynamodb":
                self.dynamodb(op, params, response)


def install(meter: Meter) -> None:
    """Wrap botocore's single call point (after the IAM recorder, which attributes calls to functions)."""
    from botocore.client import BaseClient

    from harness import iam_recorder

    original = BaseClient._make_api_call

    def metered(self: BaseClient, operation_name: str, api_params: dict) -> Any:
        function = getattr(iam_recorder._current, "function", None)
        response = original(self, operation_name, api_params)
        if function is not None:
            meter.record(function, self.meta.service_model.signing_name, operation_name, api_params, response)
        return response

    BaseClient._make_api_call = metered  # type: ignore[method-assign]


# --- the run ------------------------------------------------------------------------------------------------------


def run_claims(claims: int) -> dict:
    """Files `claims` one-receipt claims through the local stack; returns what was measured."""
    from chalice import Chalice

    from harness import iam_recorder, lambda_shim
    from harness.demo import _free_port, start
    from harness.sample_receipts import receipt_png
    from infra import resources as r

    meter = Meter()
    api_seconds: list[float] = []
    real_call = Chalice.__call__

    def as_api_handler(self, event, context):
        started, started_cpu = time.monotonic(), time.process_time()
        with iam_recorder.running(r.function_name("local", API)):
            try:
                return real_call(self, event, context)
            finally:
                api_seconds.append(time.monotonic() - started)
                cpu[API].append(time.process_time() - started_cpu)

    cpu: dict[str, list[float]] = defaultdict(list)  # logical function -> CPU seconds per invocation
    handler_of = {fn.handler: fn.logical for fn in r.FUNCTIONS}
    real_resolve = lambda_shim.resolve

    def timed_resolve(handler: str):
        target = real_resolve(handler)

        def timed(event, context):
            started = time.process_time()
            try:
                return target(event, context)
            finally:
                cpu[handler_of.get(handler, handler)].append(time.process_time() - started)

        return timed

    running = start(_free_port())
    install(meter)
    lambda_shim.resolve = timed_resolve
    Chalice.__call__ = as_api_handler  # type: ignore[method-assign]
    lambda_shim.INVOCATIONS.clear()
    driver, stack = running.driver, running.stack
    receipt_bytes = 0
    sms = voice = 0
    try:
        for i in range(claims):
            amount = f"{60 + (i * 37) % 400}.50"
            day = date(2026, 11, 2) + timedelta(days=i % 20)
            png = receipt_png(f"Cost Café {i} 咖啡店", day, [("Lunch 午餐", amount)])
            receipt_bytes += len(png)
            expense_id = driver.upload("E201", png, f"cost-{i}.png", "image/png")
            driver.wait_expense("E201", expense_id, {"extracted", "needs_review", "failed"}, seconds=180)
            status, body = driver.submit_alone("E201", expense_id, {
                "category": "meals", "total": amount, "vendor": f"Cost Café {i}", "currency": "HKD",
                "receipt_date": day.isoformat()})
            assert status == 201, body
            claim_id = body["claim_id"]
            message = driver.approval_message(claim_id, level=1, seconds=180)
            assert driver.decide(message["link"], "approve")[0] == 200
            driver.wait_status("E201", claim_id, {"posted"}, seconds=180)
        lambda_shim.drain(60)
        for message in stack.telephony_messages():
            sms += message.get("channel") == "sms"
            voice += message.get("channel") == "voice"
        transitions = state_transitions(stack)
        stored = stored_bytes(stack)
    finally:
        Chalice.__call__ = real_call  # type: ignore[method-assign]
        lambda_shim.resolve = real_resolve
        running.stop()
    invocations = [dict(x) for x in lambda_shim.INVOCATIONS]
    return {"claims": claims, "meter": meter, "api_seconds": api_seconds, "invocations": invocations, "cpu": cpu,
            "transitions": transitions, "stored": stored, "receipt_bytes": receipt_bytes, "sms": sms,
            "voice": voice}


def state_transitions(stack) -> int:
    """State transitions of every execution the run started (standard workflows bill each StateEntered)."""
    sfn = stack.client("stepfunctions")
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            total += sum(1 for e in events if e["type"].endswith("StateEntered"))
    return total


def stored_bytes(stack) -> dict[str, int]:
    """Bytes in each bucket at the end of the run (every version)."""
    from infra import resources as r

    s3 = stack.client("s3")
    out = {}
    for bucket in r.BUCKETS:
        name = r.bucket_name(stack.stage, bucket)
        total = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            total += sum(v["Size"] for v in page.get("Versions", []))
        out[bucket] = total
    return out


# --- pricing ------------------------------------------------------------------------------------------------------

S3_TIER1 = {"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects", "ListObjectVersions",
            "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}


def memory_mb() -> dict[str, int]:
    """MemorySize of each function as the template deploys it (infra/template.py all_functions)."""
    from infra import template as t

    return {fn.logical: fn.memory_mb for fn in t.all_functions()}


def _logical(function_name: str) -> str:
    from infra import resources as r

    return function_name.removeprefix(r.physical_name("local", ""))


def bill(measured: dict) -> dict:
    """Billable units per claim and US$ per 1,000 claims, by line."""
    n = measured["claims"]
    meter: Meter = measured["meter"]
    memory = memory_mb()
    seconds: dict[str, list[float]] = defaultdict(list)
    for inv in measured["invocations"]:
        seconds[_logical(inv["function"])].append(inv["seconds"])
    seconds[API] = list(measured["api_seconds"])
    calls_by_function: Counter = Counter()
    for (fn_name, _service, _op), count in meter.calls.items():
        calls_by_function[_logical(fn_name)] += count
    cpu = measured.get("cpu") or {}
    lambda_lines = {}
    for fn, durations in sorted(seconds.items()):
        mem_gb = memory.get(fn, 128) / 1024
        wall = sum(math.ceil(d * 1000) / 1000 for d in durations)  # 1 ms granularity
        estimate = (sum(cpu[fn]) if fn in cpu else wall) + calls_by_function[fn] * AWS_CALL_LATENCY_S
        estimate = min(estimate, wall)  # never above what the clock saw
        lambda_lines[fn] = {"invocations": len(durations) / n, "gb_s": estimate * mem_gb / n,
                            "wall_gb_s": wall * mem_gb / n, "memory_mb": memory.get(fn, 128),
                            "mean_ms": 1000 * estimate / max(1, len(durations)),
                            "wall_mean_ms": 1000 * wall / max(1, len(durations))}
    calls = Counter()
    for (_fn, service, op), count in meter.calls.items():
        calls[(service, op)] += count
    s3_tier1 = sum(c for (s, op), c in calls.items() if s == "s3" and op in S3_TIER1) + n  # + the browser's POST
    s3_tier2 = sum(c for (s, op), c in calls.items() if s == "s3" and op not in S3_TIER1)
    sqs = sum(c for (s, _), c in calls.items() if s == "sqs")
    # each message sent is also received and deleted by its event-source mapping (moto's shim, not botocore)
    sqs += 2 * sum(c for (s, op), c in calls.items() if s == "sqs" and op == "SendMessage")
    sns = sum(c for (s, op), c in calls.items() if s == "sns" and op == "Publish")
    kms = sum(c for (s, _), c in calls.items() if s == "kms")
    secrets = sum(c for (s, _), c in calls.items() if s == "secretsmanager")
    api_requests = len(measured["api_seconds"])
    invocations = sum(len(v) for v in seconds.values())
    stored_gb = sum(measured["stored"].values()) / 1024**3
    units = {
        "lambda_requests": invocations / n,
        "lambda_gb_s": sum(line["gb_s"] for line in lambda_lines.values()),
        "lambda_gb_s_wall_clock": sum(line["wall_gb_s"] for line in lambda_lines.values()),
        "states_transitions": measured["transitions"] / n,
        "dynamodb_rru": meter.ddb.rru / n,
        "dynamodb_wru": meter.ddb.wru / n,
        "s3_tier1": s3_tier1 / n,
        "s3_tier2": s3_tier2 / n,
        "s3_gb_month": stored_gb / n,
        "kms_requests": kms / n,
        "sns_publishes": sns / n,
        "sqs_requests": sqs / n,
        "apigw_requests": api_requests / n,
        "secrets_calls": secrets / n,
        "xray_traces": (api_requests + invocations) / n,  # upper bound: every invocation sampled
    }
    u = {k: Decimal(str(v)) for k, v in units.items()}  # money stays Decimal: counts enter as exact decimals
    cost = {  # US$ per 1,000 claims
        "lambda_compute": u["lambda_gb_s"] * price("lambda_gb_s") * 1000,
        "lambda_requests": u["lambda_requests"] * price("lambda_request") * 1000,
        "step_functions": u["states_transitions"] * price("states_transition") * 1000,
        "dynamodb": (u["dynamodb_rru"] * price("dynamodb_rru") + u["dynamodb_wru"] * price("dynamodb_wru")) * 1000,
        "s3_requests": (u["s3_tier1"] * price("s3_tier1") + u["s3_tier2"] * price("s3_tier2")) * 1000,
        "s3_storage_first_month": u["s3_gb_month"] * price("s3_gb_month") * 1000,
        "kms": u["kms_requests"] * price("kms_request") * 1000,
        "sns": u["sns_publishes"] * (price("sns_publish") + price("sns_email")) * 1000,
        "sqs": u["sqs_requests"] * price("sqs_request") * 1000,
        "api_gateway": u["apigw_requests"] * price("apigw_request") * 1000,
        "secrets_manager": u["secrets_calls"] * price("secrets_call") * 1000,
        "xray": u["xray_traces"] * price("xray_trace") * 1000,
    }
    steps = 1  # approval steps per claim in this run; worst case: every step needs its SMS and its 1-minute call
    telephony = {
        "measured_sms_per_claim": measured["sms"] / n, "measured_voice_per_claim": measured["voice"] / n,
        "measured": Decimal(str(measured["sms"] / n)) * price("sms_hk") * 1000
        + Decimal(str(measured["voice"] / n)) * price("voice_minute") * 1000,
        "worst_case": steps * (price("sms_hk") + price("voice_minute")) * 1000,
    }
    return {"units": units, "lambda": lambda_lines, "cost": cost, "telephony": telephony,
            "ddb_by_table": dict(meter.ddb.by_table or {}), "stored": measured["stored"]}


def fixed_monthly() -> dict[str, Decimal]:
    """What a stage costs a month whatever the volume (not per claim): keys, secrets, alarms, SSE key traffic."""
    from infra import resources as r
    from infra import template as t

    merge = t.build("prod")
    alarm_count = sum(1 for v in merge["Resources"].values() if v.get("Type") == "AWS::CloudWatch::Alarm")
    # DynamoDB asks KMS for each table's key about once per 5 minutes while it is used; S3 Bucket Keys likewise
    sse_requests = (len(r.TABLES) + len(r.BUCKETS)) * 12 * 24 * 30
    return {"kms_keys": len(r.KMS_KEYS) * price("kms_key_month"),
            "secrets": len(r.SECRETS) * price("secret_month"),
            "alarms": alarm_count * price("alarm_month"),
            "sse_kms_requests": sse_requests * price("kms_request")}


CUTS = {
    "lambda_compute": "run OCR on arm64 (-20% per GB-s), right-size its 1536 MB with AWS Lambda Power Tuning, and "
                      "skip OCR of e-receipts that carry their data",
    "xray": "sample traces (X-Ray's default rule: 1/s + 5%) instead of tracing every invocation",
    "api_gateway": "an HTTP API instead of the REST API (about 70% cheaper per request); fewer page polls",
    "step_functions": "an Express workflow for the routing part (billed by duration, not transitions)",
    "dynamodb": "fewer GSIs projected ALL (the claims table writes each claim into four), KEYS_ONLY/INCLUDE",
    "s3_requests": "fewer HEAD/GET per receipt (hash once, pass the version on)",
    "sns": "push notifications instead of e-mail deliveries",
}


UNIT_NAMES = {"lambda_requests": "requests", "lambda_gb_s": "GB-s", "lambda_gb_s_wall_clock": "GB-s (upper bound)",
              "states_transitions": "transitions",
              "dynamodb_rru": "RRU", "dynamodb_wru": "WRU", "s3_tier1": "requests", "s3_tier2": "requests",
              "s3_gb_month": "GB-month", "kms_requests": "requests", "sns_publishes": "publishes",
              "sqs_requests": "requests", "apigw_requests": "requests", "secrets_calls": "calls",
              "xray_traces": "traces"}


def lambda_cuts(functions: dict[str, dict]) -> str:
    """What would cut Lambda compute, from where its GB-seconds went in this run."""
    ranked = sorted(functions.items(), key=lambda kv: -kv[1]["gb_s"])
    total = sum(line["gb_s"] for _, line in ranked) or 1.0
    parts = [f"{fn} {100 * line['gb_s'] / total:.0f}% ({line['invocations']:.1f}/claim)" for fn, line in ranked[:3]]
    advice = [CUTS["lambda_compute"]]
    chatty = [fn for fn, line in ranked if line["invocations"] >= 4 and fn != API]
    if chatty:
        advice.append(f"filter the claims stream (event-source FilterCriteria) so {', '.join(chatty)} run only "
                      "for the changes they act on")
    return "; ".join(["GB-s by function: " + ", ".join(parts), *advice])


def _usd(value: Decimal, places: str = "0.0001") -> str:
    return str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def report(billed: dict, measured: dict) -> list[str]:
    units, cost, tel = billed["units"], billed["cost"], billed["telephony"]
    lines = [f"cost_claims: {measured['claims']} count"]
    for fn, line in sorted(billed["lambda"].items(), key=lambda kv: -kv[1]["gb_s"]):
        lines.append(f"cost_lambda_{fn}_gb_s_per_claim: {line['gb_s']:.4f} GB-s "
                     f"({line['invocations']:.2f} invocations x {line['mean_ms']:.0f} ms at {line['memory_mb']} MB; "
                     f"wall clock here {line['wall_mean_ms']:.0f} ms)")
    for key, value in units.items():
        lines.append(f"cost_units_{key}_per_claim: {value:.4f} {UNIT_NAMES[key]}")
    for table, (rru, wru) in sorted(billed["ddb_by_table"].items(), key=lambda kv: -sum(kv[1])):
        lines.append(f"cost_dynamodb_{table.rsplit('-', 1)[-1]}_per_claim: {rru / measured['claims']:.2f} RRU "
                     f"{wru / measured['claims']:.2f} WRU")
    total = sum(cost.values(), Decimal(0))
    wall_extra = (Decimal(str(units["lambda_gb_s_wall_clock"] - units["lambda_gb_s"])) * price("lambda_gb_s") * 1000)
    for key, value in sorted(cost.items(), key=lambda kv: -kv[1]):
        lines.append(f"cost_{key}_usd_per_1000_claims: {_usd(value)} USD")
    lines.append(f"cost_total_usd_per_1000_claims_without_sms_voice: {_usd(total)} USD")
    lines.append(f"cost_total_with_wall_clock_lambda_usd_per_1000_claims: {_usd(total + wall_extra)} USD "
                 "(upper bound: this machine's wall-clock durations)")
    lines.append(f"cost_target_usd_per_1000_claims: {_usd(TARGET_PER_1000, '0.01')} USD "
                 f"({'met' if total <= TARGET_PER_1000 else 'MISSED'})")
    lines.append(f"cost_sms_voice_measured_usd_per_1000_claims: {_usd(tel['measured'])} USD "
                 f"({tel['measured_sms_per_claim']:.2f} SMS, {tel['measured_voice_per_claim']:.2f} calls per claim)")
    lines.append(f"cost_sms_voice_worst_case_usd_per_1000_claims: {_usd(tel['worst_case'])} USD "
                 "(every approval step needs its SMS and a 1-minute call)")
    storage_7y = cost["s3_storage_first_month"] * 84  # kept seven years (the audit retention)
    lines.append(f"cost_s3_storage_7_years_usd_per_1000_claims: {_usd(storage_7y)} USD (84 GB-months, not in total)")
    for key, value in fixed_monthly().items():
        lines.append(f"cost_fixed_{key}_usd_per_month: {_usd(value, '0.01')} USD")
    ranked = sorted(cost.items(), key=lambda kv: -kv[1])
    top = [(k, v) for k, v in ranked if v > 0][:3]
    lines.append("cost_dominated_by: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in top))
    for key, _ in top:
        if key == "lambda_compute":
            lines.append(f"cost_cut_{key}: {lambda_cuts(billed['lambda'])}")
        elif key in CUTS:
            lines.append(f"cost_cut_{key}: {CUTS[key]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="also print the units and costs as one JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("werkzeug", "hk-expense", "hk-expense-approval", "chalicelib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    measured = run_claims(args.claims)
    billed = bill(measured)
    for line in report(billed, measured):
        print(line)
    if args.json:
        print(json.dumps({"units": billed["units"], "cost": {k: str(v) for k, v in billed["cost"].items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
