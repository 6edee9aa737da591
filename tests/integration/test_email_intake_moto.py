"""E-mail intake on the local stack: raw-mail bucket -> uploads bucket -> the normal extraction path -> expenses."""

from __future__ import annotations

from email.message import EmailMessage

import boto3

from chalicelib import bootstrap
from chalicelib.adapters.intake_uploads import UploadsBucketStarter
from chalicelib.domain.expense import ExpenseStatus
from chalicelib.intake.metadata import read_intake_metadata
from chalicelib.services.email_intake import process_raw_email
from harness import lambda_shim
from harness.driver import wait_for
from tests.receipts import LUNCH, receipt_png

DONE = {ExpenseStatus.EXTRACTED, ExpenseStatus.NEEDS_REVIEW, ExpenseStatus.FAILED}


def _raw_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "黃小明 Wong Siu Ming <SM.Wong@example.com>"
    msg["Reply-To"] = "someone.else@example.net"
    msg["To"] = "receipts@expense.example.com"
    msg["Subject"] = "Fwd: 午餐 lunch with ABC Trading 成本中心：CC-2100"
    msg["Message-ID"] = "<moto-intake-1@mail.example.com>"
    msg.set_content("Client lunch, receipt attached.")
    msg.add_attachment(receipt_png(*LUNCH), maintype="image", subtype="png", filename="午餐收據.png")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * 900, maintype="image", subtype="png", filename="logo.png",
                       disposition="inline", cid="<logo@example.com>")
    return bytes(msg)


def test_emailed_receipt_becomes_an_expense_once(stack):
    c = bootstrap.container()
    s3 = boto3.client("s3", region_name="ap-east-1")
    key = "inbound/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6g7h8i9j0"
    s3.put_object(Bucket=c.settings.raw_mail_bucket, Key=key, Body=_raw_message())  # what the SES S3 action does
    raw = s3.get_object(Bucket=c.settings.raw_mail_bucket, Key=key)["Body"].read()
    starter = UploadsBucketStarter(c.uploads)

    result = process_raw_email(key, raw, c.directory, starter, c.audit)

    assert result.status == "accepted" and result.employee_id == "E201"
    [expense_id] = result.expense_ids
    [obj] = s3.list_objects_v2(Bucket=c.settings.uploads_bucket, Prefix=f"receipts/E201/{expense_id}/")["Contents"]
    meta = read_intake_metadata(s3.head_object(Bucket=c.settings.uploads_bucket, Key=obj["Key"])["Metadata"])
    assert meta == {"purpose": "午餐 lunch with ABC Trading", "category": "meals", "cost_centre": "CC-2100",
                    "claim": "Fwd: 午餐 lunch with ABC Trading 成本中心：CC-2100"}  # the subject may name a claim
    expense = wait_for(lambda: (x := c.expenses.get(expense_id)) is not None and x.status in DONE and x)
    assert lambda_shim.drain()
    expense = c.expenses.get(expense_id)
    assert expense.employee_id == "E201" and expense.s3_key == obj["Key"]
    # the e-mail's purpose, category and cost centre reach the expense (the metadata exists before the event)
    assert (expense.description, expense.category, expense.cost_centre) == ("午餐 lunch with ABC Trading", "meals",
                                                                            "CC-2100")
    # no draft claim of E201's is named by the subject: the receipt waits unattached
    assert [x.expense_id for x in c.expenses.unattached("E201")] == [expense_id]
    assert c.claims.by_employee("E201") == []
    records = c.audit.records(f"EMAIL#{key}")  # the intake Lambda (fed by the bucket) and this direct call
    assert records and all(r.action == "email.accepted" for r in records)
    assert any(i["function"].endswith("intake_email") and i["ok"] for i in lambda_shim.INVOCATIONS)
    assert {r.after["sender"] for r in records} == {"s***@example.com"}
    assert all(r.after["expense_ids"] == [expense_id] for r in records)

    assert lambda_shim.drain()
    history = len(c.expenses.history(expense_id))
    again = process_raw_email(key, raw, c.directory, starter, c.audit)  # a redelivered raw-mail event
    assert again.expense_ids == [expense_id] and again.replayed
    assert lambda_shim.drain()
    assert [x.expense_id for x in c.expenses.unattached("E201")] == [expense_id]
    assert c.claims.by_employee("E201") == []
    assert c.expenses.get(expense_id) == expense
    assert len(c.expenses.history(expense_id)) == history


def test_unknown_sender_leaves_nothing_in_the_uploads_bucket(stack):
    c = bootstrap.container()
    raw = _raw_message().replace(b"SM.Wong@example.com", b"stranger@example.org")
    result = process_raw_email("inbound/unknown", raw, c.directory, UploadsBucketStarter(c.uploads), c.audit)
    assert result.status == "rejected"
    s3 = boto3.client("s3", region_name="ap-east-1")
    assert s3.list_objects_v2(Bucket=c.settings.uploads_bucket).get("KeyCount", 0) == 0
    [record] = c.audit.records("EMAIL#inbound/unknown")
    assert record.action == "email.rejected" and record.after["sender"] == "s***@example.org"
