"""Drives claims through the running pipeline the way people do: upload a receipt (an expense), submit it alone or
build a claim of expenses and submit that, open the link, decide.

Used by the end-to-end tests (through chalice's test client), the demo and the benchmark (over HTTP), so all
three exercise the same path.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests

from harness import lambda_shim
from harness.local_stack import LocalStack

# (method, path, json body, headers) -> (status, json body)
Call = Callable[[str, str, dict | None, dict], tuple[int, dict]]


def post_form(target: dict, data: bytes, filename: str, content_type: str) -> requests.Response:
    """Send a file with a presigned POST form from `POST /uploads`, as the phone page does (the file last)."""
    assert target["method"] == "POST", target
    resp = requests.post(target["url"], data=target["fields"], files={"file": (filename, data, content_type)},
                         timeout=120)
    resp.raise_for_status()
    return resp


class Timeout(AssertionError):
    pass


# How long a wait may take before it counts as "never": far above any normal wait, because a busy machine only
# makes things slower. A wait returns as soon as its condition holds, so the bound costs nothing when all is well.
WAIT_SECONDS = float(os.environ.get("HK_EXPENSE_WAIT_SECONDS", "180"))
_MAX_PAUSE = 0.5  # the longest gap between two checks when no handler finished meanwhile


def wait_for(predicate: Callable[[], object], seconds: float = WAIT_SECONDS, every: float = 0.05) -> object:
    """`predicate()`'s first truthy value. Re-checked as soon as any Lambda handler finishes (what changes the
    stack's state), otherwise after a pause growing from `every` to half a second (Step Functions status,
    SQS visibility); `seconds` is only the deadline for a condition that never comes true."""
    deadline = time.monotonic() + seconds
    pause = every
    while True:
        seen = lambda_shim.activity()
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(f"condition not met within {seconds}s")
        lambda_shim.wait_for_activity(seen, min(pause, left))
        pause = min(pause * 2, _MAX_PAUSE)


@dataclass
class Driver:
    call: Call
    stack: LocalStack
    tokens: dict[str, str] = field(default_factory=dict)
    inbox: list[dict] = field(default_factory=list)
    employee_inbox: list[dict] = field(default_factory=list)

    def token(self, employee_id: str) -> str:
        """An ID token from the stack's user pool, signed in as the page does (the sample password)."""
        if employee_id not in self.tokens:
            self.tokens[employee_id] = self.stack.id_token(employee_id)
        return self.tokens[employee_id]

    def auth(self, employee_id: str) -> dict:
        return {"Authorization": f"Bearer {self.token(employee_id)}"}

    def upload(self, employee_id: str, data: bytes, filename: str, content_type: str,
               claim_id: str | None = None) -> str:
        """Send a receipt; returns its expense id (it arrives unattached, or in the draft claim named)."""
        request = {"filename": filename, "content_type": content_type, "size_bytes": len(data)}
        if claim_id:
            request["claim_id"] = claim_id
        status, body = self.call("POST", "/uploads", request, self.auth(employee_id))
        assert status == 201, body
        post_form(body["upload"], data, filename, content_type)
        return body["expense_id"]

    # ---- expenses ------------------------------------------------------------------------------------------

    def expense(self, employee_id: str, expense_id: str) -> dict:
        """GET /expenses/{id}: the expense wherever it is, with the `claim_id` holding it (or None)."""
        status, body = self.call("GET", f"/expenses/{expense_id}", None, self.auth(employee_id))
        assert status == 200, body
        return body

    def try_expense(self, employee_id: str, expense_id: str) -> dict | None:
        """The expense, or None while extraction has not created it yet (404)."""
        status, body = self.call("GET", f"/expenses/{expense_id}", None, self.auth(employee_id))
        if status == 404:
            return None
        assert status == 200, body
        return body

    def wait_expense(self, employee_id: str, expense_id: str, statuses: set[str] | None = None,
                     seconds: float = WAIT_SECONDS) -> dict:
        """The expense once its status is one of `statuses` (by default: read, or failed)."""
        wanted = statuses or {"extracted", "needs_review", "failed"}
        return wait_for(  # type: ignore[return-value]
            lambda: (e := self.try_expense(employee_id, expense_id)) is not None and e["status"] in wanted and e,
            seconds)

    def unattached(self, employee_id: str) -> list[dict]:
        """GET /expenses: the caller's expenses not in any claim."""
        status, body = self.call("GET", "/expenses", None, self.auth(employee_id))
        assert status == 200, body
        return body["expenses"]

    def edit_expense(self, employee_id: str, expense_id: str, edits: dict) -> tuple[int, dict]:
        return self.call("PATCH", f"/expenses/{expense_id}", edits, self.auth(employee_id))

    def submit_alone(self, employee_id: str, expense_id: str, edits: dict | None = None) -> tuple[int, dict]:
        """POST /expenses/{id}/submit: the receipt becomes a one-expense claim (201, the claim's JSON)."""
        return self.call("POST", f"/expenses/{expense_id}/submit", edits or {}, self.auth(employee_id))

    # ---- claims (reports) ----------------------------------------------------------------------------------

    def create_claim(self, employee_id: str, title: str, expense_ids: list[str] | None = None,
                     **fields: object) -> tuple[int, dict]:
        """POST /claims: a draft claim (purpose, period_start, period_end, cost_centre, advance_id in `fields`)."""
        body = {"title": title, "expense_ids": list(expense_ids or []),
                **{k: v for k, v in fields.items() if v is not None}}
        return self.call("POST", "/claims", body, self.auth(employee_id))

    def add_expenses(self, employee_id: str, claim_id: str, expense_ids: list[str]) -> tuple[int, dict]:
        return self.call("POST", f"/claims/{claim_id}/expenses", {"expense_ids": expense_ids},
                         self.auth(employee_id))

    def add_line(self, employee_id: str, claim_id: str, line: dict) -> tuple[int, dict]:
        """A line without a receipt: {"kind": "mileage" | "per_diem" | "lost_receipt", ...}."""
        return self.call("POST", f"/claims/{claim_id}/expenses", {"line": line}, self.auth(employee_id))

    def remove_expense(self, employee_id: str, claim_id: str, expense_id: str) -> tuple[int, dict]:
        return self.call("DELETE", f"/claims/{claim_id}/expenses/{expense_id}", None, self.auth(employee_id))

    def submit_claim(self, employee_id: str, claim_id: str, edits: dict | None = None) -> tuple[int, dict]:
        return self.submit(employee_id, claim_id, edits)

    def submit_receipt(self, employee_id: str, expense_id: str, edits: dict | None = None) -> str:
        """Wait for the receipt to be read, submit it alone, and return the claim id it became."""
        self.wait_expense(employee_id, expense_id)
        status, body = self.submit_alone(employee_id, expense_id, edits)
        assert status == 201, body
        return body["claim_id"]

    def claim(self, employee_id: str, claim_id: str) -> dict:
        status, body = self.call("GET", f"/claims/{claim_id}", None, self.auth(employee_id))
        assert status == 200, body
        return body

    def wait_status(self, employee_id: str, claim_id: str, statuses: set[str], seconds: float = WAIT_SECONDS) -> dict:
        return wait_for(
            lambda: (c := self.claim(employee_id, claim_id))["status"] in statuses and c, seconds  # type: ignore[arg-type]
        )

    def submit(self, employee_id: str, claim_id: str, edits: dict | None = None) -> tuple[int, dict]:
        """POST /claims/{id}/submit: a draft claim's first submission, or a returned claim's resubmission."""
        return self.call("POST", f"/claims/{claim_id}/submit", edits or {}, self.auth(employee_id))

    def approval_message(self, claim_id: str, level: int, seconds: float = WAIT_SECONDS) -> dict:
        """The next unread notification for this claim and level (from the local-only approver inbox)."""

        def find() -> dict | None:
            self.inbox.extend(self.stack.approver_messages())
            for message in self.inbox:
                if (message.get("kind") == "approval" and message["claim"]["claim_id"] == claim_id
                        and message["level"] == level):
                    self.inbox.remove(message)  # each notification is read once, like an inbox
                    return message
            return None

        return wait_for(find, seconds)  # type: ignore[return-value]

    def claimant_message(self, claim_id: str, event: str, seconds: float = WAIT_SECONDS) -> dict:
        """The claimant's notification of `event` (returned, rejected, posted, failed) for this claim."""

        def find() -> dict | None:
            self.employee_inbox.extend(self.stack.employee_messages())
            for message in self.employee_inbox:
                if message["claim_id"] == claim_id and message["event"] == event:
                    self.employee_inbox.remove(message)
                    return message
            return None

        return wait_for(find, seconds)  # type: ignore[return-value]

    def decide(self, link: str, decision: str, comment: str = "", disallow: list[dict] | None = None,
               signed_in_as: str | None = None) -> tuple[int, dict]:
        """Decide through the link, as the link alone (the default) or in `signed_in_as`'s session (step-up)."""
        path = urlparse(link).path
        body = {"decision": decision, "comment": comment, **({"disallow": disallow} if disallow else {})}
        return self.call("POST", f"{path}/decision", body, self.auth(signed_in_as) if signed_in_as else {})

    @staticmethod
    def link_holder(link: str) -> str:
        """Who a link was sent to (read from its signed payload, as the approval page does)."""
        payload = urlparse(link).path.rsplit("/", 1)[-1].split(".")[0]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["approver_id"]

    def decide_signed_in(self, link: str, decision: str, comment: str = "", disallow: list[dict] | None = None
                         ) -> tuple[int, dict]:
        """The approver opens the link in their own signed-in session: what large or high-risk claims need."""
        return self.decide(link, decision, comment, disallow, signed_in_as=self.link_holder(link))
