"""An e-receipt mail (no attachment) on the local stack: raw-mail bucket -> intake Lambda -> receipt.html in the
uploads bucket -> the normal extraction Lambda (no OCR) -> an extracted expense whose evidence is a download."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import boto3

from chalicelib import bootstrap
from chalicelib.domain.expense import ExpenseStatus
from harness import lambda_shim
from harness.driver import wait_for
from tests import ereceipt_mail as mails

DONE = {ExpenseStatus.EXTRACTED, ExpenseStatus.NEEDS_REVIEW, ExpenseStatus.FAILED}


def test_an_ereceipt_mail_becomes_an_extracted_expense_through_the_lambdas(stack):
    c = bootstrap.container()
    s3 = boto3.client("s3", region_name="ap-east-1")
    key = "inbound/5f0c9a7e3b2d4c1a8e6f0b9d7c5a3e1f2b4d6c8a"
    s3.put_object(Bucket=c.settings.raw_mail_bucket, Key=key, Body=mails.redirected("foodpanda"))

    record = wait_for(lambda: next(iter(c.audit.records(f"EMAIL#{key}")), None))
    assert record.action == "email.accepted" and record.after["body_receipt"] is True
    [expense_id] = record.after["expense_ids"]
    expense = wait_for(lambda: (x := c.expenses.get(expense_id)) is not None and x.status in DONE and x)
    assert lambda_shim.drain()
    expense = c.expenses.get(expense_id)
    assert expense.status == ExpenseStatus.EXTRACTED, expense.review_reasons
    assert expense.s3_key.endswith("/receipt.html") and expense.content_type == "text/html; charset=utf-8"
    assert (expense.vendor, expense.total.amount, expense.total.currency) == ("foodpanda", Decimal("126.00"), "HKD")
    assert expense.category == "meals"  # from the mail's words, as for any e-mailed receipt

    url = c.uploads.view_url(expense.s3_key, expense.s3_version_id, 60)
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"][0].startswith("attachment")
    assert query["response-content-type"] == ["text/plain; charset=utf-8"]
