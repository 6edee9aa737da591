"""E-receipt mails for tests, built the way the senders' systems build them: multipart/alternative (a text part
and the HTML of ``tests/fixtures/ereceipts/<kind>.html``), optionally in another charset, or forwarded the way
Gmail and Apple Mail forward. The HTML files are kept in UTF-8 so they read in any editor; a Big5 or GB2312 message
is encoded here (its ``<meta charset>`` is then true). All names, numbers and addresses are made up."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ereceipts"
EMPLOYEE = "Wong Siu Ming <sm.wong@example.com>"

#: The senders' own From, Subject and Date, as their systems write them.
SENDERS = {
    "uber": ("Uber Receipts <noreply@uber.example.com>", "Your Tuesday evening trip with Uber",
             "Tue, 03 Nov 2026 21:50:12 +0800"),
    "foodpanda": ("foodpanda <info@mail.foodpanda.example.hk>", "Your order has been placed",
                  "Thu, 05 Nov 2026 12:41:40 +0800"),
    "deliveroo": ("Deliveroo <noreply@t.deliveroo.example.hk>", "Your order's in the kitchen",
                  "Thu, 12 Nov 2026 12:02:00 +0800"),
    "hktvmall": ("HKTVmall <noreply@hktvmall.example.com>", "HKTVmall 訂單確認 H2611059031",
                 "Thu, 05 Nov 2026 22:15:03 +0800"),
    "amazon_jp": ("Amazon.co.jp <auto-confirm@amazon.example.jp>", "Amazon.co.jp ご注文の確認",
                  "Tue, 10 Nov 2026 19:33:10 +0900"),
    "fps": ("Example Bank <alerts@bank.example.hk>", "轉數快付款確認 FPS Payment Confirmation",
            "Wed, 18 Nov 2026 15:02:44 +0800"),
    "payme": ("PayMe <no-reply@payme.example.hk>", "Payment receipt", "Fri, 20 Nov 2026 13:05:31 +0800"),
    "octopus": ("Octopus <noreply@octopus.example.hk>", "八達通付款通知 Octopus Payment Notification",
                "Sat, 21 Nov 2026 08:12:09 +0800"),
    "big5_fairwood": ("大快活 Fairwood <order@fairwood.example.hk>", "網上訂餐收據 FW2611240193",
                      "Tue, 24 Nov 2026 12:49:00 +0800"),
    "gb2312_didi": ("滴滴出行 <noreply@didi.example.cn>", "滴滴出行行程报销单", "Sun, 15 Nov 2026 19:45:00 +0800"),
    "newsletter": ("Example Shop <news@shop.example.com>", "Weekend Flash Sale 週末快閃優惠",
                   "Fri, 27 Nov 2026 10:00:00 +0800"),
}


def fixture_html(kind: str) -> str:
    return (FIXTURES / f"{kind}.html").read_text(encoding="utf-8")


def text_version(markup: str) -> str:
    """The text/plain alternative senders generate from their HTML (crudely, as they do)."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    markup = re.sub(r"(?is)<(div|span)\b[^>]*display:\s*none[^>]*>.*?</\1>", "", markup)  # the preheader
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|h\d|li)>", "\n", markup)
    markup = re.sub(r"(?i)</t[dh]>", "  ", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip()) + "\n"


def _headers(msg: EmailMessage, sender: str, subject: str, date: str, message_id: str) -> None:
    msg["From"] = sender
    msg["To"] = "receipts@expense.example.com"
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg["X-SES-Spam-Verdict"] = "PASS"
    msg["X-SES-Virus-Verdict"] = "PASS"


def sent_to_employee(kind: str, charset: str = "utf-8") -> EmailMessage:
    """The receipt mail as the sender sent it (to the employee)."""
    sender, subject, date = SENDERS[kind]
    msg = EmailMessage()
    _headers(msg, sender, subject, date, f"<{kind}-original@mail.example.net>")
    markup = fixture_html(kind)
    msg.set_content(text_version(markup), charset=charset)
    msg.add_alternative(markup, subtype="html", charset=charset)
    return msg


def redirected(kind: str, charset: str = "utf-8") -> bytes:
    """The sender's mail reaching the intake address unchanged but From the employee (a mail rule that
    redirects receipts, or the employee having the receipt sent to the expense address)."""
    msg = sent_to_employee(kind, charset)
    del msg["From"]
    msg["From"] = EMPLOYEE
    del msg["Message-ID"]
    msg["Message-ID"] = f"<{kind}-redirect@mail.example.com>"
    return msg.as_bytes(policy=SMTP)


def _body_inner(markup: str) -> str:
    body = re.search(r"(?is)<body\b[^>]*>(.*)</body>", markup)
    return body.group(1) if body else markup


def forwarded_gmail(kind: str, note: str = "FYI 客戶會議的車費 taxi to the client meeting, CC-2100") -> bytes:
    """Forwarded inline from Gmail: the employee's note, Gmail's forward header, then the original HTML body."""
    sender, subject, date = SENDERS[kind]
    original = fixture_html(kind)
    quote = (f'<div dir="ltr">{html.escape(note)}<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
             f"---------- Forwarded message ---------<br>From: <strong>{html.escape(sender)}</strong><br>"
             f"Date: {html.escape(date)}<br>Subject: {html.escape(subject)}<br>To: &lt;sm.wong@example.com&gt;<br>"
             f"</div><br><br>{_body_inner(original)}</div></div>")
    msg = EmailMessage()
    _headers(msg, EMPLOYEE, f"Fwd: {subject}", "Mon, 30 Nov 2026 09:15:00 +0800", f"<fwd-{kind}@mail.example.com>")
    plain = f"{note}\n\n---------- Forwarded message ---------\nFrom: {sender}\nDate: {date}\n" \
            f"Subject: {subject}\n\n{text_version(original)}"
    msg.set_content(plain)
    msg.add_alternative(quote, subtype="html")
    return msg.as_bytes(policy=SMTP)


def forwarded_as_attachment(kind: str) -> bytes:
    """Outlook's "Forward as attachment": the original travels whole as message/rfc822."""
    msg = EmailMessage()
    _headers(msg, EMPLOYEE, f"FW: {SENDERS[kind][1]}", "Mon, 30 Nov 2026 09:20:00 +0800",
             f"<fwd-att-{kind}@mail.example.com>")
    msg.set_content("Please see the attached receipt.\n")
    msg.add_attachment(sent_to_employee(kind))
    return msg.as_bytes(policy=SMTP)


def plain_quoted_forward() -> bytes:
    """A plain-text receipt (a taxi app's), forwarded from a plain-text client that quotes with ``>``."""
    receipt = (
        "Begin forwarded message:\n\n"
        "From: HKTaxi <receipt@hktaxi.example.hk>\n"
        "Date: 26 November 2026 at 19:02:11 HKT\n"
        "Subject: Trip receipt 行程收據\n\n"
        "HKTaxi 香港的士\n"
        "Trip receipt 行程收據\n\n"
        "Date 日期        26/11/2026 18:41\n"
        "Taxi 車牌        AB1234\n"
        "Meter fare 咪錶車資     HK$ 96.50\n"
        "Tunnel 隧道費      HK$ 25.00\n"
        "Luggage 行李      HK$ 6.00\n"
        "Total 總額        HK$ 127.50\n"
        "Paid by 付款方式    Cash 現金\n\n"
        "Thank you for riding with HKTaxi.\n"
    )
    quoted = "".join(f"> {line}\n" if line else ">\n" for line in receipt.splitlines())
    msg = EmailMessage()
    _headers(msg, EMPLOYEE, "Fwd: Trip receipt", "Thu, 26 Nov 2026 20:00:00 +0800", "<fwd-taxi@mail.example.com>")
    msg.set_content(f"Taxi back from the Kwun Tong office.\n\n{quoted}")
    return msg.as_bytes(policy=SMTP)


def please_find_attached() -> bytes:
    """A note that meant to attach the receipt and did not."""
    msg = EmailMessage()
    _headers(msg, EMPLOYEE, "Lunch receipt", "Thu, 26 Nov 2026 14:00:00 +0800", "<no-att@mail.example.com>")
    msg.set_content("Hi, please find attached the receipt for lunch with the client today ($480).\nThanks, SM\n")
    msg.add_alternative("<p>Hi, please find attached the receipt for lunch with the client today ($480).</p>"
                        "<p>Thanks, SM</p>", subtype="html")
    return msg.as_bytes(policy=SMTP)
