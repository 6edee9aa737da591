"""The same paper receipt photographed again (`duplicate_rephotographed`): photos hashing within the threshold
fire when nothing read off the two receipts says they are two; another receipt of the same layout stays quiet."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.anomaly import History, VendorResolver, assess_claim
from chalicelib.domain.anomaly.duplicates import REPHOTO_DISTANCE, bands, contradicts, hamming
from chalicelib.domain.policy import Policy
from chalicelib.domain.vendors import seed_directory
from tests.unit.domain.anomaly_support import row, rules_fired

PHOTO = "c3a5f00f1e2d3c4b"


def flipped(image_hash: str, bits: int) -> str:
    """The hash with its `bits` lowest bits flipped (the first bands still match)."""
    return f"{int(image_hash, 16) ^ ((1 << bits) - 1):016x}"


def test_a_second_photo_of_the_same_paper_with_a_misread_vendor_is_a_duplicate():
    first = row("388.00", vendor="澳洲牛奶公司", claim="c-old", receipt_no=None, image_hash=PHOTO)
    again = row("388.00", vendor="溴州牛奶 4-1", claim="c-new", receipt_no=None, image_hash=flipped(PHOTO, 9))
    fired = rules_fired([again], [first])
    (finding,) = fired["duplicate_rephotographed"]
    assert finding.reason == ("duplicate: a photo of the same paper receipt as in claim c-old (HK$388, 2025-03-04, "
                              "澳洲牛奶公司), taken again / 重複：與申報 c-old（HK$388，2025-03-04，澳洲牛奶公司）"
                              "為同一張收據再次拍攝")
    assert not {"duplicate_own", "duplicate_colleague"} & set(fired)  # not the same vendor+date+total key


def test_a_photo_whose_total_was_not_read_still_matches_and_names_the_colleague():
    mine = row("512.00", who="E1", claim="c-mine", receipt_no=None, image_hash=PHOTO)
    theirs = row("512.00", who="E2", claim="c-theirs", receipt_no=None, image_hash=flipped(PHOTO, 4),
                 total=None, total_hkd=None, vendor="?")
    (finding,) = rules_fired([theirs], [mine])["duplicate_rephotographed"]
    assert "as in claim c-mine of colleague E1" in finding.reason and "同事 E1 的申報 c-mine" in finding.reason


def test_another_receipt_of_the_same_cafe_for_another_amount_or_day_is_quiet():
    first = row("388.00", vendor="澳洲牛奶公司", claim="c-old", receipt_no=None, image_hash=PHOTO)
    other_amount = row("96.00", vendor="澳洲牛奶公司", receipt_no=None, image_hash=flipped(PHOTO, 3))
    other_day = row("388.00", vendor="澳洲牛奶公司", receipt_no=None, day=date(2025, 3, 5),
                    image_hash=flipped(PHOTO, 3))
    other_number = row("388.00", vendor="澳洲牛奶公司", receipt_no="R5551234", image_hash=flipped(PHOTO, 3))
    for look_alike in (other_amount, other_day):
        assert "duplicate_rephotographed" not in rules_fired([look_alike], [first])
    numbered = first.__class__(**{**{f: getattr(first, f) for f in first.__slots__}, "receipt_no": "R5550001"})
    assert "duplicate_rephotographed" not in rules_fired([other_number], [numbered])


def test_a_photo_too_far_in_hash_is_quiet_even_with_everything_else_equal_to_nothing():
    first = row("388.00", vendor="A", claim="c-old", receipt_no=None, image_hash=PHOTO, day=date(2025, 3, 4))
    far = row("388.00", vendor="B", receipt_no=None, image_hash=flipped(PHOTO, REPHOTO_DISTANCE + 1),
              day=date(2025, 3, 4))
    assert hamming(far.image_hash, PHOTO) == REPHOTO_DISTANCE + 1
    assert "duplicate_rephotographed" not in rules_fired([far], [first])


def test_the_same_file_is_reported_once_as_the_same_file():
    first = row("388.00", claim="c-old", image_hash=PHOTO, evidence_key="sha-x")
    again = row("388.00", image_hash=PHOTO, evidence_key="sha-x")
    fired = rules_fired([again], [first])
    assert "duplicate_own" in fired and "duplicate_rephotographed" not in fired


def test_rows_a_store_found_by_hash_count_beside_the_history():
    far_away = row("388.00", who="E9", claim="c-other-dept", receipt_no=None, image_hash=flipped(PHOTO, 2))
    mine = row("388.00", receipt_no=None, image_hash=PHOTO, vendor="Other spelling")
    found = assess_claim([mine], History(), Policy(), VendorResolver(seed_directory()),
                         same_image={mine.expense_id: [far_away]})
    assert [f.rule for f in found[mine.expense_id]] == ["duplicate_rephotographed"]


def test_bands_and_what_contradicts():
    assert bands(PHOTO) == ["0:c3", "1:a5", "2:f0", "3:0f", "4:1e", "5:2d", "6:3c", "7:4b"]
    a = row("10.00", receipt_no=None)
    assert not contradicts(a, row("10.00", receipt_no=None, total=None))
    assert contradicts(a, row("11.00", receipt_no=None))
    assert contradicts(a, row("10.00", receipt_no=None, day=date(2025, 1, 1)))
