"""The vendor directory: which merchant a receipt's header names, and the canonical name it gets."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.domain.expense import CATEGORIES
from chalicelib.domain.vendors import SEED_PATH, Vendor, VendorDirectory, fold, seed_directory, strip_branch

#: a body long enough that the last lines are well below the header
BODY = ["Tel: 2396 0260", "2025-11-20 13:45", "單號: 000-0129", "凍檸茶", "$18.00", "小計", "$36.00",
        "總數", "$36.00", "八達通", "$36.00", "餘額", "$120.40", "多謝惠顧", "Thank you"]
BODY_SC = ["商品", "数量", "单价", "总价", "牛肉卷", "65.90", "合计", "65.90", "支付宝", "65.90", "谢谢惠顾",
           "欢迎再次光临", "交易号：5917", "收银员：469", "Thank you"]


@pytest.fixture(scope="module")
def seed() -> VendorDirectory:
    return seed_directory()


def _id(directory: VendorDirectory, lines: list[str], printed: str | None = None) -> str | None:
    found = directory.match(lines, printed)
    return found.vendor.id if found else None


# --- the seed ---------------------------------------------------------------------------------------------------


def test_the_seed_lists_over_120_hong_kong_merchants_with_known_categories(seed):
    raw = json.loads(SEED_PATH.read_text("utf-8"))["vendors"]
    assert len(raw) == len(seed) >= 120  # ids are unique (a repeated id would shrink the directory)
    assert {v.category for v in seed.vendors} <= set(CATEGORIES)
    assert {v.source for v in seed.vendors} == {"seed"}


def test_every_seed_entry_is_found_by_its_own_names_and_nothing_else(seed):
    for vendor in seed.vendors:
        for text in [vendor.conventional_name(), *vendor.names.values(), *vendor.aliases]:
            assert _id(seed, [text], text) == vendor.id, text


# --- scripts, OCR, branches -------------------------------------------------------------------------------------


def test_traditional_header_gives_both_printed_names(seed):
    lines = ["百佳", "PARKnSHOP", "Chun Yeung Shopping Centre", *BODY]
    found = seed.match(lines, "百佳 PARKnSHOP")
    assert found is not None and found.vendor.id == "parknshop" and found.score == 1.0
    assert seed.canonical_name(found.vendor, lines, "百佳 PARKnSHOP") == "百佳 PARKnSHOP"


def test_a_simplified_receipt_matches_and_keeps_the_simplified_name(seed):
    lines = ["华润万家", "交易时间：2025-10-24 20:42", "会员：1074****4942", *BODY_SC]
    found = seed.match(lines, None)
    assert found is not None and found.vendor.id == "cr-vanguard"
    assert seed.canonical_name(found.vendor, lines) == "华润万家"


def test_a_simplified_spelling_meets_the_traditional_name():
    assert fold("万宁") == fold("萬寧") and fold("麵") == fold("面")


def test_english_only_receipt_gives_the_english_name(seed):
    lines = ["Genki Sushi (Maritime Square)", "Tel:3904-1611", *BODY]
    found = seed.match(lines, "Genki Sushi (Maritime Square)")
    assert found is not None and found.vendor.id == "genki-sushi"
    assert seed.canonical_name(found.vendor, lines, "Genki Sushi (Maritime Square)") == "Genki Sushi"


@pytest.mark.parametrize(("lines", "printed", "expected"), [
    (["大快活", "Falrwood", "請留意取餐號碼"], "大快活 Falrwood", "大快活 Fairwood"),  # i read as l
    (["PARK N SH0P", "Kwai Fong"], "PARK N SH0P", "PARKnSHOP"),  # 0 for O, spaces
    (["CIRCLE", "店號(Store):276"], "CIRCLE", "Circle K"),  # the logo's K lost
    (["Saizeriya", "薩莉亞意式餐原"], "薩莉亞意式餐原 Saizeriya", "薩莉亞意式餐廳 Saizeriya"),  # one character misread
    (["Sam's", "CLUB", "山公员商店", "交易时间：2025-10-24", *BODY_SC], None, "Sam's Club 山姆会员商店"),  # split logo
])
def test_ocr_damaged_names_are_read_as_the_chain(seed, lines, printed, expected):
    lines = lines if len(lines) > 10 else [*lines, *BODY]
    found = seed.match(lines, printed)
    assert found is not None
    assert seed.canonical_name(found.vendor, lines, printed) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Pick Coffee (Tsing Yi)", "Pick Coffee"), ("阿城鵝肉·淘大店", "阿城鵝肉"),
    ("j & L Coffee - Tsing Yi", "j & L Coffee"), ("譚仔三哥米線（荃灣）", "譚仔三哥米線"),
    ("Pick Coffee (Tsing Yi", "Pick Coffee"), ("7-Eleven", "7-Eleven"),
])
def test_strip_branch(text, expected):
    assert strip_branch(text) == expected


def test_a_branch_after_a_chain_name_still_matches_and_is_dropped(seed):
    lines = ["譚仔三哥米線·荃灣店", *BODY]
    found = seed.match(lines, lines[0])
    assert found is not None and found.vendor.id == "tamjai-samgor"
    assert seed.canonical_name(found.vendor, lines, lines[0]) == "譚仔三哥米線"


def test_the_more_specific_name_wins(seed):
    assert _id(seed, ["百老匯戲院", *BODY]) == "broadway-cinema"
    assert _id(seed, ["百老匯", *BODY]) == "broadway"
    assert _id(seed, ["Tsui Wah", *BODY]) == "tsui-wah"
    assert _id(seed, ["Welcome to Tsui Wah", *BODY], "Welcome to Tsui Wah") == "tsui-wah"  # not Wellcome


# --- what must not match ----------------------------------------------------------------------------------------


def test_two_vendors_equally_named_is_no_match(seed):
    assert seed.match(["Starbucks", "Pacific Coffee", *BODY], None) is None


def test_a_name_in_the_footer_or_an_item_does_not_name_the_merchant(seed):
    lines = ["伊勢堂", "桌號:10", *BODY, "麥當勞 麥樂雞", "Thank you for shopping at PARKnSHOP"]
    assert seed.match(lines, "伊勢堂") is None


@pytest.mark.parametrize("line", [
    "Shop 12, Tsing Yi MTR Station",  # an address
    "88 Broadway, Mei Foo",  # a street that shares a chain's name
    "Tsing Yi MTR Station",  # the name is a small part of the line
    "Welcome to Tsui Wah",
])
def test_a_header_line_that_only_mentions_a_chain_does_not_name_the_merchant(seed, line):
    assert seed.match(["Pick Coffee", line, *BODY], "Pick Coffee") is None


def test_the_header_beats_a_footer_mention(seed):
    lines = ["萬寧 mannings", *BODY, "Thank you for shopping at PARKnSHOP"]
    assert _id(seed, lines, "萬寧 mannings") == "mannings"


def test_short_tokens_never_match():
    red_mr = Vendor(id="red-mr", names={"en": "Red MR"}, aliases=("MR",), category="entertainment")
    directory = VendorDirectory([red_mr])
    assert directory.match(["MR", "Mr Chan", *BODY], None) is None
    assert _id(directory, ["RED MR", *BODY]) == "red-mr"


def test_a_near_miss_on_a_different_name_is_not_a_match(seed):
    assert seed.match(["Welcome to Bob's Diner", *BODY], None) is None
    assert seed.match(["LIAN HING STATIONERY SDN BHD", "GST ID : 002139201536", "TAX", "TAX INVOICE"], None) is None
    assert seed.match(["CHICKEN FACTORY", "伊勢堂", "Madrid Sizzling", *BODY], None) is None


def test_a_platform_name_does_not_replace_the_restaurant_printed_beside_it(seed):
    assert seed.match(["keeta", "阿城鵝肉·淘大店", *BODY], "阿城鵝肉·淘大店 keeta") is None
    assert _id(seed, ["foodpanda", *BODY], "foodpanda") == "foodpanda"
    assert seed.match(["Panda Place", "Octopus Card No.:", *BODY], None) is None  # a payment line is not a merchant


def test_a_generic_kind_of_merchant_does_not_replace_the_company_printed_with_it(seed):
    assert seed.match(["城市的士 City Taxi", *BODY], "城市的士 City Taxi") is None  # the company's own name stays
    assert seed.match(["大眾的士台", *BODY], "大眾的士台") is None
    assert _id(seed, ["的士 TAXI", *BODY], "的士 TAXI") == "taxi"  # a receipt that says only "taxi"
    assert seed.match(["HK TAXI", "的士", *BODY], None) is None  # never from a header line alone


# --- canonical names --------------------------------------------------------------------------------------------


def test_without_lines_the_conventional_name_is_chinese_then_english(seed):
    assert seed.canonical_name(seed.get("fairwood")) == "大快活 Fairwood"
    assert seed.canonical_name(seed.get("sams-club")) == "Sam's Club 山姆會員商店"  # the brand's own order
    assert seed.canonical_name(seed.get("foodpanda")) == "foodpanda"


def test_a_japanese_receipt_is_not_taken_for_simplified_chinese(seed):
    lines = ["無印良品", "領収証", "銀座", "商品価格は免税後の価格を表示しています", *BODY]
    found = seed.match(lines, "無印良品")
    assert found is not None and seed.canonical_name(found.vendor, lines, "無印良品") == "無印良品"


# --- finance entries --------------------------------------------------------------------------------------------


def test_a_finance_entry_is_matched_and_can_replace_a_seed_entry(seed):
    ise = Vendor(id="ise-do", names={"zh-Hant": "伊勢堂"}, category="meals", partner_for=("meals",), source="finance")
    better = seed.get("fairwood").model_copy(update={"partner_for": ("meals",), "source": "finance"})
    directory = seed.with_entries([ise, better])
    assert _id(directory, ["伊勢堂", *BODY], "伊勢堂") == "ise-do"
    assert directory.get("fairwood").source == "finance" and len(directory) == len(seed) + 1
    assert _id(seed, ["伊勢堂", *BODY], "伊勢堂") is None  # the seed itself is unchanged


@pytest.mark.parametrize("bad", [
    {"id": "x", "names": {}},
    {"id": "x", "names": {"en": "X Co"}, "category": "groceries"},
    {"id": "x", "names": {"en": "X Co"}, "partner_for": ["fun"]},
    {"id": "Not A Slug", "names": {"en": "X Co"}},
])
def test_an_invalid_entry_is_refused(bad):
    with pytest.raises(ValidationError):
        Vendor.model_validate(bad)
