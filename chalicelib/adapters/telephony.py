"""SMS and voice reminders.

AWS End User Messaging SMS and Voice (`pinpoint-sms-voice-v2`) is not offered in ap-east-1 (botocore's
endpoint data lists ap-southeast-1, ap-northeast-1... but not Hong Kong). Using it is a cross-border transfer
of the approver's phone number and a claim summary: it happens only when the stage is configured for it,
the region is explicit, and every call logs the transfer (without the number). The local stack uses the
outbox adapter, the shape of a local telephony provider: one JSON message per SMS or call on a queue.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain import transfers

VOICES = {"Asia/Shanghai": "ZHIYU", "Asia/Hong_Kong": "AMY"}


class PinpointTelephony:
    def __init__(self, client: Any, origination_identity: str):
        self._client = client
        self._origin = origination_identity

    def _transfer(self, kind: str, phone: str) -> None:
        """Logged as the register says (chalicelib/domain/transfers.py): the kind and regions, never the number."""
        transfers.log_transfer(kind, self._client.meta.region_name)

    def send_sms(self, phone: str, text: str) -> str:
        self._transfer("sms", phone)
        resp = self._client.send_text_message(
            DestinationPhoneNumber=phone, OriginationIdentity=self._origin, MessageBody=text,
            MessageType="TRANSACTIONAL", TimeToLive=3600,
        )
        return resp["MessageId"]

    def call(self, phone: str, text: str, timezone: str) -> str:
        self._transfer("voice", phone)
        resp = self._client.send_voice_message(
            DestinationPhoneNumber=phone, OriginationIdentity=self._origin, MessageBody=text,
            MessageBodyTextType="TEXT", VoiceId=VOICES.get(timezone, "AMY"), TimeToLive=3600,
        )
        return resp["MessageId"]


class OutboxTelephony:
    """A queue standing in for a telephony provider: what would be sent, as the provider would get it."""

    def __init__(self, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def _put(self, body: dict) -> str:
        return self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body, ensure_ascii=False))[
            "MessageId"]

    def send_sms(self, phone: str, text: str) -> str:
        return self._put({"channel": "sms", "to": phone, "text": text})

    def call(self, phone: str, text: str, timezone: str) -> str:
        return self._put({"channel": "voice", "to": phone, "text": text, "voice": VOICES.get(timezone, "AMY")})
