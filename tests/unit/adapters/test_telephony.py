"""The SMS/voice adapter against the real AWS End User Messaging API shape (botocore Stubber, no network)."""

import logging

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.telephony import PinpointTelephony
from chalicelib.domain.masking import mask_phone


@pytest.fixture
def client():
    c = boto3.client("pinpoint-sms-voice-v2", region_name="ap-southeast-1", aws_access_key_id="x",
                     aws_secret_access_key="x")
    with Stubber(c) as stub:
        yield c, stub


def test_sms_is_transactional_and_logged_as_a_cross_border_transfer_without_the_number(client, caplog):
    c, stub = client
    stub.add_response("send_text_message", {"MessageId": "m-1"}, {
        "DestinationPhoneNumber": "+85251230200", "OriginationIdentity": "pool-hk", "MessageBody": "hi",
        "MessageType": "TRANSACTIONAL", "TimeToLive": 3600})
    with caplog.at_level(logging.WARNING):
        assert PinpointTelephony(c, "pool-hk").send_sms("+85251230200", "hi") == "m-1"
    assert "cross-border" in caplog.text and "ap-southeast-1" in caplog.text
    assert "51230200" not in caplog.text


def test_call_picks_the_voice_for_the_approver_zone(client):
    c, stub = client
    stub.add_response("send_voice_message", {"MessageId": "v-1"}, {
        "DestinationPhoneNumber": "+8613800138000", "OriginationIdentity": "pool-hk", "MessageBody": "請審批",
        "MessageBodyTextType": "TEXT", "VoiceId": "ZHIYU", "TimeToLive": 3600})
    assert PinpointTelephony(c, "pool-hk").call("+8613800138000", "請審批", "Asia/Shanghai") == "v-1"


def test_provider_errors_surface(client):
    c, stub = client
    stub.add_client_error("send_text_message", service_error_code="ThrottlingException", http_status_code=429)
    with pytest.raises(c.exceptions.ThrottlingException):
        PinpointTelephony(c, "pool-hk").send_sms("+85251230200", "hi")


def test_mask_phone():
    assert mask_phone("+852 5123 0200") == "+852****00"
    assert mask_phone("123") == "****"
