"""Use case: an employee e-mails receipts to the expense address; each receipt becomes a claim.

The parts: MIME parsing in ``chalicelib.intake.mime``, claim hints from the subject and body in
``chalicelib.intake.hints``, the uploads-bucket adapter of the ``ClaimsStarter`` port in
``chalicelib.adapters.intake_uploads`` (its S3 metadata contract with the extraction: ``chalicelib.intake.metadata``).

Design note
===========

Why this shape
    Amazon SES (sending and receiving) is not offered in ap-east-1: botocore's endpoint data lists SES in
    ap-southeast-1 and many other regions, never in ap-east-1 (it has no separate list for receiving, which fewer
    regions offer; ap-southeast-1 has ``inbound-smtp.ap-southeast-1.amazonaws.com``). So the MX record of the intake
    domain points at SES receiving in **ap-southeast-1** (Singapore), and one receipt rule (recipient
    ``receipts@<domain>``, spam and virus scanning on, TLS required) has a single *Deliver to S3 bucket* action that
    writes the raw MIME message **straight into the Hong Kong raw-mail bucket** ``hk-expense-<stage>-raw-mail``
    under ``inbound/``. The SES developer guide ("Deliver to S3 bucket action",
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html) allows a bucket in another region, but
    one in a region where SES receiving is not available (ap-east-1) only through the action's **IAM role** option
    (``S3Action.IamRoleArn``, added to the API in August 2024; the role needs ``s3:PutObject`` on
    ``raw-mail/inbound/*`` and ``kms:GenerateDataKey`` on the bucket's SSE-KMS key, and trusts ``ses.amazonaws.com``
    with ``aws:SourceAccount``/``aws:SourceArn`` conditions; see
    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html). SES's own "encrypt message" option
    is not used: its KMS key must live in the receiving region; the HK bucket's default SSE-KMS (key in ap-east-1)
    encrypts at rest instead. Older versions of the same page said SES "does not support S3 buckets in Opt-in
    regions" (ap-east-1 is opt-in); should the role-based write ever be refused, the fallback is a staging bucket in
    ap-southeast-1 with a 1-day expiration lifecycle rule, S3 replication (or a copier Lambda) into the HK bucket,
    and deletion of the source after copy.

    In Hong Kong: raw-mail ObjectCreated (prefix ``inbound/``) -> SQS ``raw-mail-events`` (+ DLQ) ->
    ``intake_email`` Lambda -> ``process_raw_email`` (this module) -> for each receipt, the port
    ``claims_starter`` writes the file to the uploads bucket as ``receipts/<employee>/<expense_id>/<name>``, and
    the existing uploads path (S3 -> SQS ``upload-events`` -> ``extract_receipt``) creates the claim exactly as
    for a browser upload. Nothing downstream has a second code path for e-mail.

What crosses a border
    SMTP delivery terminates in Singapore: SES processes the message in memory there (spam/virus scan, rule
    evaluation) and writes it to the Hong Kong bucket over TLS. With the direct write nothing is *stored*
    outside Hong Kong; with the staging fallback a copy lives in ap-southeast-1 for at most a day. The
    verdict notification (optional SNS topic) carries headers and addresses, so no topic is configured: the
    raw message's own ``X-SES-*``/``Authentication-Results`` headers give the verdicts.
    (The mail itself has already crossed whatever borders the sender's mail system chose; that is the same
    for any mailbox.)

What is retained where
    * raw-mail bucket (ap-east-1, SSE-KMS, public access blocked): the whole message, including the body and
      every header. Lifecycle: expire ``inbound/`` after 30 days (long enough to reprocess after a fix and to
      answer "I sent it, where is my claim?"), never replicated.
    * uploads bucket (ap-east-1): only the receipt files that became claims, with the purpose, category and
      cost centre as object metadata (percent-encoded UTF-8), kept as long as claims are.
    * audit table: one record per message under ``EMAIL#<raw key>``: outcome, reason, the *masked* sender
      (``s***@example.com``), claim ids and skipped-part reasons. Never the subject, body or addresses.
    * logs: the raw key, the masked sender, counts and the outcome. Never bodies, subjects, filenames'
      contents or addresses in clear.

E-receipts in the body
    Ride-hailing, food delivery, online shops and payment apps (Uber, foodpanda, HKTVmall, FPS, PayMe, Octopus)
    send the receipt AS the HTML mail, with no attachment. When a message has no receipt attachment, its body (the
    HTML part, else the plain one; the attached message's for a "forward as attachment") is read by the same text
    reader the extraction uses (``chalicelib.extraction.text_receipt``); if it shows a total-like label with an
    amount, a date and a name, it is stored as ``receipt.html`` (re-encoded to UTF-8) through the same
    ``claims_starter``, and the extraction reads its text without OCR (forwarded mails: only the forwarded part).
    A newsletter or a "please find attached" note stays ``no_attachment`` with the reason. The stored HTML is
    evidence, never a page: its presigned links make S3 answer it as a plain-text download.

Idempotency
    A raw-mail event may arrive twice, and the same message may be sent twice (two raw keys, one Message-ID).
    Claim ids are uuid5(employee, Message-ID, part index or ``body``, file hash), so every run writes the same upload
    keys; the starter skips keys that exist (no second object, no second event) and ``process_upload``
    ignores a claim it already has. A raw key whose last audit record is ``email.accepted`` is not even
    parsed again; a rejected one is (the directory may have been fixed since).

Alternative: a mailbox poller in ap-east-1
    If the intake mailbox must be the company's existing Exchange Online / Microsoft 365 (or an IMAP server),
    an EventBridge Scheduler rule (every 2 minutes) runs a ``poll_mailbox`` Lambda in ap-east-1 that: reads
    OAuth client credentials from Secrets Manager; lists unread messages of ``receipts@`` with Microsoft Graph
    (``GET /users/{id}/mailFolders/inbox/messages?$filter=isRead eq false``, then ``/messages/{id}/$value`` for
    the MIME) or IMAP (``UID SEARCH UNSEEN`` + ``UID FETCH BODY.PEEK[]``); writes each MIME message to the same
    raw-mail bucket as ``inbound/<sha256 of Message-ID>``; and only then marks it read / moves it to a
    ``processed`` folder (a crash in between re-writes the same key, which this module treats as a replay).
    Everything after the bucket is shared. Trade-offs: no MX change and no SES at all, but polling latency,
    a credential to rotate, Graph throttling, and the mail provider's own data location (for Microsoft 365,
    the tenant's region) becomes part of the story.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from chalicelib.domain.directory import Employee
from chalicelib.domain.identity import SYSTEM, Principal
from chalicelib.extraction.models import ExtractionError
from chalicelib.extraction.text_receipt import missing_receipt_evidence, receipt_lines
from chalicelib.intake.hints import category_of, cost_centre_of, purpose_of
from chalicelib.intake.mime import (
    MAX_RECEIPT_BYTES,
    MAX_RECEIPTS,
    Receipt,
    Skipped,
    body_documents,
    body_text,
    failed_verdicts,
    find_receipts,
    header_text,
    mask_email,
    message_ref,
    sender_address,
)

log = logging.getLogger(__name__)

# uuid5 namespace for expense ids of e-mailed receipts (fixed forever: changing it breaks replay idempotency)
EXPENSE_NAMESPACE = uuid.UUID("6f1c3a52-9a0e-5b7e-8d4c-2f1e0b7a9c11")
AUDIT_ACTOR = SYSTEM


# ---- ports and results -----------------------------------------------------------------------------------


class ClaimsStarter(Protocol):
    """Starts an expense for one receipt file; returns its id (the same id again on a replay). `claim_hint` (the
    subject) may name the employee's draft claim it joins."""

    def __call__(self, employee_id: str, filename: str, content_type: str, data: bytes, purpose: str,
                 category: str | None, cost_centre: str | None, source_key: str, *,
                 expense_id: str | None = None, claim_hint: str | None = None) -> str: ...


class Directory(Protocol):
    def employee_by_email(self, email: str) -> Employee | None: ...


class Audit(Protocol):
    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None) -> None:
        ...


class IntakeResult(BaseModel):
    key: str
    status: Literal["accepted", "rejected", "no_attachment"]
    reason: str | None = None
    sender: str  # masked
    employee_id: str | None = None
    purpose: str = ""
    category: str | None = None
    cost_centre: str | None = None
    expense_ids: list[str] = Field(default_factory=list)
    receipts: list[Receipt] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    replayed: bool = False  # this raw key was accepted before: nothing was written again
    body_receipt: bool = False  # the receipt is the message body itself (an e-receipt), stored as receipt.html

    def audit_record(self) -> dict:
        """What the audit trail keeps: no subject, body, purpose text or clear address."""
        return {
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "sender": self.sender,
            "employee_id": self.employee_id,
            "expense_ids": self.expense_ids,
            "receipts": len(self.receipts),
            "body_receipt": self.body_receipt,
            "skipped": [s.reason for s in self.skipped],
            "category": self.category,
            "cost_centre": self.cost_centre,
        }


#: The e-receipt read from a message body (no attachment): stored as this file, under this part marker.
BODY_RECEIPT_NAME = "receipt.html"
BODY_RECEIPT_TYPE = "text/html; charset=utf-8"


# ---- the use case ----------------------------------------------------------------------------------------------


def expense_id_for(employee_id: str, message_ref: str, receipt: Receipt) -> str:
    """Deterministic: the same message (Message-ID) and part -> the same expense id, so a replay is a no-op.
    The employee and the file's hash are in the name too: another sender reusing a Message-ID cannot hit
    someone else's expense."""
    name = f"{employee_id}|{message_ref}|{receipt.index}|{receipt.sha256}"
    return f"e-{uuid.uuid5(EXPENSE_NAMESPACE, name).hex}"


def body_expense_id_for(employee_id: str, message_ref: str, receipt: Receipt) -> str:
    """Like ``expense_id_for``, with a fixed ``body`` marker in place of the part index: the body is no part
    among the attachments, and a later attachment-numbering change must not move its id."""
    name = f"{employee_id}|{message_ref}|body|{receipt.sha256}"
    return f"e-{uuid.uuid5(EXPENSE_NAMESPACE, name).hex}"


def body_receipt(msg: EmailMessage, max_bytes: int) -> tuple[tuple[Receipt, bytes] | None, str]:
    """The message body as an e-receipt (Uber, foodpanda, HKTVmall, FPS, Octopus... mail HTML has no attachment),
    or None and why not. The same text reader as the extraction decides, so what is accepted here is read there."""
    why = "the message body is not a receipt"
    for data in body_documents(msg):
        if len(data) > max_bytes:
            why = f"the message body is over {max_bytes / 1_048_576:.0f} MB"
            continue
        try:
            missing = missing_receipt_evidence(receipt_lines(data, BODY_RECEIPT_NAME))
        except ExtractionError as exc:
            why = exc.reason
            continue
        if not missing:
            receipt = Receipt(index=0, filename=BODY_RECEIPT_NAME, content_type=BODY_RECEIPT_TYPE, size=len(data),
                              sha256=hashlib.sha256(data).hexdigest())
            return (receipt, data), ""
        why = f"the message body is not a receipt ({', '.join(missing)})"
    return None, why


def _accepted_before(audit: Audit, entity: str, key: str) -> IntakeResult | None:
    """The earlier outcome of this raw key if it was accepted. A rejected or attachment-less message is
    processed again (the directory may have been fixed meanwhile); an accepted one is not."""
    last = getattr(audit, "last", None)  # AuditLog.last; a port without it just re-runs (still idempotent)
    record = last(entity) if callable(last) else None
    if record is None or getattr(record, "action", None) != "email.accepted" or not record.after:
        return None
    after = record.after
    return IntakeResult(key=key, status="accepted", sender=after.get("sender", "***"),
                        employee_id=after.get("employee_id"), category=after.get("category"),
                        cost_centre=after.get("cost_centre"),
                        expense_ids=list(after.get("expense_ids", after.get("claim_ids", []))),
                        replayed=True)


def process_raw_email(key: str, raw: bytes, directory: Directory, claims_starter: ClaimsStarter, audit: Audit, *,
                      max_receipts: int = MAX_RECEIPTS, max_bytes: int = MAX_RECEIPT_BYTES) -> IntakeResult:
    """One raw message from the raw-mail bucket -> an expense per receipt, or a recorded reason why not."""
    entity = f"EMAIL#{key}"
    done = _accepted_before(audit, entity, key)
    if done is not None:  # a redelivered event: the uploads exist (the audit record is written after them)
        log.info("email intake replay: key=%s sender=%s expenses=%d", key, done.sender, len(done.expense_ids))
        return done
    msg = message_from_bytes(raw, policy=policy.default)
    address, problem = sender_address(msg)
    sender = mask_email(address)

    def finish(result: IntakeResult, action: str) -> IntakeResult:
        audit.append(entity, AUDIT_ACTOR, action, None, result.audit_record())
        log.info("email intake %s: key=%s sender=%s receipts=%d skipped=%d reason=%s", result.status, key,
                 sender, len(result.receipts), len(result.skipped), result.reason)
        return result

    failed = failed_verdicts(msg)
    employee = directory.employee_by_email(address) if address and not problem else None
    if problem or failed or employee is None:
        reason = problem or (f"SES checks failed: {', '.join(failed)}" if failed else
                             "the sender is not an employee in the directory")
        return finish(IntakeResult(key=key, status="rejected", reason=reason, sender=sender), "email.rejected")

    subject = header_text(msg, "Subject")
    body, logo_cids = body_text(msg)
    purpose = purpose_of(subject, body)
    category = category_of(subject, body)
    cost_centre = cost_centre_of(subject, body)
    found, skipped = find_receipts(msg, logo_cids, max_receipts, max_bytes)
    base = {"key": key, "sender": sender, "employee_id": employee.employee_id, "purpose": purpose,
            "category": category, "cost_centre": cost_centre, "skipped": skipped}
    from_body = False
    if not found:
        in_body, why_not = body_receipt(msg, max_bytes)
        if in_body is None:
            reason = f"no receipt attachment (JPEG, PNG, HEIC or PDF) was found, and {why_not}"
            if skipped:
                reason += f"; skipped: {'; '.join(sorted({s.reason for s in skipped}))}"
            return finish(IntakeResult(status="no_attachment", reason=reason, **base), "email.no_attachment")
        found, from_body = [in_body], True

    ref = message_ref(msg, raw)
    receipts = []
    for receipt, data in found:
        wanted = (body_expense_id_for if from_body else expense_id_for)(employee.employee_id, ref, receipt)
        expense_id = claims_starter(employee.employee_id, receipt.filename, receipt.content_type, data, purpose,
                                    category, cost_centre, key, expense_id=wanted, claim_hint=subject or None)
        receipts.append(receipt.model_copy(update={"expense_id": expense_id}))
    return finish(IntakeResult(status="accepted", receipts=receipts, expense_ids=[r.expense_id for r in receipts],
                               body_receipt=from_body, **base), "email.accepted")
