"""An expense read from a file that holds several receipts says which one it is, in words, on the approval page."""

from __future__ import annotations

import pytest

from chalicelib.domain.expense import Expense, ReceiptRegion
from chalicelib.web import approval_pages
from tests.unit.web.test_approval_pages import REPORT, _request


def _with_part(where: str, page: int = 1) -> dict:
    first = {**REPORT["expenses"][0], "receipt_part": {"page": page, "where": where}}
    return {**REPORT, "expenses": [first, *REPORT["expenses"][1:]]}


def test_the_approval_page_says_which_receipt_of_the_photo_this_is():
    html = approval_pages.approval(_with_part("right"), _request("en"))
    assert "this expense is the one on the right, page 1." in html
    zh = approval_pages.approval(_with_part("left", 2), _request("zh-Hant"))
    assert "此檔案含多張收據：本項為第 2 頁左邊的一張。" in zh


def test_a_one_receipt_file_has_no_such_caption():
    assert "this expense is the one" not in approval_pages.approval(REPORT, _request("en")).split("<script")[0]


@pytest.mark.parametrize(("left", "top", "width", "height", "where"), [
    (0.02, 0.05, 0.45, 0.9, "left"), (0.52, 0.05, 0.45, 0.9, "right"),
    (0.05, 0.02, 0.9, 0.45, "top"), (0.05, 0.52, 0.9, 0.45, "bottom"), (0.2, 0.2, 0.6, 0.6, "middle")])
def test_position_in_words(left, top, width, height, where):
    e = Expense(expense_id="e-1", employee_id="E201", source_part=1,
                source_region=ReceiptRegion(left=left, top=top, width=width, height=height))
    assert e.part_position == where
    assert e.model_copy(update={"source_part": None}).part_position is None
