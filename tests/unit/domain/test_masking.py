"""Masking per role: one function (`sees_in_full`) decides who sees HKID, card and bank account numbers in full;
`scrub` masks the rest wherever they appear in free text."""

from __future__ import annotations

from chalicelib.domain import masking
from chalicelib.domain.identity import Role
from chalicelib.domain.masking import Kind

VISA_TEST = "4111 1111 1111 1111"  # the well-known Luhn-valid test number
NOTE = f"Paid by card {VISA_TEST}; HKID A123456(7); refund to 004-123-456789-001; invoice 1234567890123"


def test_only_payroll_and_finance_admins_see_a_bank_account_in_full_and_nobody_a_card_or_hkid():
    for role in Role:
        assert masking.sees_in_full({role}, Kind.BANK_ACCOUNT) == (role in (Role.PAYROLL, Role.FINANCE_ADMIN))
        assert not masking.sees_in_full({role}, Kind.CARD)
        assert not masking.sees_in_full({role}, Kind.HKID)


def test_an_employee_reads_every_number_masked():
    out = masking.scrub(NOTE, {Role.EMPLOYEE, Role.APPROVER, Role.FINANCE})
    assert VISA_TEST not in out and "****1111" in out
    assert "A123456" not in out and "A1*****(*)" in out
    assert "004-123-456789-001" not in out and "refund to ****9001" in out
    assert "1234567890123" in out  # 13 digits failing the Luhn check: an invoice number, left alone


def test_payroll_reads_the_bank_account_but_still_not_the_card_or_hkid():
    out = masking.scrub(NOTE, {Role.PAYROLL})
    assert "004-123-456789-001" in out
    assert VISA_TEST not in out and "A123456" not in out


def test_scrub_all_walks_a_json_shaped_value_and_leaves_keys_and_numbers():
    value = {"title": f"card {VISA_TEST}", "lines": [{"note": "HKID Z987654(A)"}], "amount": 12, "A123456(7)": 1}
    out = masking.scrub_all(value, frozenset())
    assert out == {"title": "card ****1111", "lines": [{"note": "HKID Z9*****(*)"}], "amount": 12, "A123456(7)": 1}


def test_the_masks_keep_enough_to_recognise():
    assert masking.mask_last4("123-456-789012") == "****9012"
    assert masking.mask_hkid("AB123456(3)") == "AB1*****(*)"
    assert masking.mask_phone("+852 5123 0200") == "+852****00"


def test_the_finance_export_masks_numbers_in_claim_text_for_finance_but_not_the_amounts():
    from chalicelib.web import finance_routes as fr

    row = {"title": f"Hotel, card {VISA_TEST}", "claimant": "黃小明 Wong Siu Ming", "department": "Sales 銷售部",
           "created_at": "2026-11-30T16:30:00+00:00", "status": "in_approval", "categories": ["travel"],
           "amounts": [{"amount": "1234567.00", "currency": "HKD"}], "hkd": {"amount": "1234567.00", "currency": "HKD"},
           "flagged": False, "reasons": ["HKID A123456(7) on the receipt"], "review_reasons": []}
    table = fr.export_table([row], "en", "Asia/Hong_Kong", frozenset({Role.FINANCE}))
    text = fr.to_csv(table)
    assert VISA_TEST not in text and "card ****1111" in text
    assert "A123456" not in text and "A1*****(*)" in text
    assert "HK$1,234,567.00" in text and str(table[1][7]) == "1234567.00"


def test_notifications_never_carry_a_full_card_or_hkid():
    from chalicelib.adapters.aws import Notifier

    sent = []

    class Sns:
        def publish(self, **kwargs):
            sent.append(kwargs)
            return {"MessageId": "m-1"}

    token = "v1.AAAA4111111111111111BBBB"  # digits inside a link's token are left whole
    Notifier(Sns(), "arn:aws:sns:ap-east-1:123456789012:t").publish(
        subject=f"Claim {VISA_TEST}", message={"en": f"Receipt shows {VISA_TEST}", "link": f"https://x/{token}"},
        attributes={})
    [call] = sent
    assert VISA_TEST not in call["Subject"] + call["Message"] and "****1111" in call["Message"]
    assert token in call["Message"]
