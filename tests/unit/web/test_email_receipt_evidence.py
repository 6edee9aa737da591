"""An e-mailed HTML receipt is evidence, never a page: pages offer it as a download (no <img>, no frame) and the
presigned link makes S3 answer it as a plain-text attachment, so no browser renders its markup or scripts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
from moto import mock_aws

from chalicelib.adapters.aws import BlobStore
from chalicelib.web import approval_pages
from tests.unit.web.test_approval_pages import REPORT, _request

STATIC = Path(approval_pages.__file__).resolve().parent / "static"


def test_the_approval_page_links_an_email_receipt_for_download_instead_of_showing_it():
    first = {**REPORT["expenses"][0], "receipt_download": True}
    html = approval_pages.approval({**REPORT, "expenses": [first, *REPORT["expenses"][1:]]}, _request("en"))
    assert 'img src="http://uploads.example/e-1.png' not in html and "<iframe" not in html
    assert 'download rel="noopener">E-receipt' in html
    zh = approval_pages.approval({**REPORT, "expenses": [first]}, _request("zh-Hant"))
    assert 'download rel="noopener">電子收據（電郵）：下載</a>' in zh


def test_an_image_receipt_is_still_shown_as_a_picture():
    html = approval_pages.approval(REPORT, _request("en"))
    assert 'img src="http://uploads.example/e-1.png' in html and 'download rel="noopener">E-receipt' not in html


def test_the_presigned_link_of_an_html_receipt_is_a_plain_text_download():
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-east-1")
        blobs = BlobStore(s3, "uploads")
        html_url = blobs.view_url("receipts/E201/e-1/receipt.html", "v1", 300)
        jpeg_url = blobs.view_url("receipts/E201/e-2/receipt.jpg", "v1", 300)
    query = parse_qs(urlsplit(html_url).query)
    assert query["response-content-type"] == ["text/plain; charset=utf-8"]
    assert query["response-content-disposition"][0].startswith("attachment")
    assert "response-content-type" not in parse_qs(urlsplit(jpeg_url).query)


def test_the_scripts_never_put_an_email_receipt_in_an_img_or_a_frame():
    claim = (STATIC / "claim.js").read_text("utf-8")
    home = (STATIC / "home.js").read_text("utf-8")
    assert 'startsWith("text/html")' in claim and "claim.receipt.email" in claim
    assert claim.index('startsWith("text/html")') < claim.index("<img class=\"receipt-img\"")  # checked first
    assert "home.review.email" in home and "<iframe" not in claim + home
