"""The one piece of plumbing that differs locally: how moto runs a Python Lambda without Docker.

moto routes every Lambda invocation it makes (S3/SQS notifications, DynamoDB stream and SQS event-source
mappings, SNS `lambda` subscriptions, Step Functions Task states, plain `Invoke`) through
`moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)`. We replace that
method so it imports the function's configured `Handler` (e.g. `app.extract_receipt`) from this project and
calls it in-process, exactly as the Lambda runtime would. moto's version is pinned because this is an internal.
Do not combine with moto's `lambda.use_docker: False` setting: invokes would then bypass this and echo.

One more difference is restored rather than introduced: moto calls a DynamoDB stream consumer synchronously
inside the write that produced the record, while AWS polls the stream asynchronously. Run inside the write,
the consumer's own writes interleave with the caller's transaction. So stream batches are handed to one
worker thread per function (in order, like one shard), retried with backoff, and after the last attempt given
to `on_stream_failure` (the local stack sends them to the stream's dead-letter queue, as the ESM's OnFailure
destination does in AWS).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction

from harness import iam_recorder

_original = LambdaFunction._invoke_lambda
_lock = threading.Lock()
INVOCATIONS: list[dict[str, Any]] = []  # what ran, for tests and the demo's summary
STREAM_ATTEMPTS = 3
log = logging.getLogger(__name__)


def _log_failure(function_name: str, event: dict, error: str) -> None:
    log.error("stream batch for %s failed after %d attempts: %s", function_name, STREAM_ATTEMPTS, error)


on_stream_failure: Callable[[str, dict, str], None] = _log_failure
_workers: dict[str, queue.Queue] = {}


class LambdaContext:
    """The attributes of the Lambda runtime's context object that our handlers and Powertools read."""

    def __init__(self, fn: LambdaFunction):
        self.function_name = fn.function_name
        self.function_version = fn.version
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + int(fn.timeout)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def resolve(handler: str) -> Callable[[dict, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _check_environment(fn: LambdaFunction) -> None:
    """Handlers read configuration from the process environment; it must be the function's environment."""
    drift = {k: v for k, v in (fn.environment_vars or {}).items() if os.environ.get(k) != v}
    if drift:
        raise RuntimeError(f"{fn.function_name}: process environment differs from the function's: {sorted(drift)}")


def _is_stream_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and records[0].get("eventSource") == "aws:dynamodb"


def _stream_worker(work: queue.Queue) -> None:
    while True:
        fn, event = work.get()
        try:
            error = ""
            for attempt in range(STREAM_ATTEMPTS):
                _, errored, error = _run(fn, event)
                if not errored:
                    break
                time.sleep(0.1 * 2**attempt)
            else:
                on_stream_failure(fn.function_name, event, error)
        finally:
            work.task_done()


def _enqueue_stream_batch(fn: LambdaFunction, event: dict) -> None:
    with _lock:
        work = _workers.get(fn.function_name)
        if work is None:
            work = _workers[fn.function_name] = queue.Queue()
            name = f"stream-{fn.function_name}"
            worker = threading.Thread(target=_stream_worker, args=(work,), daemon=True, name=name)
            worker.start()
    work.put((fn, event))


def drain(timeout: float = 60.0) -> bool:
    """Wait until every queued stream batch has been handled; True when all are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(w.unfinished_tasks == 0 for w in list(_workers.values())):
            return True
        time.sleep(0.02)
    return False


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    if _is_stream_batch(event):
        _enqueue_stream_batch(self, event)
        return "{}", False, ""
    return _run(self, event)


def _run(self: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    started = time.monotonic()
    record = {"function": self.function_name, "handler": self.handler, "ok": True}
    try:
        _check_environment(self)
        with iam_recorder.running(self.function_name):  # which role's permissions these calls need
            result = resolve(self.handler)(event if event is not None else {}, LambdaContext(self))
        return json.dumps(result, default=str), False, ""
    except Exception as exc:  # the Lambda runtime's error shape, so Retry/Catch see the error name
        record["ok"] = False
        record["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)[:4000],
                   "stackTrace": traceback.format_exception(exc)[-5:]}
        return json.dumps(payload), True, traceback.format_exc()
    finally:
        record["seconds"] = round(time.monotonic() - started, 4)
        with _lock:
            INVOCATIONS.append(record)


def install() -> None:
    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]


def uninstall() -> None:
    LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
