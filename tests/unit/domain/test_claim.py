from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.claim import Claim, ClaimStatus, InvalidClaim, InvalidTransition, parse_amount
from chalicelib.domain.money import CurrencyMismatch, Money
from tests.builders import receipt_claim


def make_claim(**overrides) -> Claim:
    data = dict(s3_key="k", file_sha256="abc", vendor="Tsui Wah 翠華", receipt_date=date(2026, 11, 3),
                total=Money.of("90.00", "HKD"), status="extracted")
    data.update(overrides)
    return receipt_claim(**data)


def test_lifecycle_moves_and_bumps_version():
    claim = make_claim()
    submitted = claim.moved_to(ClaimStatus.SUBMITTED, submission_count=1)
    assert submitted.status == ClaimStatus.SUBMITTED and submitted.version == claim.version + 1
    assert claim.status == ClaimStatus.DRAFT  # the original is untouched


@pytest.mark.parametrize(
    ("start", "wanted"),
    [(ClaimStatus.POSTED, ClaimStatus.FAILED), (ClaimStatus.REJECTED, ClaimStatus.APPROVED),
     (ClaimStatus.DRAFT, ClaimStatus.APPROVED), (ClaimStatus.SUBMITTED, ClaimStatus.POSTED),
     (ClaimStatus.SCORED, ClaimStatus.SCORED)],
)
def test_moves_outside_the_lifecycle_are_refused(start, wanted):
    with pytest.raises(InvalidTransition):
        make_claim(status=start).moved_to(wanted)


def test_any_live_status_can_fail_with_a_reason():
    failed = make_claim(status=ClaimStatus.IN_APPROVAL).moved_to(ClaimStatus.FAILED, failure_reason="timeout")
    assert failed.failure_reason == "timeout"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        make_claim(created_at=datetime(2026, 11, 3, 12, 0))


def test_dedupe_key_ignores_case_spacing_and_width():
    a = make_claim(vendor="Tsui Wah 翠華").expenses[0]
    b = make_claim(vendor="ＴＳＵＩ  WAH 翠華", total=Money.of("90", "HKD")).expenses[0]
    assert a.dedupe_key == b.dedupe_key
    assert make_claim(total=Money.of("90.01", "HKD")).expenses[0].dedupe_key != a.dedupe_key


def test_content_hash_changes_when_what_the_approver_sees_changes():
    claim = make_claim()
    assert claim.content_hash() == make_claim().content_hash()
    assert claim.content_hash() != make_claim(total=Money.of("91.00", "HKD")).content_hash()
    assert claim.content_hash() != make_claim(purpose="other").content_hash()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"total": None}, "no total"), ({"total": Money.of("-5", "HKD")}, "positive"),
     ({"total": Money.of("0", "HKD")}, "positive"), ({"receipt_date": None}, "has no date"),
     ({"receipt_date": datetime.now(UTC).date() + timedelta(days=2)}, "future"), ({"vendor": ""}, "vendor")],
)
def test_submission_validation(overrides, message):
    with pytest.raises(InvalidClaim, match=message):
        make_claim(**overrides).validate_for_submission()


def test_money_is_never_float():
    with pytest.raises(ValueError, match="float"):
        Money(amount=12.5, currency="HKD")
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "HKD") + Money.of("1", "USD")
    assert Money.of("1.005", "HKD").quantized().amount == Decimal("1.01")
    assert Money.of("1234.5", "JPY").quantized().amount == Decimal("1235")


@pytest.mark.parametrize(("text", "value"), [("1,234.50", "1234.50"), ("１２３.４", "123.4"), (" 88 ", "88")])
def test_parse_amount(text, value):
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "nan", "Infinity", ""])
def test_parse_amount_refuses_non_numbers(text):
    with pytest.raises(InvalidClaim):
        parse_amount(text)


def test_currencies_are_iso_4217_with_their_minor_units():
    from chalicelib.domain.currencies import UnknownCurrency, check_currency, is_currency

    assert is_currency("HKD") and is_currency("XCG") and not is_currency("ZZZ") and not is_currency("XXX")
    assert Money.of("1.2345", "BHD").quantized().amount == Decimal("1.235")  # three decimals
    assert Money.of("1234.5", "JPY").quantized().amount == Decimal("1235")
    with pytest.raises(UnknownCurrency, match="ISO 4217"):
        check_currency("ZZZ")
