"""The event-driven handlers: typed records, one handler per record, and only the failed records reported back
(`batchItemFailures`), so SQS and the stream retry those alone. Recorded event shapes, no AWS calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

import app

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


class Context:
    function_name = "hk-expense-local-handler"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-east-1:123456789012:function:hk-expense-local-handler"
    memory_limit_in_mb = 512
    aws_request_id = "6f4e1c2a-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/hk-expense-local-handler"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_upload_batch_reports_only_the_message_that_cannot_be_read():
    batch = event("sqs_upload_events_batch.json")  # S3's test event, a deletion, and a body that is no notification
    response = app.extract_receipt(batch, Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][2]["messageId"]}]}


def test_raw_mail_batch_reports_only_the_message_that_cannot_be_read():
    batch = event("sqs_upload_events_batch.json")
    setup = json.loads(batch["Records"][1]["body"])  # SES's setup object under the prefix is not mail
    setup["Records"][0]["eventName"] = "ObjectCreated:Put"
    setup["Records"][0]["s3"]["object"]["key"] = "inbound/AMAZON_SES_SETUP_NOTIFICATION"
    batch["Records"][1]["body"] = json.dumps(setup)
    response = app.intake_email(batch, Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][2]["messageId"]}]}


def test_a_batch_where_every_message_failed_raises_so_the_whole_batch_is_retried():
    batch = event("sqs_upload_events_batch.json")
    batch["Records"] = batch["Records"][2:]
    with pytest.raises(BatchProcessingError):
        app.extract_receipt(batch, Context())


def test_stream_batch_reports_the_unreadable_claim_by_sequence_number():
    batch = event("dynamodb_claims_stream_batch.json")  # an uploaded claim, a broken body, a removal
    response = app.score_claim(batch, Context())
    failed = batch["Records"][1]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed}]}


def test_objects_created_filters_by_prefix_and_decodes_keys():
    from chalicelib.adapters.events import RAW_MAIL_PREFIX, S3EventMessage

    record = event("sqs_upload_events_batch.json")["Records"][1]
    body = json.loads(record["body"])
    body["Records"][0]["eventName"] = "ObjectCreated:Put"
    for key, expected in (("inbound/abc%2B1", ["inbound/abc+1"]), ("elsewhere/abc", []),
                          ("inbound/AMAZON_SES_SETUP_NOTIFICATION", [])):
        body["Records"][0]["s3"]["object"]["key"] = key
        message = S3EventMessage.model_validate({**record, "body": json.dumps(body)})
        assert [r.key for r in message.objects_created(RAW_MAIL_PREFIX)] == expected


_LAMBDA_CONTAINER = """
import json, logging, sys
import app
from tests.unit.test_handlers import Context, event
app.score_claim(event("dynamodb_claims_stream_batch.json"), Context())
logging.getLogger("chalicelib.services.example").info("claim routed", extra={"claim_id": "c-0123"})
logging.getLogger("chalicelib.services.example").debug("not at INFO")
"""


def test_a_service_loggers_info_record_reaches_the_handlers_output():
    """In a process of its own, as in a Lambda container (here other handler modules share the process)."""
    out = subprocess.run([sys.executable, "-c", _LAMBDA_CONTAINER], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    [record] = [r for r in records if r["message"] == "claim routed"]
    assert (record["level"], record["claim_id"], record["name"]) == ("INFO", "c-0123", "chalicelib.services.example")
    assert record["service"] == "hk-expense" and record["function_name"] == Context.function_name
    assert not [r for r in records if r["message"] == "not at INFO"]
