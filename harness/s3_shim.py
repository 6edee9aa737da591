"""moto sends an object's S3 notification before the object is complete; S3 sends it after.

moto's PutObject (and CopyObject) handler calls `S3Backend.put_object`, which sends the ObjectCreated
notification at once, and only then attaches the request's user metadata, Content-Type, ACL and tags to the new
object. With the Lambda shim the SQS consumer runs inside that send, so it reads the object without its metadata
(an e-mailed receipt would lose its purpose and cost centre). S3 notifies once the write has completed; so while
moto handles an object request, notifications are held and sent when the handler returns. The browser's form
upload (POST to the bucket, `_bucket_response_post`) has the same order: the object first, then the form's
metadata (the draft claim a receipt was uploaded into), so it is held the same way.
moto's version is pinned because this patches internals (`moto.s3.notifications.send_event`,
`S3Response._key_response`, `S3Response._bucket_response_post`).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.s3 import notifications
from moto.s3.responses import S3Response

_send_event = notifications.send_event
_key_response = S3Response._key_response
_bucket_response_post = S3Response._bucket_response_post
_held = threading.local()  # moto's server handles requests on several threads


def _send_or_hold(*args: Any, **kwargs: Any) -> None:
    pending = getattr(_held, "events", None)
    if pending is None:
        _send_event(*args, **kwargs)
    else:
        pending.append((args, kwargs))


def _then_notify(handler: Any) -> Any:
    def handle(self: S3Response, *args: Any, **kwargs: Any) -> Any:
        if getattr(_held, "events", None) is not None:  # a nested call: the outer one sends
            return handler(self, *args, **kwargs)
        _held.events = []
        try:
            return handler(self, *args, **kwargs)
        finally:
            pending, _held.events = _held.events, None
            for args_, kwargs_ in pending:
                _send_event(*args_, **kwargs_)

    return handle


_key_response_then_notify = _then_notify(_key_response)
_bucket_post_then_notify = _then_notify(_bucket_response_post)


def install() -> None:
    notifications.send_event = _send_or_hold
    S3Response._key_response = _key_response_then_notify  # type: ignore[method-assign]
    S3Response._bucket_response_post = _bucket_post_then_notify  # type: ignore[method-assign]


def uninstall() -> None:
    notifications.send_event = _send_event
    S3Response._key_response = _key_response  # type: ignore[method-assign]
    S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]
