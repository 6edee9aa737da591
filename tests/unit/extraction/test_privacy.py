"""Personal data never reaches a log line in clear."""

from __future__ import annotations

import pytest

from chalicelib.extraction.privacy import mask_personal_data


@pytest.mark.parametrize(
    ("text", "must_not_contain", "must_contain"),
    [
        ("HKID A123456(7) member", "123456", "[HKID]"),
        ("card 4111 1111 1111 1234 approved", "4111 1111", "**** 1234"),
        ("card 4111111111111234", "411111111111", "**** 1234"),
        ("Tel: 2461 9838", "2461 9838", "[PHONE]"),
        ("+852 9123 4567", "9123", "[PHONE]"),
        ("mobile 13812345678", "13812345678", "[PHONE]"),
    ],
)
def test_masks(text: str, must_not_contain: str, must_contain: str) -> None:
    masked = mask_personal_data(text)
    assert must_not_contain not in masked
    assert must_contain in masked


def test_amounts_and_dates_are_left_alone() -> None:
    text = "總金額 $106.00 2025-10-25 B52-91****61"
    assert mask_personal_data(text) == text
