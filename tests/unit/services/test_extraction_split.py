"""A file holding several receipts becomes one expense per receipt, exactly once, each its own evidence key."""

from __future__ import annotations

import datetime
from decimal import Decimal

from chalicelib.extraction.models import BoundingBox, ExtractedReceipt
from chalicelib.services import extraction
from tests.fakes import bootstrap_fakes
from tests.unit.services.test_extraction_category import KEY, Blobs

EXPENSE_ID = KEY.split("/")[2]


def _part(vendor: str, total: str, page: int, left: float) -> ExtractedReceipt:
    return ExtractedReceipt(vendor=vendor, date=datetime.date(2026, 11, 3), total=Decimal(total), tax=None,
                            currency="HKD", confidence={"total": 0.95}, needs_review=False, review_reasons=[],
                            source_page=page, source_region=BoundingBox(left=left, top=0.1, width=0.4, height=0.8))


PARTS = [_part("城市的士", "86.50", 1, 0.05), _part("金記茶餐廳", "62.50", 1, 0.55), _part("美心餅店", "20.00", 2, 0.1)]
FILE = PARTS[0].model_copy(update={"parts": PARTS, "needs_review": True,
                                   "review_reasons": ["this file holds 3 receipts; each becomes its own expense"]})


def _upload(app):
    return extraction.process_upload(KEY, Blobs(), app.expenses, app.claims, app.directory,
                                     lambda data, name: FILE, max_bytes=1000)


def test_each_receipt_of_the_file_is_its_own_expense() -> None:
    app = bootstrap_fakes()
    first = _upload(app)
    mine = sorted(app.expenses.unattached("E201"), key=lambda e: e.source_part)
    assert [(e.vendor, e.total.amount, e.source_part, e.source_page) for e in mine] == [
        ("城市的士", Decimal("86.50"), 0, 1),
        ("金記茶餐廳", Decimal("62.50"), 1, 1),
        ("美心餅店", Decimal("20.00"), 2, 2),
    ]
    assert first.expense_id == EXPENSE_ID
    assert [e.expense_id for e in mine[1:]] == [extraction.part_expense_id(EXPENSE_ID, i) for i in (1, 2)]
    assert mine[1].source_region.left == 0.55
    assert all(e.status.value == "extracted" and e.s3_key == KEY for e in mine)  # each read well: no review


def test_the_split_is_audited_with_every_expense_it_made() -> None:
    app = bootstrap_fakes()
    _upload(app)
    split = [r for r in app.expenses.history(EXPENSE_ID) if r.action == "expense.split"]
    assert len(split) == 1
    assert split[0].after["expense_ids"] == [EXPENSE_ID, *(extraction.part_expense_id(EXPENSE_ID, i) for i in (1, 2))]


def test_a_redelivered_upload_event_makes_no_second_set() -> None:
    app = bootstrap_fakes()
    _upload(app)
    _upload(app)
    assert len(app.expenses.unattached("E201")) == 3


def test_receipts_of_one_file_are_not_duplicates_of_each_other_but_the_same_part_again_is() -> None:
    app = bootstrap_fakes()
    _upload(app)
    mine = app.expenses.unattached("E201")
    keys = {e.evidence_key for e in mine}
    assert len(keys) == 3 and all(k.startswith(mine[0].file_sha256) for k in keys)
    assert [r.expense_id for r in app.expenses.by_file_hash(f"{mine[0].file_sha256}#1")] == [
        extraction.part_expense_id(EXPENSE_ID, 1)]


class _Replaced(Blobs):
    """The same key after the employee uploaded another file over it (a new object version)."""

    def head(self, key, version_id=None):
        return {**super().head(key, version_id), "VersionId": "v2"}

    def read(self, key, max_bytes, version_id=None):
        return b"another png"


def test_a_file_replaced_after_the_split_is_recorded_on_every_receipt_it_became() -> None:
    app = bootstrap_fakes()
    _upload(app)
    extraction.process_upload(KEY, _Replaced(), app.expenses, app.claims, app.directory,
                              lambda data, name: FILE, max_bytes=1000, version_id="v2")
    ids = [EXPENSE_ID, *(extraction.part_expense_id(EXPENSE_ID, i) for i in (1, 2))]
    replaced = {i: [r.after for r in app.expenses.history(i) if r.action == "evidence.replaced"] for i in ids}
    assert all(len(records) == 1 for records in replaced.values()), replaced
    assert [replaced[i][0]["expense_id"] for i in ids] == ids
    assert all(r[0]["claim_version_id"] == "v1" and r[0]["new_version_id"] == "v2" for r in replaced.values())
    assert len(app.expenses.unattached("E201")) == 3  # still three receipts, each on the version it was read from
