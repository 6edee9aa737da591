"""A category suggested from the vendor's name, so the employee checking a receipt rarely has to pick one.

The words are data: a vendor name containing one of them (English matched as a whole word, case and width folded;
Chinese as written) suggests that category. The first category whose word matches wins, so the more specific
categories come first (a "hotel restaurant" is travel, a "taxi" is never a meal).
"""

from __future__ import annotations

import re
import unicodedata

VENDOR_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("taxi", ("taxi", "cab", "uber", "lyft", "didi", "hktaxi", "的士", "計程車", "出租車", "滴滴")),
    ("travel", ("hotel", "hostel", "inn", "resort", "airline", "airlines", "airways", "cathay", "hk express",
                "mtr", "kmb", "citybus", "ferry", "turbojet", "airport express", "railway",
                "酒店", "賓館", "旅館", "航空", "國泰", "港鐵", "九巴", "城巴", "渡輪", "噴射飛航", "機場快綫",
                "高鐵", "鐵路")),
    ("meals", ("restaurant", "cafe", "café", "coffee", "starbucks", "pacific coffee", "mcdonald's", "mcdonalds",
               "kfc", "maxim's", "maxims", "bakery", "noodle", "noodles", "dim sum", "bistro", "canteen",
               "kitchen", "bar", "pizza", "sushi", "ramen", "diner", "tea house", "teahouse",
               "茶餐廳", "餐廳", "冰室", "茶樓", "酒家", "酒樓", "飯店", "麵", "粥", "咖啡", "美心", "翠華", "大家樂",
               "大快活", "麥當勞", "餐", "食堂")),
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def category_from_vendor(vendor: str | None) -> str | None:
    """The category a vendor's name suggests, or None when no word of it is known (the employee picks)."""
    if not vendor:
        return None
    name = _fold(vendor)
    for category, words in VENDOR_WORDS:
        for word in words:
            folded = _fold(word)
            if folded.isascii():
                if re.search(rf"(?<![a-z0-9]){re.escape(folded)}(?![a-z0-9])", name):
                    return category
            elif folded in name:
                return category
    return None

