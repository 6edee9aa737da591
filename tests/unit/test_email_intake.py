"""E-mail intake: who the claimant is, which parts are receipts, what the employee wrote, and what is kept."""

from __future__ import annotations

import json
import logging
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.aws import BlobStore
from chalicelib.adapters.intake_uploads import UploadsBucketStarter
from chalicelib.domain.directory import Employee
from chalicelib.intake import hints, metadata, mime
from chalicelib.services import email_intake as ei
from chalicelib.services.uploads import KEY_PATTERN

EVENTS = Path(__file__).resolve().parents[1] / "events"
MAIL = EVENTS / "mail"
EMPLOYEES = {
    "sm.wong@example.com": Employee(employee_id="E201", name="黃小明 Wong Siu Ming", email="sm.wong@example.com",
                                    department_id="HK-SALES", rank=2),
    "wing.ho@example.com": Employee(employee_id="E202", name="何穎 Ho Wing", email="wing.ho@example.com",
                                    department_id="HK-SALES", rank=2),
}
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


class Directory:
    def employee_by_email(self, email: str) -> Employee | None:
        return EMPLOYEES.get(email.strip().lower())


class Audit:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict]] = []

    def append(self, entity, actor, action, before, after) -> None:
        self.records.append((entity, action, after))


class Starter:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, employee_id, filename, content_type, data, purpose, category, cost_centre, source_key, *,
                 expense_id=None, claim_hint=None):
        self.calls.append(dict(employee_id=employee_id, filename=filename, content_type=content_type, data=data,
                               purpose=purpose, category=category, cost_centre=cost_centre, source_key=source_key,
                               expense_id=expense_id, claim_hint=claim_hint))
        return expense_id


def run(raw: bytes, key: str = "inbound/msg-1", **kwargs):
    audit, starter = Audit(), Starter()
    result = ei.process_raw_email(key, raw, Directory(), starter, audit, **kwargs)
    return result, starter, audit


def eml(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def image(size: int, fill: int = 1) -> bytes:
    return PNG_HEADER + bytes([fill]) * (size - len(PNG_HEADER))


def message(sender="Wong Siu Ming <sm.wong@example.com>", subject="Taxi CC-2100", body="taxi to the airport",
            html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "receipts@expense.example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = "<built-1@mail.example.com>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


# ---- the hand-written messages -------------------------------------------------------------------------


def test_forwarded_receipt_is_claimed_by_the_employee_who_forwarded_it_not_reply_to():
    result, starter, audit = run(eml("forwarded_jpeg.eml"))
    assert result.status == "accepted"
    assert result.employee_id == "E201"  # From, not Reply-To (sales.office@example.net) nor the vendor
    assert result.purpose == "Taxi to client meeting in Kwun Tong"  # the labelled line wins over the subject
    assert (result.category, result.cost_centre) == ("taxi", "CC-2100")
    [call] = starter.calls
    assert call["filename"] == "uber_receipt.jpg" and call["content_type"] == "image/jpeg"
    assert call["data"][:3] == b"\xff\xd8\xff" and call["source_key"] == "inbound/msg-1"
    assert result.expense_ids == [call["expense_id"]] and KEY_PATTERN.match(f"receipts/E201/{call['expense_id']}/x.jpg")
    [(entity, action, after)] = audit.records
    assert (entity, action) == ("EMAIL#inbound/msg-1", "email.accepted")
    assert after["sender"] == "s***@example.com" and after["expense_ids"] == result.expense_ids
    assert "Kwun Tong" not in json.dumps(after, ensure_ascii=False)  # no purpose/subject/body in the audit


def test_html_only_message_with_an_inline_receipt_image():
    result, starter, _ = run(eml("html_inline_image.eml"))
    assert result.status == "accepted" and result.employee_id == "E202"
    assert result.purpose == "Client lunch"
    assert (result.category, result.cost_centre) == ("meals", "CC-2100")  # 成本中心：CC-2100 in the HTML body
    [call] = starter.calls
    assert call["content_type"] == "image/png" and len(call["data"]) > mime.MIN_INLINE_IMAGE_BYTES


def test_utf8_encoded_word_subject_and_rfc2231_chinese_filename():
    result, starter, _ = run(eml("chinese_subject_pdf.eml"))
    assert result.status == "accepted" and result.employee_id == "E201"
    assert result.purpose == "膳食報銷 客戶午餐"  # the cost centre is taken out of it
    assert (result.category, result.cost_centre) == ("meals", "CC-2100")
    [call] = starter.calls
    assert call["filename"].startswith("收據") and call["filename"].endswith(".pdf")
    assert call["content_type"] == "application/pdf" and call["data"].startswith(b"%PDF")


def test_big5_quoted_printable_subject_and_octet_stream_pdf():
    result, starter, _ = run(eml("big5_subject_pdf.eml"))
    assert result.status == "accepted" and result.employee_id == "E202"
    assert result.purpose == "差旅 出差深圳"
    assert (result.category, result.cost_centre) == ("travel", "CC-1200")
    [call] = starter.calls
    assert (call["filename"], call["content_type"]) == ("hotel.pdf", "application/pdf")


def test_message_without_attachment_is_recorded_with_a_reason_and_no_claim(caplog):
    caplog.set_level(logging.DEBUG)
    result, starter, audit = run(eml("no_attachment.eml"))
    assert result.status == "no_attachment" and "no receipt attachment" in result.reason
    assert starter.calls == []
    assert [a for _, a, _ in audit.records] == ["email.no_attachment"]
    assert "9123 4567" not in caplog.text and "Forgot" not in caplog.text and "sm.wong@" not in caplog.text


def test_unknown_sender_is_rejected_even_with_an_employee_in_reply_to():
    result, starter, audit = run(eml("unknown_sender.eml"))
    assert result.status == "rejected" and result.employee_id is None
    assert "not an employee" in result.reason
    assert starter.calls == []
    [(_, action, after)] = audit.records
    assert action == "email.rejected" and after["sender"] == "b***@unknown-vendor.example.org"
    assert after["reason"] == result.reason


def test_tiny_logo_is_skipped_and_the_real_receipt_taken():
    result, starter, _ = run(eml("logo_and_receipt.eml"))
    assert [c["filename"] for c in starter.calls] == ["IMG_20261124_2130.jpg"]
    assert [s.filename for s in result.skipped] == ["co-mark.png"]
    assert result.category == "entertainment" and result.purpose == "entertainment - dinner with XYZ Ltd"


# ---- parts, limits and odd shapes (messages built here) ------------------------------------------------


def test_inline_images_under_10_kb_are_signatures_but_big_ones_are_receipts():
    msg = message(html='<p>lunch</p><img src="cid:a@x"><img src="cid:b@x">')
    html = msg.get_body(("html",))
    html.add_related(image(4_000), "image", "png", cid="<a@x>", disposition="inline")
    html.add_related(image(40_000, 2), "image", "png", cid="<b@x>", disposition="inline")
    result, starter, _ = run(bytes(msg))
    assert [len(c["data"]) for c in starter.calls] == [40_000]
    assert "under 10 KB" in result.skipped[0].reason


def test_small_pdf_attachment_is_a_receipt_even_under_10_kb():
    msg = message()
    msg.add_attachment(b"%PDF-1.4 tiny", maintype="application", subtype="pdf", filename="r.pdf")
    result, starter, _ = run(bytes(msg))
    assert result.status == "accepted" and len(starter.calls) == 1


def test_at_most_ten_receipts_per_message():
    msg = message()
    for i in range(12):
        msg.add_attachment(image(200, i), maintype="image", subtype="png", filename=f"r{i}.png")
    result, starter, _ = run(bytes(msg))
    assert len(starter.calls) == mime.MAX_RECEIPTS == 10
    assert [s.reason for s in result.skipped] == ["only the first 10 receipts of a message are taken"] * 2


def test_oversize_receipt_is_skipped_with_the_limit_in_the_reason():
    assert mime.MAX_RECEIPT_BYTES == 15 * 1024 * 1024
    msg = message()
    msg.add_attachment(image(5_000), maintype="image", subtype="png", filename="big.png")
    msg.add_attachment(image(500, 3), maintype="image", subtype="png", filename="ok.png")
    result, starter, _ = run(bytes(msg), max_bytes=1_000)
    assert [c["filename"] for c in starter.calls] == ["ok.png"]
    assert "limit" in result.skipped[0].reason


def test_octet_stream_is_judged_by_its_extension_and_other_types_are_skipped():
    msg = message()
    msg.add_attachment(image(300), maintype="application", subtype="octet-stream", filename="scan.PNG")
    msg.add_attachment(b"PK\x03\x04", maintype="application", subtype="octet-stream", filename="claim.docx")
    msg.add_attachment(b"GIF89a", maintype="image", subtype="gif", filename="anim.gif")
    msg.add_attachment(b"\xff\xd8\xff\xe0jpeg", maintype="application", subtype="octet-stream")  # no name: unknown
    result, starter, _ = run(bytes(msg))
    assert [(c["filename"], c["content_type"]) for c in starter.calls] == [("scan.PNG", "image/png")]
    assert {s.filename for s in result.skipped} == {"claim.docx", "anim.gif"}


def test_receipt_inside_a_message_forwarded_as_attachment():
    inner = EmailMessage()
    inner["From"] = "Receipts <noreply@vendor.example.org>"
    inner["Subject"] = "Your receipt"
    inner.set_content("see attached")
    inner.add_attachment(b"%PDF-1.4 inner", maintype="application", subtype="pdf", filename="vendor.pdf")
    outer = message(subject="Fwd: Your receipt", body="travel - airport express")
    outer.add_attachment(inner)  # message/rfc822
    result, starter, _ = run(bytes(outer))
    assert result.employee_id == "E201" and [c["filename"] for c in starter.calls] == ["vendor.pdf"]
    assert result.category == "travel"


def test_same_file_twice_in_one_message_is_one_claim():
    msg = message()
    for name in ("a.png", "b.png"):
        msg.add_attachment(image(500), maintype="image", subtype="png", filename=name)
    result, starter, _ = run(bytes(msg))
    assert len(starter.calls) == 1 and "twice" in result.skipped[0].reason


def test_missing_or_several_senders_and_failed_ses_checks_are_rejected():
    no_from = message()
    del no_from["From"]
    assert run(bytes(no_from))[0].reason == "the message has no usable From address"
    two = message(sender="sm.wong@example.com, wing.ho@example.com")
    assert "more than one sender" in run(bytes(two))[0].reason
    for header, value, check in (("X-SES-Virus-Verdict", "FAIL", "virus"),
                                 ("Authentication-Results", "amazonses.com; spf=fail; dkim=fail; dmarc=fail "
                                                            "header.from=example.com;", "dmarc")):
        msg = message()
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="r.pdf")
        msg[header] = value
        result, starter, _ = run(bytes(msg))
        assert result.status == "rejected" and check in result.reason and starter.calls == []


@pytest.mark.parametrize("sender", [
    '"Wong, Siu Ming" <SM.Wong@Example.com>',
    "=?UTF-8?B?6buD5bCP5piO?= <sm.wong@example.com>",
    "=?big5?Q?=B6=C0=A4p=A9=FA?= <sm.wong@example.com>",
    "sm.wong@example.com (Wong Siu Ming)",
])
def test_sender_display_names_do_not_get_in_the_way(sender):
    raw = bytes(message()).replace(b"From: Wong Siu Ming <sm.wong@example.com>", f"From: {sender}".encode())
    assert f"From: {sender}".encode() in raw
    assert run(raw)[0].employee_id == "E201"


def test_garbage_bytes_are_rejected_not_raised():
    result, starter, audit = run(b"\x00\xff not an e-mail at all \r\n\r\n\x00")
    assert result.status == "rejected" and audit.records[0][1] == "email.rejected"


@pytest.mark.parametrize(("text", "category", "cost_centre"), [
    ("的士 去機場", "taxi", None),
    ("應酬客戶晚飯 成本中心：CC-1200", "entertainment", "CC-1200"),
    ("招待 ＣＣ－２１００", "entertainment", "CC-2100"),  # full-width from a Chinese IME
    ("成本中心: 2100 膳食", "meals", "CC-2100"),
    ("Cost center 1000 hotel", "travel", "CC-1000"),
    ("office supplies", None, None),
    ("a filing cabinet", None, None),  # "cab" inside a word is not a taxi
])
def test_category_and_cost_centre_keywords(text, category, cost_centre):
    assert (hints.category_of(text), hints.cost_centre_of(text)) == (category, cost_centre)


def test_mask_email():
    assert mime.mask_email("sm.wong@example.com") == "s***@example.com"
    assert mime.mask_email(None) == mime.mask_email("no-at-sign") == "***"


def test_nothing_personal_is_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for path in sorted(MAIL.glob("*.eml")):
        run(path.read_bytes(), key=f"inbound/{path.stem}")
    for secret in ("sm.wong@", "wing.ho@", "billing@", "Kwun Tong", "Client lunch", "膳食", "XYZ"):
        assert secret not in caplog.text
    assert "s***@example.com" in caplog.text


# ---- idempotency and the uploads-bucket port ---------------------------------------------------------------


def test_expense_ids_are_deterministic_per_message_part_and_employee():
    first, _, _ = run(eml("logo_and_receipt.eml"), key="inbound/a")
    again, _, _ = run(eml("logo_and_receipt.eml"), key="inbound/a")
    forwarded_twice, _, _ = run(eml("logo_and_receipt.eml"), key="inbound/b")  # same Message-ID, new raw key
    assert first.expense_ids == again.expense_ids == forwarded_twice.expense_ids
    other = eml("logo_and_receipt.eml").replace(b"From: Wong Siu Ming <sm.wong@example.com>",
                                                b"From: Ho Wing <wing.ho@example.com>")
    assert run(other)[0].expense_ids != first.expense_ids  # someone reusing a Message-ID gets other claims


class ChainedAudit(Audit):
    """Like AuditLog: `last` gives the newest record of an entity."""

    def last(self, entity):
        from types import SimpleNamespace

        mine = [SimpleNamespace(action=a, after=after) for e, a, after in self.records if e == entity]
        return mine[-1] if mine else None


def test_an_accepted_key_is_not_processed_again_but_a_rejected_one_is():
    audit, starter = ChainedAudit(), Starter()
    first = ei.process_raw_email("inbound/k", eml("forwarded_jpeg.eml"), Directory(), starter, audit)
    again = ei.process_raw_email("inbound/k", eml("forwarded_jpeg.eml"), Directory(), starter, audit)
    assert again.replayed and again.expense_ids == first.expense_ids and again.employee_id == "E201"
    assert len(starter.calls) == 1 and len(audit.records) == 1

    class NoOne:
        def employee_by_email(self, email):
            return None

    rejected = ei.process_raw_email("inbound/r", eml("no_attachment.eml"), NoOne(), starter, audit)
    fixed = ei.process_raw_email("inbound/r", eml("no_attachment.eml"), Directory(), starter, audit)
    assert (rejected.status, fixed.status, fixed.replayed) == ("rejected", "no_attachment", False)


@pytest.fixture
def uploads():
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-east-1")
        s3.create_bucket(Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": "ap-east-1"})
        yield s3, BlobStore(s3, "uploads")


def test_uploads_bucket_starter_writes_the_receipt_key_with_metadata_once(uploads):
    s3, blobs = uploads
    starter = UploadsBucketStarter(blobs)
    audit = Audit()
    writes = []
    for operation in ("PutObject", "CopyObject", "DeleteObject"):
        s3.meta.events.register(f"before-call.s3.{operation}", lambda model, **kw: writes.append(model.name))
    result = ei.process_raw_email("inbound/x", eml("chinese_subject_pdf.eml"), Directory(), starter, audit)
    assert writes == ["PutObject"]  # one write, metadata included: S3's event follows the complete object
    [expense_id] = result.expense_ids
    [obj] = s3.list_objects_v2(Bucket="uploads")["Contents"]
    assert obj["Key"].startswith(f"receipts/E201/{expense_id}/收據") and KEY_PATTERN.match(obj["Key"])
    head = s3.head_object(Bucket="uploads", Key=obj["Key"])
    assert head["ContentType"] == "application/pdf"
    assert all(v.isascii() for v in head["Metadata"].values())
    assert metadata.read_intake_metadata(head["Metadata"]) == {
        "purpose": "膳食報銷 客戶午餐", "category": "meals", "cost_centre": "CC-2100",
        "claim": "膳食報銷 客戶午餐 成本中心：CC-2100"}  # the subject may name the draft claim it joins
    assert head["Metadata"]["intake-source-key"] == "inbound/x"

    put_calls = []
    for operation in ("PutObject", "CreateMultipartUpload", "CopyObject"):
        s3.meta.events.register(f"before-call.s3.{operation}", lambda **kw: put_calls.append(kw))
    replay = ei.process_raw_email("inbound/x", eml("chinese_subject_pdf.eml"), Directory(), starter, audit)
    assert replay.expense_ids == result.expense_ids and put_calls == []  # no second object, so no second event
    assert len(s3.list_objects_v2(Bucket="uploads")["Contents"]) == 1


def test_metadata_fits_s3s_2_kb_and_web_uploads_carry_none():
    meta = metadata.encode_metadata("差" * 2000, "travel", "CC-2100", "inbound/" + "k" * 500)
    assert sum(len(k) + len(v) for k, v in meta.items()) <= 2048
    assert all(v.isascii() for v in meta.values())
    assert metadata.read_intake_metadata(meta)["purpose"].startswith("差差差")
    assert metadata.read_intake_metadata({}) == {} and metadata.read_intake_metadata(None) == {}
    assert metadata.read_intake_metadata({"intake-purpose": "x"}) == {}  # only objects the intake wrote
    web = metadata.web_upload_metadata("c-" + "0" * 32)
    assert metadata.read_intake_metadata({**web, "intake-purpose": "forged"}) == {"claim": "c-" + "0" * 32}
    assert metadata.web_upload_metadata(None) == {}
