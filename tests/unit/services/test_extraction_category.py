"""A receipt read by extraction gets the category its vendor's name suggests, unless the e-mail it came with
named one (what the employee wrote wins over a guess)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.extraction.models import ExtractedReceipt
from chalicelib.intake.metadata import encode_metadata
from chalicelib.services import extraction
from tests.fakes import bootstrap_fakes

KEY = "receipts/E201/e-0123456789abcdef0123456789abcdef/receipt.png"


class Blobs:
    """The uploads bucket holding one object, with the metadata an upload or an e-mail gave it."""

    def __init__(self, metadata: dict[str, str] | None = None):
        self.metadata = metadata or {}

    def head(self, key, version_id=None):
        return {"ContentLength": 3, "ContentType": "image/png", "VersionId": "v1", "Metadata": self.metadata}

    def read(self, key, max_bytes, version_id=None):
        return b"png"


def _read(vendor: str | None, metadata: dict[str, str] | None = None):
    app = bootstrap_fakes()
    receipt = ExtractedReceipt(vendor=vendor, date=None, total=Decimal("88.00"), tax=None, currency="HKD",
                               confidence={"total": 0.9}, needs_review=False, review_reasons=[])
    return extraction.process_upload(KEY, Blobs(metadata), app.expenses, app.claims, app.directory,
                                     lambda data, name: receipt, max_bytes=1000)


@pytest.mark.parametrize(("vendor", "category"), [
    ("翠華餐廳 Tsui Wah Restaurant", "meals"), ("城市的士 City Taxi", "taxi"), ("Hotel ICON", "travel"),
    ("ABC Trading Ltd", "general"), (None, "general")])
def test_the_vendor_read_suggests_the_category(vendor, category):
    assert _read(vendor).category == category


def test_a_category_the_email_named_is_kept():
    meta = encode_metadata("client dinner", "entertainment", None, "raw/mail-1")
    assert _read("翠華餐廳 Tsui Wah Restaurant", meta).category == "entertainment"
