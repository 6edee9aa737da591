"""MIME parsing of an e-mailed receipt message: the sender, SES's verdicts, the body text, the receipt parts.

Pure Python (the standard library's ``email`` package with ``policy.default``), tolerant of the broken headers,
charsets and filenames that real mail carries: a part that cannot be read is skipped with a reason, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import logging
import re
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser
from urllib.parse import unquote

from pydantic import BaseModel

from chalicelib.services.uploads import ACCEPTED_TYPES, safe_filename

log = logging.getLogger(__name__)

MAX_RECEIPTS = 10
MAX_RECEIPT_BYTES = 15 * 1024 * 1024
MIN_INLINE_IMAGE_BYTES = 10 * 1024

_EXTENSIONS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".heic": "image/heic",
               ".heif": "image/heic", ".pdf": "application/pdf"}
_GENERIC_TYPES = {"application/octet-stream", "application/x-download", "application/force-download",
                  "binary/octet-stream", "application/unknown"}
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
                 "image/heif": "image/heic", "application/x-pdf": "application/pdf"}
_LOGO_WORDS = re.compile(r"logo|signature|(?<![a-z])sig[_\-.\d]|banner|(?<![a-z])icon|spacer|facebook|linkedin|"
                         r"twitter|instagram|wechat|whatsapp|簽名|签名|标志|標誌", re.IGNORECASE)


class Receipt(BaseModel):
    index: int  # position among the message's receipt parts (0-based), part of the claim id
    filename: str
    content_type: str
    size: int
    sha256: str
    expense_id: str | None = None


class Skipped(BaseModel):
    filename: str
    content_type: str
    size: int
    reason: str


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


def header_text(msg: Message, name: str) -> str:
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
        addresses = [addr for _, addr in getaddresses([header_text(msg, "From")])]
    addresses = [a for a in addresses if a and "@" in a and not a.startswith("@")]
    if not addresses:
        return None, "the message has no usable From address"
    if len({a.lower() for a in addresses}) > 1:
        return addresses[0], "the message names more than one sender"
    return addresses[0].strip().lower(), None


def failed_verdicts(msg: Message) -> list[str]:
    """SES's verdict headers on the stored message that say FAIL (virus, spam, DMARC of the From domain)."""
    failed = []
    for header, name in (("X-SES-Virus-Verdict", "virus"), ("X-SES-Spam-Verdict", "spam")):
        if header_text(msg, header).upper().startswith("FAIL"):
            failed.append(name)
    results = [decode_words(v) for v in (msg.get_all("Authentication-Results") or [])]
    ses_results = [r for r in results if r.lower().startswith("amazonses.com")]
    if ses_results and re.search(r"\bdmarc=fail\b", ses_results[0], re.IGNORECASE):  # SES prepends its own
        failed.append("dmarc")
    return failed


def body_text(msg: EmailMessage) -> tuple[str, set[str]]:
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


_META_CHARSET_TAG = re.compile(r"<meta\b[^>]*\bcharset\s*=[^>]*>", re.IGNORECASE)
_HEAD_TAG = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def as_utf8_html(markup: str) -> bytes:
    """An HTML body as a UTF-8 file that says so: the part's own ``<meta charset>`` (Big5, GB2312...) would lie
    once the text is re-encoded, so it is replaced."""
    markup = _META_CHARSET_TAG.sub("", markup)
    meta = '<meta charset="utf-8">'
    head = _HEAD_TAG.search(markup)
    if head:
        markup = markup[: head.end()] + meta + markup[head.end():]
    else:
        markup = f"<!DOCTYPE html><html><head>{meta}</head><body>{markup}</body></html>"
    return markup.encode("utf-8")


def plain_as_html(text: str) -> bytes:
    """A plain-text body as an HTML file: escaped inside ``<pre>``, so its columns survive as they were typed."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre>{html.escape(text)}</pre>'
            "</body></html>").encode()


def body_documents(msg: EmailMessage) -> list[bytes]:
    """The bodies that may be an e-receipt, as UTF-8 HTML files, best first: the message's own (HTML before plain
    text: its tables keep labels beside amounts), then each attached message's (a receipt forwarded as attachment)."""
    out: list[bytes] = []
    messages: list[EmailMessage] = [msg]
    for part in msg.walk():
        if part is not msg and part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, EmailMessage):
                messages.append(inner)
    for message in messages:
        for subtype in ("html", "plain"):  # the plain alternative too: some senders' HTML is only a picture
            try:
                part = message.get_body(preferencelist=(subtype,))
            except Exception:  # a broken structure: no body to read
                part = None
            if part is None or part.get_content_disposition() == "attachment":
                continue
            text = _part_text(part)
            if text.strip():
                out.append(as_utf8_html(text) if subtype == "html" else plain_as_html(text))
    return out


def message_ref(msg: Message, raw: bytes) -> str:
    message_id = _cid(header_text(msg, "Message-ID"))
    return message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"
