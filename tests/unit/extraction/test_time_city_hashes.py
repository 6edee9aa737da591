"""What extraction reads for the anomaly rules besides the money: the time printed beside the date, the city
the receipt was paid in (or None when it does not say), the SimHash of its numbers; and extraction stores them,
with the receipt number and the photo's hash, on the expense."""

from __future__ import annotations

import datetime
from decimal import Decimal

from chalicelib.domain.anomaly.duplicates import TEXT_DISTANCE, hamming
from chalicelib.extraction.analyze_expense import build_analyze_expense
from chalicelib.extraction.models import ExtractedReceipt
from chalicelib.extraction.service import receipts_from_response
from chalicelib.extraction.text_hash import text_hash
from chalicelib.services import extraction
from tests.fakes import bootstrap_fakes
from tests.unit.extraction.test_rules import TODAY, line, receipt, resolve

ROWS = [("合計 TOTAL", "$387.20")]


def test_the_time_beside_the_date_is_read_and_a_lone_time_elsewhere_is_not():
    got, _ = resolve(receipt(ROWS, header=["澳洲牛奶公司", "28/07/2025 13:25:58"]))
    assert (got.date, got.receipt_time) == (datetime.date(2025, 7, 28), datetime.time(13, 25))
    got, _ = resolve(receipt(ROWS, header=["澳洲牛奶公司", "28/07/2025", "營業時間 07:00-23:00"]))
    assert got.date == datetime.date(2025, 7, 28) and got.receipt_time is None


def test_the_city_comes_from_the_address_wording_then_the_currency():
    hk, _ = resolve(receipt(ROWS, header=["上海婆婆 Shanghai Popo", "旺角彌敦道 600 號", "28/07/2025"]))
    assert hk.currency == "HKD" and hk.city == "Hong Kong"  # a Hong Kong shop named for Shanghai
    macau, _ = resolve(receipt(ROWS, header=["澳門亞利茶餐廳", "氹仔地堡街 12 號", "28/07/2025"]))
    assert macau.city == "Macau"
    shenzhen, _ = resolve(receipt([("合计", "¥128.00")], header=["深圳市华联商贸有限公司", "28/07/2025"]))
    assert (shenzhen.currency, shenzhen.city) == ("CNY", "Shenzhen")
    mainland, _ = resolve(receipt([("合计", "¥128.00")], header=["华联商贸有限公司", "28/07/2025"]))
    assert mainland.city is None  # a yuan receipt naming no city: not guessed


def test_the_numbers_simhash_is_near_for_two_readings_and_far_for_another_receipt():
    paper = ["澳洲牛奶公司", "單號 233333 28/07/2025 13:25:58", "凍檸茶 x1 22.00", "沙嗲牛肉麵 x2 88.00",
             "星洲炒米 x1 72.00", "小計 $352.00", "服務費 10% $35.20", "總數 $387.20"]
    misread = [t.replace("88.00", "B8.00") for t in paper[:-1]]  # one slip, the last line lost
    other = ["澳洲牛奶公司", "單號 233417 28/07/2025 14:02:11", "凍奶茶 x2 44.00", "炒蛋多士 x1 36.00",
             "小計 $80.00", "服務費 10% $8.00", "總數 $88.00"]
    assert hamming(text_hash(paper), text_hash(misread)) <= TEXT_DISTANCE
    assert hamming(text_hash(paper), text_hash(other)) > TEXT_DISTANCE
    assert text_hash(["Thank you", "謝謝"]) is None


def test_a_response_carries_its_text_hash():
    lines = receipt(ROWS, header=["澳洲牛奶公司", "單號 233333", "28/07/2025 13:25:58", "Tel 2655 4496"])
    got = receipts_from_response(build_analyze_expense([lines]), today=TODAY)
    assert got.text_hash is not None and got.receipt_time == datetime.time(13, 25)
    assert line  # the builders are shared with test_rules


KEY = "receipts/E201/e-0123456789abcdef0123456789abcdef/receipt.jpg"


class _Blobs:
    def head(self, key, version_id=None):
        return {"ContentLength": 3, "ContentType": "image/jpeg", "VersionId": "v1", "Metadata": {}}

    def read(self, key, max_bytes, version_id=None):
        return b"jpg"


def test_extraction_stores_what_the_rules_read_on_the_expense():
    app = bootstrap_fakes()
    read = ExtractedReceipt(vendor="澳洲牛奶公司", date=datetime.date(2025, 7, 28), total=Decimal("387.20"), tax=None,
                            currency="HKD", confidence={"total": 0.9}, needs_review=False, review_reasons=[],
                            receipt_no="233333", receipt_time=datetime.time(13, 25), city="Hong Kong",
                            image_hash="c3a5f00f1e2d3c4b", text_hash="0123456789abcdef")
    expense = extraction.process_upload(KEY, _Blobs(), app.expenses, app.claims, app.directory,
                                        lambda data, name: read, max_bytes=1000)
    stored = app.expenses.get(expense.expense_id)
    assert (stored.receipt_no, stored.receipt_time, stored.city) == ("233333", datetime.time(13, 25), "Hong Kong")
    assert (stored.image_hash, stored.text_hash) == ("c3a5f00f1e2d3c4b", "0123456789abcdef")
    assert [r.expense_id for r in app.expenses.by_image_hash("c3a5f00f1e2d3c4a")] == [expense.expense_id]
    assert app.expenses.by_image_hash("3c5a0ff0e1d2c3b4") == []  # every bit flipped
