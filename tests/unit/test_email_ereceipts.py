"""E-receipts in mail bodies (issue #18): a mail with no attachment whose body is a receipt becomes one expense,
stored as receipt.html, and the normal extraction reads it without OCR; a newsletter or a forgotten attachment
stays "no_attachment" with its reason."""

from __future__ import annotations

import datetime
from decimal import Decimal
from email import message_from_bytes, policy

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.aws import BlobStore
from chalicelib.adapters.intake_uploads import UploadsBucketStarter
from chalicelib.domain.expense import ExpenseStatus
from chalicelib.extraction.service import extract_document, extract_document_detailed
from chalicelib.services import email_intake as ei
from chalicelib.services import extraction
from tests import ereceipt_mail as mails
from tests.fakes import bootstrap_fakes
from tests.unit.test_email_intake import EMPLOYEES, Audit, Directory, Starter

TODAY = datetime.date(2026, 12, 1)


def run(raw: bytes, key: str = "inbound/ereceipt-1", audit: Audit | None = None):
    audit, starter = audit or Audit(), Starter()
    result = ei.process_raw_email(key, raw, Directory(), starter, audit)
    return result, starter, audit


def stored_receipt(raw: bytes) -> bytes:
    """The one file the intake handed to the uploads bucket: the body as receipt.html."""
    result, starter, audit = run(raw)
    assert result.status == "accepted", result.reason
    [call] = starter.calls
    assert (call["filename"], call["content_type"]) == ("receipt.html", "text/html; charset=utf-8")
    assert call["employee_id"] == EMPLOYEES["sm.wong@example.com"].employee_id
    assert result.expense_ids == [call["expense_id"]]
    [(_, action, after)] = audit.records
    assert action == "email.accepted" and after["receipts"] == 1 and after["expense_ids"] == result.expense_ids
    assert after["body_receipt"] is True and result.receipts[0].filename == "receipt.html"
    call["data"].decode("utf-8")  # re-encoded to UTF-8 whatever the part's charset was
    return call["data"]


def extracted(raw: bytes):
    return extract_document_detailed(stored_receipt(raw), "receipt.html", today=TODAY).receipt


# kind, charset, (date, total, currency)
KINDS = [
    ("uber", "utf-8", ("2026-11-03", "186.30", "HKD")),  # trip fare, booking fee, tolls, tip: the total, not a fee
    ("foodpanda", "utf-8", ("2026-11-05", "126.00", "HKD")),  # after the voucher, with delivery and service fees
    ("deliveroo", "utf-8", ("2026-11-12", "109.00", "HKD")),  # bare $ in a Hong Kong mail
    ("hktvmall", "utf-8", ("2026-11-05", "320.90", "HKD")),  # 訂單編號, items, discount
    ("amazon_jp", "utf-8", ("2026-11-10", "3980", "JPY")),  # ￥ with kana: yen, no minor unit
    ("fps", "utf-8", ("2026-11-18", "1280.00", "HKD")),  # 轉數快: amount, payee, reference
    ("payme", "utf-8", ("2026-11-20", "88.00", "HKD")),
    ("octopus", "utf-8", ("2026-11-21", "42.50", "HKD")),  # the 餘額 (356.80) and last add value are not the total
    ("big5_fairwood", "big5", ("2026-11-24", "74.00", "HKD")),  # a Big5-encoded 繁中 mail
    ("gb2312_didi", "gb2312", ("2026-11-15", "45.00", "CNY")),  # a GB2312 简体 mail: ¥ without kana is renminbi
]


@pytest.mark.parametrize(("kind", "charset", "expected"), KINDS, ids=[k[0] for k in KINDS])
def test_a_receipt_mail_without_attachment_becomes_one_expense_read_without_ocr(kind, charset, expected):
    receipt = extracted(mails.redirected(kind, charset))
    date, total, currency = expected
    assert (receipt.date, receipt.total, receipt.currency) == (datetime.date.fromisoformat(date), Decimal(total),
                                                               currency)


VENDORS = [
    ("uber", "utf-8", "Uber", False),
    ("foodpanda", "utf-8", "foodpanda", False),
    ("deliveroo", "utf-8", "Deliveroo", False),
    ("hktvmall", "utf-8", "HKTVmall", False),
    ("big5_fairwood", "big5", "大快活 Fairwood", False),
    ("gb2312_didi", "gb2312", "滴滴出行", False),
    ("amazon_jp", "utf-8", "Amazon.co.jp", False),  # not the sentence repeating it; not the delivery date
    ("fps", "utf-8", "Tak Fung Printing Co. 德豐印刷公司", False),  # the labelled merchant row, not the bank's logo
    ("payme", "utf-8", "大家樂 Café de Coral", False),  # the labelled merchant row, as the directory names it
    ("octopus", "utf-8", "美心 Maxim's", False),  # the group's name (MX is its sub-brand)
]


@pytest.mark.parametrize(("kind", "charset", "vendor", "needs_review"), VENDORS)
def test_the_merchant_is_read_and_a_clean_e_receipt_needs_no_review(kind, charset, vendor, needs_review):
    receipt = extracted(mails.redirected(kind, charset))
    assert (receipt.vendor, receipt.needs_review, receipt.review_reasons) == (vendor, needs_review, [])


def test_octopus_balance_and_last_add_value_are_not_the_total():
    receipt = extracted(mails.redirected("octopus"))
    assert receipt.total == Decimal("42.50") and receipt.payment_method == "Octopus"
    assert receipt.needs_review is False


def test_hktvmall_order_number_and_line_items():
    receipt = extracted(mails.redirected("hktvmall"))
    assert receipt.receipt_no == "H2611059031"
    assert (receipt.subtotal, receipt.discount) == (Decimal("340.90"), Decimal("20.00"))


def test_payment_label_is_not_read_as_payme():  # '付款方式 Payment: Visa' is a Visa payment
    assert extracted(mails.redirected("hktvmall")).payment_method == "Visa"


def test_big5_body_is_stored_as_utf8_and_says_so():
    data = stored_receipt(mails.redirected("big5_fairwood", "big5"))
    text = data.decode("utf-8")
    assert "焗豬扒飯" in text and "big5" not in text.lower() and '<meta charset="utf-8">' in text


def test_forwarded_from_gmail_reads_the_forwarded_receipt_not_the_note_or_forward_header():
    result, starter, _ = run(mails.forwarded_gmail("uber"))
    assert result.status == "accepted" and result.cost_centre == "CC-2100"  # hints still come from the note
    receipt = extract_document_detailed(starter.calls[0]["data"], "receipt.html", today=TODAY).receipt
    assert (receipt.vendor, receipt.date, receipt.total) == ("Uber", datetime.date(2026, 11, 3), Decimal("186.30"))
    assert receipt.needs_review is False


def test_receipt_forwarded_as_attachment_is_read_from_the_attached_message():
    receipt = extracted(mails.forwarded_as_attachment("foodpanda"))
    assert (receipt.vendor, receipt.total) == ("foodpanda", Decimal("126.00"))


def test_plain_text_receipt_quoted_with_gt_signs():
    receipt = extracted(mails.plain_quoted_forward())
    assert (receipt.vendor_read, receipt.date, receipt.total, receipt.currency) == (
        "HKTaxi 香港的士", datetime.date(2026, 11, 26), Decimal("127.50"), "HKD")
    assert receipt.vendor == "HKTaxi 香港的士"  # the hailing app's directory entry, in its own order
    assert receipt.needs_review is False


@pytest.mark.parametrize("raw", [mails.redirected("newsletter"), mails.please_find_attached()],
                         ids=["newsletter", "please-find-attached"])
def test_a_newsletter_or_a_forgotten_attachment_stays_no_attachment(raw):
    result, starter, audit = run(raw)
    assert result.status == "no_attachment" and starter.calls == []
    assert "no receipt attachment" in result.reason and "not a receipt (no total with an amount" in result.reason
    assert [action for _, action, _ in audit.records] == ["email.no_attachment"]


def test_body_receipt_ids_are_stable_on_replay_and_distinct_from_attachment_ids():
    raw = mails.redirected("uber")
    first, second = run(raw)[0], run(raw, key="inbound/ereceipt-2")[0]  # the same Message-ID under two raw keys
    assert first.expense_ids == second.expense_ids
    [receipt] = first.receipts
    assert first.expense_ids == [ei.body_expense_id_for("E201", "uber-redirect@mail.example.com", receipt)]
    assert first.expense_ids != [ei.expense_id_for("E201", "uber-redirect@mail.example.com", receipt)]
    other_employee = ei.body_expense_id_for("E202", "uber-redirect@mail.example.com", receipt)
    assert other_employee not in first.expense_ids


def test_an_attachment_wins_over_a_receipt_like_body():
    msg = message_from_bytes(mails.redirected("uber"), policy=policy.default)
    msg.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="trip.pdf")
    result, starter, audit = run(msg.as_bytes())
    assert result.status == "accepted" and [c["filename"] for c in starter.calls] == ["trip.pdf"]
    assert audit.records[0][2]["body_receipt"] is False


def test_the_body_receipt_goes_the_normal_uploads_path_to_an_extracted_expense():
    """Through the uploads bucket (moto) and ``process_upload`` with the real extractor: no second code path."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-east-1")
        s3.create_bucket(Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": "ap-east-1"})
        blobs = BlobStore(s3, "uploads")
        result = ei.process_raw_email("inbound/uber", mails.redirected("uber"), Directory(),
                                      UploadsBucketStarter(blobs), Audit())
        [obj] = s3.list_objects_v2(Bucket="uploads")["Contents"]
        assert obj["Key"] == f"receipts/E201/{result.expense_ids[0]}/receipt.html"
        app = bootstrap_fakes()
        expense = extraction.process_upload(obj["Key"], blobs, app.expenses, app.claims, app.directory,
                                            extract_document, max_bytes=15 * 1024 * 1024)
    assert expense.status == ExpenseStatus.EXTRACTED and expense.content_type == "text/html; charset=utf-8"
    assert (expense.vendor, expense.total.amount, expense.total.currency) == ("Uber", Decimal("186.30"), "HKD")
    assert expense.category == "taxi"  # named by the mail (its subject says "trip")


def test_when_the_html_is_only_a_picture_the_plain_alternative_is_read():
    msg = message_from_bytes(mails.redirected("uber"), policy=policy.default)
    html_part = msg.get_body(preferencelist=("html",))
    html_part.set_content('<html><body><img src="https://img.example.com/receipt-7f3a.png" alt=""></body></html>',
                          subtype="html")
    receipt = extracted(msg.as_bytes())
    assert (receipt.total, receipt.date) == (Decimal("186.30"), datetime.date(2026, 11, 3))
