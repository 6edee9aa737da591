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

Tests wait on what happened, not on time: `drain()` returns when no stream batch is queued or running and no
handler is running (a condition, notified as each finishes), and `wait_for_activity()` wakes a waiting test as
soon as any handler finishes. `uninstall()` stops and joins the stream workers, so no thread outlives a test.
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

from harness import iam_recorder, moto_pin

_original = LambdaFunction._invoke_lambda
_lock = threading.Lock()
INVOCATIONS: list[dict[str, Any]] = []  # what ran, for tests and the demo's summary
STREAM_ATTEMPTS = 3
DRAIN_SECONDS = 180.0  # a bound for a hung handler, far above any normal wait (a busy machine only takes longer)
WORKER_PREFIX = "stream-"
log = logging.getLogger(__name__)


def _log_failure(function_name: str, event: dict, error: str) -> None:
    log.error("stream batch for %s failed after %d attempts: %s", function_name, STREAM_ATTEMPTS, error)


on_stream_failure: Callable[[str, dict, str], None] = _log_failure
_workers: dict[str, tuple[queue.Queue, threading.Thread]] = {}
_STOP = object()  # a worker's last item: return
# One condition for the counters below; every change notifies, so waiters re-check at once, not by polling.
_settled = threading.Condition()
_queued_batches = 0  # stream batches enqueued and not yet handled (retries included)
_running = 0  # handlers running right now, on any thread
_finished = 0  # handlers finished so far: a waiter compares it to the value it saw before checking
_accepting = False


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
    global _queued_batches
    while True:
        item = work.get()
        if item is _STOP:
            return
        fn, event = item
        try:
            error = ""
            for attempt in range(STREAM_ATTEMPTS):
                _, errored, error = _run(fn, event)
                if not errored:
                    break
                time.sleep(0.1 * 2**attempt)  # the event source mapping's retry backoff, not a test wait
            else:
                on_stream_failure(fn.function_name, event, error)
        finally:
            with _settled:
                _queued_batches -= 1
                _settled.notify_all()


def _enqueue_stream_batch(fn: LambdaFunction, event: dict) -> None:
    global _queued_batches
    with _settled:
        if not _accepting:  # a straggler write racing the stack's teardown: that stack is gone
            log.warning("stream batch for %s dropped: lambda_shim is not installed", fn.function_name)
            return
        worker = _workers.get(fn.function_name)
        if worker is None:
            work: queue.Queue = queue.Queue()
            thread = threading.Thread(target=_stream_worker, args=(work,), daemon=True,
                                      name=f"{WORKER_PREFIX}{fn.function_name}")
            worker = _workers[fn.function_name] = (work, thread)
            thread.start()
        _queued_batches += 1  # counted before the handler that wrote the record finishes: drain() cannot miss it
        worker[0].put((fn, event))


def drain(timeout: float = DRAIN_SECONDS) -> bool:
    """Wait until no stream batch is queued or running and no handler is running; True when settled.
    Returns as soon as that holds (each finishing batch or handler notifies); `timeout` only bounds a hang."""
    with _settled:
        return _settled.wait_for(lambda: _queued_batches == 0 and _running == 0, timeout)


def activity() -> int:
    """How many handlers have finished so far; pass it to `wait_for_activity` to sleep until the next one."""
    with _settled:
        return _finished


def wait_for_activity(seen: int, timeout: float) -> bool:
    """Block until a handler finishes after `activity()` returned `seen`, or `timeout` passes."""
    with _settled:
        return _settled.wait_for(lambda: _finished != seen, timeout)


def worker_threads() -> list[threading.Thread]:
    """The stream worker threads alive now (none once `uninstall()` has returned)."""
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIX) and t.is_alive()]


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    if _is_stream_batch(event):
        _enqueue_stream_batch(self, event)
        return "{}", False, ""
    return _run(self, event)


def _run(self: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    global _running, _finished
    started = time.monotonic()
    record = {"function": self.function_name, "handler": self.handler, "ok": True}
    with _settled:
        _running += 1
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
        with _settled:
            _running -= 1
            _finished += 1
            _settled.notify_all()


def install() -> None:
    global _accepting
    moto_pin.require("harness/lambda_shim.py")  # replaces LambdaFunction._invoke_lambda, a moto internal
    with _settled:
        _accepting = True
    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]


def uninstall(join_seconds: float = DRAIN_SECONDS) -> None:
    """Restore moto's method, then stop every stream worker and join it: no shim thread outlives the stack.
    Batches still queued are handled first (call `drain()` before to bound the wait)."""
    global _accepting
    LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
    with _settled:
        _accepting = False
        workers = list(_workers.values())
        _workers.clear()
    for work, _ in workers:
        work.put(_STOP)
    deadline = time.monotonic() + join_seconds
    for _, thread in workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for _, t in workers if t.is_alive()]
    if alive:
        raise RuntimeError(f"stream workers still running {join_seconds:.0f}s after uninstall: {alive}")
