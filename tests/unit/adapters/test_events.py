from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.adapters.events import S3Notification

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_real_shaped_s3_notification_gives_the_decoded_key():
    body = (EVENTS / "s3_object_created_via_sqs.json").read_text().replace(
        '"KEY"', '"receipts/E201/c-0123/%E6%94%B6%E6%93%9A+1.jpg"')
    record = S3Notification.model_validate_json(body).Records[0]
    assert record.key == "receipts/E201/c-0123/收據 1.jpg"
    assert record.s3.bucket.name == "BUCKET"


def test_a_message_that_is_not_an_s3_notification_is_refused():
    with pytest.raises(ValidationError):
        S3Notification.model_validate_json('{"Records": [{"eventSource": "aws:sqs", "eventName": "x", "s3": {}}]}')
