"""The category a receipt's vendor suggests: taxis, hotels and travel, restaurants and cafés, in English and
Chinese; nothing when the name says nothing."""

from __future__ import annotations

import pytest

from chalicelib.domain.categories import VENDOR_WORDS, category_from_vendor
from chalicelib.domain.expense import CATEGORIES


@pytest.mark.parametrize(("vendor", "expected"), [
    ("翠華餐廳 Tsui Wah Restaurant", "meals"),
    ("澳洲牛奶公司茶餐廳", "meals"),
    ("Pacific Coffee Company", "meals"),
    ("Café Deco", "meals"),
    ("ＣＡＦＥ　ＤＥ　ＣＯＲＡＬ", "meals"),  # full-width letters, as a Chinese IME types them
    ("Urban Taxi 的士", "taxi"),
    ("UBER *TRIP HELP.UBER.COM", "taxi"),
    ("新界的士", "taxi"),
    ("Hotel ICON", "travel"),
    ("香港洲際酒店", "travel"),
    ("Harbour Plaza Hotel Restaurant", "travel"),  # the more specific word wins: a hotel's restaurant bill
    ("Cathay Pacific Airways", "travel"),
])
def test_a_vendor_name_suggests_its_category(vendor, expected):
    assert category_from_vendor(vendor) == expected


@pytest.mark.parametrize("vendor", [None, "", "ABC Trading Ltd", "百佳超級市場", "Scabbard Supplies", "Barcelona Ltd"])
def test_a_name_that_says_nothing_suggests_nothing(vendor):
    """English words count only whole: "cab" is not in "Scabbard", nor "bar" in "Barcelona"."""
    assert category_from_vendor(vendor) is None


def test_every_suggested_category_is_one_a_claim_accepts():
    assert {category for category, _ in VENDOR_WORDS} <= set(CATEGORIES)
