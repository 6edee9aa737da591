"""The SNS adapter sends what SNS accepts: an empty attribute value would make the whole publish fail."""

import json

import boto3
from botocore.stub import Stubber

from chalicelib.adapters.aws import Notifier

TOPIC = "arn:aws:sns:ap-east-1:123456789012:hk-expense-dev-approver-notifications"


def test_empty_attributes_are_left_out_and_unicode_kept():
    sns = boto3.client("sns", region_name="ap-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    message = {"zh-Hant": "報銷申請 c-1 逾時未審批", "desk": []}
    with Stubber(sns) as stub:
        stub.add_response("publish", {"MessageId": "m-1"}, {
            "TopicArn": TOPIC, "Subject": "Escalation desk 升級處理: c-1",
            "Message": json.dumps(message, ensure_ascii=False),
            "MessageAttributes": {"audience": {"DataType": "String", "StringValue": "escalation-desk"}},
        })
        sent = Notifier(sns, TOPIC).publish("Escalation desk 升級處理: c-1", message,
                                            {"audience": "escalation-desk", "approver_id": ""})
        stub.assert_no_pending_responses()
    assert sent == "m-1"
