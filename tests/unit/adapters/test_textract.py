"""The opt-in Textract backend against the real AnalyzeExpense API shape: botocore Stubber + a real response."""

import json
import logging
from decimal import Decimal

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.textract import TextractExpense
from chalicelib.extraction.models import UnsupportedDocument
from tests.conftest import SHARED
from tests.receipts import receipt_png

RESPONSE = SHARED / "realdata" / "textract" / "trp_default_invoice_1.analyze_expense.json"


@pytest.fixture
def textract():
    client = boto3.client("textract", region_name="ap-southeast-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub


def test_recorded_response_is_parsed_like_local_ocr_and_the_transfer_is_logged(textract, caplog):
    if not RESPONSE.exists():
        pytest.skip(f"real Textract response absent at {RESPONSE} (../shared/realdata is absent)")
    client, stub = textract
    response = json.loads(RESPONSE.read_text())
    response.pop("ResponseMetadata", None)
    stub.add_response("analyze_expense", response, {"Document": {"Bytes": ANY}})
    from datetime import date

    png = receipt_png("Any Shop", date(2026, 11, 3), [("Item", "1.00")])
    with caplog.at_level(logging.WARNING):
        receipt = TextractExpense(client)(png, "invoice.png")
    assert receipt.total == Decimal("6231.09")
    assert "cross-border transfer" in caplog.text and "ap-southeast-1" in caplog.text


def test_bad_documents_never_leave_the_region(textract):
    client, stub = textract  # no response queued: any call to Textract would fail the test
    with pytest.raises(UnsupportedDocument):
        TextractExpense(client)(b"not an image", "x.png")
    stub.assert_no_pending_responses()
