"""Use case: an employee e-mails receipts to the expense address; each receipt becomes a claim.

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
    ``claims_starter`` writes the file to the uploads bucket as ``receipts/<employee>/<claim_id>/<name>``, and
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

Idempotency
    A raw-mail event may arrive twice, and the same message may be sent twice (two raw keys, one Message-ID).
    Claim ids are uuid5(employee, Message-ID, part index, file hash), so every run writes the same upload
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

import contextlib
import hashlib
import logging
import re
import unicodedata
import uuid
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Literal, Protocol
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from chalicelib.adapters.aws import BlobStore
from chalicelib.domain.directory import Employee
from chalicelib.domain.identity import SYSTEM, Principal
from chalicelib.services.uploads import ACCEPTED_TYPES, safe_filename

log = logging.getLogger(__name__)

MAX_RECEIPTS = 10
MAX_RECEIPT_BYTES = 15 * 1024 * 1024
MIN_INLINE_IMAGE_BYTES = 10 * 1024
PURPOSE_MAX_CHARS = 200
# uuid5 namespace for claim ids of e-mailed receipts (fixed forever: changing it breaks replay idempotency)
CLAIM_NAMESPACE = uuid.UUID("6f1c3a52-9a0e-5b7e-8d4c-2f1e0b7a9c11")
AUDIT_ACTOR = SYSTEM

_EXTENSIONS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".heic": "image/heic",
               ".heif": "image/heic", ".pdf": "application/pdf"}
_GENERIC_TYPES = {"application/octet-stream", "application/x-download", "application/force-download",
                  "binary/octet-stream", "application/unknown"}
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
                 "image/heif": "image/heic", "application/x-pdf": "application/pdf"}
_LOGO_WORDS = re.compile(r"logo|signature|(?<![a-z])sig[_\-.\d]|banner|(?<![a-z])icon|spacer|facebook|linkedin|"
                         r"twitter|instagram|wechat|whatsapp|簽名|签名|标志|標誌", re.IGNORECASE)

CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entertainment", ("entertainment", "entertain", "client dinner", "應酬", "应酬", "招待", "款待")),
    ("taxi", ("taxi", "cab", "uber", "的士", "計程車", "计程车", "出租車", "出租车")),
    ("travel", ("travel", "trip", "flight", "hotel", "差旅", "出差", "機票", "机票", "酒店")),
    ("meals", ("meal", "meals", "lunch", "dinner", "breakfast", "膳食", "午餐", "晚餐", "早餐", "餐")),
)
_CC_LABELLED = re.compile(r"(?:成本中心|cost\s*cent(?:re|er)|\bCC\b)\s*[:：#]?\s*(?:CC-?)?(\d{3,6})\b", re.IGNORECASE)
_CC_CODE = re.compile(r"\bCC-?(\d{3,6})\b", re.IGNORECASE)
_PURPOSE_LABEL = re.compile(r"^\s*(?:purpose|用途|事由|目的)\s*[:：]\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|回覆|回复|答复|轉寄|转发|轉發)\s*[:：]\s*)+", re.IGNORECASE)


# ---- ports and results -----------------------------------------------------------------------------------


class ClaimsStarter(Protocol):
    """Starts a claim for one receipt file; returns the claim id (the same id again on a replay)."""

    def __call__(self, employee_id: str, filename: str, content_type: str, data: bytes, purpose: str,
                 category: str | None, cost_centre: str | None, source_key: str, *,
                 claim_id: str | None = None) -> str: ...


class Directory(Protocol):
    def employee_by_email(self, email: str) -> Employee | None: ...


class Audit(Protocol):
    def append(self, entity: str, actor: Principal, action: str, before: dict | None, after: dict | None) -> None:
        ...


class Receipt(BaseModel):
    index: int  # position among the message's receipt parts (0-based), part of the claim id
    filename: str
    content_type: str
    size: int
    sha256: str
    claim_id: str | None = None


class Skipped(BaseModel):
    filename: str
    content_type: str
    size: int
    reason: str


class IntakeResult(BaseModel):
    key: str
    status: Literal["accepted", "rejected", "no_attachment"]
    reason: str | None = None
    sender: str  # masked
    employee_id: str | None = None
    purpose: str = ""
    category: str | None = None
    cost_centre: str | None = None
    claim_ids: list[str] = Field(default_factory=list)
    receipts: list[Receipt] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    replayed: bool = False  # this raw key was accepted before: nothing was written again

    def audit_record(self) -> dict:
        """What the audit trail keeps: no subject, body, purpose text or clear address."""
        return {
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "sender": self.sender,
            "employee_id": self.employee_id,
            "claim_ids": self.claim_ids,
            "receipts": len(self.receipts),
            "skipped": [s.reason for s in self.skipped],
            "category": self.category,
            "cost_centre": self.cost_centre,
        }


# ---- personal data -----------------------------------------------------------------------------------------


def mask_email(address: str | None) -> str:
    """``sm.wong@example.com`` -> ``s***@example.com``; anything unparseable -> ``***``."""
    if not address or "@" not in address:
        return "***"
    local, _, domain = address.strip().rpartition("@")
    domain = re.sub(r"[^\w.\-]", "", domain)[:100]
    return f"{local[:1]}***@{domain}" if local and domain else "***"


# ---- parsing -------------------------------------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML body (scripts/styles dropped) and the cids its <img> tags call logos."""

    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "section", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.logo_cids: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "img":
            values = dict(attrs)
            src = (values.get("src") or "").strip()
            hint = " ".join(v or "" for k, v in attrs if k in ("alt", "class", "id", "title", "name", "src"))
            if src.lower().startswith("cid:") and _LOGO_WORDS.search(hint):
                self.logo_cids.add(_cid(src[4:]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def _cid(value: str) -> str:
    return unquote(value).strip().strip("<>").lower()


def html_to_text(markup: str) -> tuple[str, set[str]]:
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed HTML: keep what was read
        log.debug("html body could not be fully parsed")
    return parser.text(), parser.logo_cids


def decode_words(value: str | None) -> str:
    """RFC 2047 encoded words (``=?UTF-8?B?...?=``, ``=?big5?Q?...?=``) -> text, tolerant of bad input."""
    if not value:
        return ""
    value = str(value)
    if "=?" in value:
        with contextlib.suppress(LookupError, UnicodeDecodeError, ValueError):
            value = str(make_header(decode_header(value)))
    return " ".join(value.split())


def _header(msg: Message, name: str) -> str:
    """A header's decoded text; the raw value when the policy's parser gave up on it."""
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot even represent
        value = None
    return decode_words(value) if value is not None else ""


def sender_address(msg: Message) -> tuple[str | None, str | None]:
    """(address, problem). The claimant is the From address: Reply-To and forwarded senders are ignored."""
    try:
        header = msg.get("From")
        addresses = [a.addr_spec for a in getattr(header, "addresses", ())]  # policy.default's parsed header
    except Exception:  # a From the parser could not represent: fall back to the plain text
        addresses = []
    if not addresses:
        addresses = [addr for _, addr in getaddresses([_header(msg, "From")])]
    addresses = [a for a in addresses if a and "@" in a and not a.startswith("@")]
    if not addresses:
        return None, "the message has no usable From address"
    if len({a.lower() for a in addresses}) > 1:
        return addresses[0], "the message names more than one sender"
    return addresses[0].strip().lower(), None


def _failed_verdicts(msg: Message) -> list[str]:
    """SES's verdict headers on the stored message that say FAIL (virus, spam, DMARC of the From domain)."""
    failed = []
    for header, name in (("X-SES-Virus-Verdict", "virus"), ("X-SES-Spam-Verdict", "spam")):
        if _header(msg, header).upper().startswith("FAIL"):
            failed.append(name)
    results = [decode_words(v) for v in (msg.get_all("Authentication-Results") or [])]
    ses_results = [r for r in results if r.lower().startswith("amazonses.com")]
    if ses_results and re.search(r"\bdmarc=fail\b", ses_results[0], re.IGNORECASE):  # SES prepends its own
        failed.append("dmarc")
    return failed


def _body_text(msg: EmailMessage) -> tuple[str, set[str]]:
    """The top-level message's text (plain preferred, HTML stripped) and the cids its HTML marks as logos."""
    logo_cids: set[str] = set()
    html_part = msg.get_body(preferencelist=("html",))
    if html_part is not None:
        _, logo_cids = html_to_text(_part_text(html_part))
    plain = msg.get_body(preferencelist=("plain",))
    if plain is not None and plain.get_content_disposition() != "attachment":
        return _part_text(plain), logo_cids
    if html_part is not None:
        return html_to_text(_part_text(html_part))[0], logo_cids
    return "", logo_cids


def _part_text(part: Message) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError, AttributeError, KeyError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def _receipt_type(part: Message, filename: str) -> str | None:
    content_type = _TYPE_ALIASES.get(part.get_content_type(), part.get_content_type())
    if content_type in ACCEPTED_TYPES:
        return content_type
    ext = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if content_type in _GENERIC_TYPES and ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    return None


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter
        name = None
    if not name:
        name = part.get_param("name") if hasattr(part, "get_param") else None
        name = name if isinstance(name, str) else None
    return decode_words(name) if name else ""


def _with_extension(name: str, content_type: str, index: int) -> str:
    ext = ACCEPTED_TYPES[content_type]
    name = safe_filename(name) if name else f"receipt-{index + 1}{ext}"
    current = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if _EXTENSIONS.get(current) != content_type:
        name = f"{name}{ext}"
    return name[:100] if len(name) <= 100 else name[: 100 - len(ext)] + ext


def find_receipts(msg: EmailMessage, logo_cids: set[str], max_receipts: int = MAX_RECEIPTS,
                  max_bytes: int = MAX_RECEIPT_BYTES) -> tuple[list[tuple[Receipt, bytes]], list[Skipped]]:
    """Every image/PDF part (attachments, inline images, parts of forwarded messages), minus logos,
    duplicates, oversize files and anything past the per-message limit."""
    found: list[tuple[Receipt, bytes]] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        raw_name = _filename(part)
        content_type = _receipt_type(part, raw_name)
        if content_type is None:  # body text, calendar invites, Office files...: noted when it was a file
            if raw_name or part.get_content_maintype() == "image":
                skipped.append(Skipped(filename=safe_filename(raw_name or "unnamed"),
                                       content_type=part.get_content_type(), size=0,
                                       reason=f"{part.get_content_type()} is not a receipt type"))
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        name = _with_extension(raw_name, content_type, len(found))
        disposition = part.get_content_disposition()
        content_id = _cid(str(part.get("Content-ID") or ""))
        inline = disposition == "inline" or (disposition is None and bool(content_id))

        def skip(reason: str, name: str = name, content_type: str = content_type, data: bytes = data) -> None:
            skipped.append(Skipped(filename=name, content_type=content_type, size=len(data), reason=reason))

        if not data:
            skip("the attachment is empty")
            continue
        if content_type.startswith("image/") and (
            (content_id and content_id in logo_cids) or _LOGO_WORDS.search(f"{raw_name} {content_id}")
        ):
            skip("a logo or signature image, not a receipt")
            continue
        if inline and content_type.startswith("image/") and len(data) < MIN_INLINE_IMAGE_BYTES:
            skip(f"an inline image under {MIN_INLINE_IMAGE_BYTES // 1024} KB (signature or logo)")
            continue
        if len(data) > max_bytes:
            skip(f"the file is {len(data) / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            skip("the same file appears twice in the message")
            continue
        if len(found) >= max_receipts:
            skip(f"only the first {max_receipts} receipts of a message are taken")
            continue
        seen.add(digest)
        found.append((Receipt(index=len(found), filename=name, content_type=content_type, size=len(data),
                              sha256=digest), data))
    return found, skipped


# ---- what the employee wrote -----------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")  # full-width ＣＣ－２１００ and colons from Chinese IMEs


def cost_centre_of(*texts: str) -> str | None:
    for text in texts:
        text = _normalise(text)
        match = _CC_LABELLED.search(text) or _CC_CODE.search(text)
        if match:
            return f"CC-{match.group(1)}"
    return None


def category_of(*texts: str) -> str | None:
    for text in texts:
        lowered = _normalise(text).casefold()
        for category, words in CATEGORY_KEYWORDS:
            for word in words:
                if word.isascii():
                    if re.search(rf"\b{re.escape(word)}\b", lowered):
                        return category
                elif word in lowered:
                    return category
    return None


def purpose_of(subject: str, body: str) -> str:
    """An explicit ``Purpose:``/``用途：`` line wins; else the subject without Re:/Fwd: prefixes."""
    labelled = _PURPOSE_LABEL.search(_normalise(body))
    text = labelled.group(1) if labelled else _REPLY_PREFIX.sub("", _normalise(subject))
    text = _CC_CODE.sub(" ", _CC_LABELLED.sub(" ", text))  # the cost centre is its own field
    text = " ".join(text.split()).strip(" -,;:|/")
    return text[:PURPOSE_MAX_CHARS]


# ---- the use case ----------------------------------------------------------------------------------------------


def claim_id_for(employee_id: str, message_ref: str, receipt: Receipt) -> str:
    """Deterministic: the same message (Message-ID) and part -> the same claim id, so a replay is a no-op.
    The employee and the file's hash are in the name too: another sender reusing a Message-ID cannot hit
    someone else's claim."""
    name = f"{employee_id}|{message_ref}|{receipt.index}|{receipt.sha256}"
    return f"c-{uuid.uuid5(CLAIM_NAMESPACE, name).hex}"


def message_ref(msg: Message, raw: bytes) -> str:
    message_id = _cid(_header(msg, "Message-ID"))
    return message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"


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
                        cost_centre=after.get("cost_centre"), claim_ids=list(after.get("claim_ids", [])),
                        replayed=True)


def process_raw_email(key: str, raw: bytes, directory: Directory, claims_starter: ClaimsStarter, audit: Audit, *,
                      max_receipts: int = MAX_RECEIPTS, max_bytes: int = MAX_RECEIPT_BYTES) -> IntakeResult:
    """One raw message from the raw-mail bucket -> a claim per receipt, or a recorded reason why not."""
    entity = f"EMAIL#{key}"
    done = _accepted_before(audit, entity, key)
    if done is not None:  # a redelivered event: the uploads exist (the audit record is written after them)
        log.info("email intake replay: key=%s sender=%s claims=%d", key, done.sender, len(done.claim_ids))
        return done
    msg = message_from_bytes(raw, policy=policy.default)
    address, problem = sender_address(msg)
    sender = mask_email(address)

    def finish(result: IntakeResult, action: str) -> IntakeResult:
        audit.append(entity, AUDIT_ACTOR, action, None, result.audit_record())
        log.info("email intake %s: key=%s sender=%s receipts=%d skipped=%d reason=%s", result.status, key,
                 sender, len(result.receipts), len(result.skipped), result.reason)
        return result

    failed = _failed_verdicts(msg)
    employee = directory.employee_by_email(address) if address and not problem else None
    if problem or failed or employee is None:
        reason = problem or (f"SES checks failed: {', '.join(failed)}" if failed else
                             "the sender is not an employee in the directory")
        return finish(IntakeResult(key=key, status="rejected", reason=reason, sender=sender), "email.rejected")

    subject = _header(msg, "Subject")
    body, logo_cids = _body_text(msg)
    purpose = purpose_of(subject, body)
    category = category_of(subject, body)
    cost_centre = cost_centre_of(subject, body)
    found, skipped = find_receipts(msg, logo_cids, max_receipts, max_bytes)
    base = {"key": key, "sender": sender, "employee_id": employee.employee_id, "purpose": purpose,
            "category": category, "cost_centre": cost_centre, "skipped": skipped}
    if not found:
        reason = "no receipt attachment (JPEG, PNG, HEIC or PDF) was found"
        if skipped:
            reason += f"; skipped: {'; '.join(sorted({s.reason for s in skipped}))}"
        return finish(IntakeResult(status="no_attachment", reason=reason, **base), "email.no_attachment")

    ref = message_ref(msg, raw)
    receipts = []
    for receipt, data in found:
        wanted = claim_id_for(employee.employee_id, ref, receipt)
        claim_id = claims_starter(employee.employee_id, receipt.filename, receipt.content_type, data, purpose,
                                  category, cost_centre, key, claim_id=wanted)
        receipts.append(receipt.model_copy(update={"claim_id": claim_id}))
    return finish(IntakeResult(status="accepted", receipts=receipts, claim_ids=[r.claim_id for r in receipts],
                               **base), "email.accepted")


# ---- the uploads-bucket implementation of the port -------------------------------------------------------------

META_PREFIX = "intake-"
_META_FIELDS = ("source", "purpose", "category", "cost-centre", "source-key")
_META_MAX_BYTES = 1800  # S3 allows 2 KB of user metadata in total


def _meta_encode(value: str) -> str:
    return quote(value, safe=" -_.,:;/()#&+=@'!?")


def encode_metadata(purpose: str, category: str | None, cost_centre: str | None, source_key: str) -> dict[str, str]:
    """S3 user metadata (ASCII only): UTF-8 percent-encoded values, the purpose cut to fit 2 KB."""
    meta = {f"{META_PREFIX}source": "email", f"{META_PREFIX}source-key": _meta_encode(source_key[:300])}
    if category:
        meta[f"{META_PREFIX}category"] = _meta_encode(category)
    if cost_centre:
        meta[f"{META_PREFIX}cost-centre"] = _meta_encode(cost_centre)
    budget = _META_MAX_BYTES - sum(len(k) + len(v) for k, v in meta.items()) - len(f"{META_PREFIX}purpose")
    encoded = _meta_encode(purpose)
    while len(encoded) > budget and purpose:
        purpose = purpose[: max(0, len(purpose) - max(1, (len(encoded) - budget) // 9))]
        encoded = _meta_encode(purpose)
    if encoded:
        meta[f"{META_PREFIX}purpose"] = encoded
    return meta


def read_intake_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """The claim fields an e-mailed receipt carries, from ``head_object(...)["Metadata"]`` (keys lower-case):
    ``{"purpose": ..., "category": ..., "cost_centre": ...}`` with only the keys present; {} for a web upload."""
    metadata = {k.lower(): v for k, v in (metadata or {}).items()}
    if metadata.get(f"{META_PREFIX}source") != "email":
        return {}
    out = {}
    for field in ("purpose", "category", "cost-centre"):
        value = metadata.get(f"{META_PREFIX}{field}")
        if value:
            out[field.replace("-", "_")] = unquote(value)
    return out


class UploadsBucketStarter:
    """The ``ClaimsStarter`` port over the uploads bucket: the normal S3 -> extraction path makes the claim."""

    def __init__(self, blobs: BlobStore):
        self._blobs = blobs

    def __call__(self, employee_id: str, filename: str, content_type: str, data: bytes, purpose: str,
                 category: str | None, cost_centre: str | None, source_key: str, *,
                 claim_id: str | None = None) -> str:
        claim_id = claim_id or f"c-{uuid.uuid4().hex}"
        key = f"receipts/{employee_id}/{claim_id}/{safe_filename(filename)}"
        if self._exists(key):  # a replay: the object (and its event) already exist; no second event
            return claim_id
        self._put(key, data, content_type, encode_metadata(purpose, category, cost_centre, source_key))
        return claim_id

    def _exists(self, key: str) -> bool:
        try:
            self._blobs.head(key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        """Written under a staging key (outside the notification prefix), then copied into place: the
        receipt's ObjectCreated event is sent only once its metadata exists, on S3 and on moto alike (moto
        attaches PutObject metadata after notifying, which would otherwise lose purpose and cost centre)."""
        staging = f"intake-staging/{key.removeprefix('receipts/')}"
        self._blobs.put(staging, data, content_type, metadata=metadata)
        self._blobs.publish_copy(staging, key)
