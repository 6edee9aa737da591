"""Cash advances offset in every vendor ledger: the advance receivable cleared in full, the employee owed only
what the claim exceeds the advance by, or owing back what it did not use; each payload checked against the
vendor's schema and booked by the vendor's fake."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.http import MemoryTokenStore, RetryPolicy, TokenSet
from chalicelib.adapters.ledgers.netsuite import NetSuiteLedger
from chalicelib.adapters.ledgers.netsuite import validated as netsuite_validated
from chalicelib.adapters.ledgers.port import PostingRejected
from chalicelib.adapters.ledgers.quickbooks import QuickBooksLedger, validated_bill
from chalicelib.adapters.ledgers.xero import XeroConfig, XeroLedger, build_bill, build_manual_journal, validated
from chalicelib.adapters.ledgers.yonyou import YonyouLedger
from chalicelib.adapters.ledgers.yonyou import validated as yonyou_validated
from chalicelib.domain.advance import settle
from chalicelib.domain.ledger_mapping import AdvanceOffset, Posting
from chalicelib.domain.money import Money
from tests.ledger_fakes import netsuite as ns_fake
from tests.ledger_fakes import quickbooks as qbo_fake
from tests.ledger_fakes import xero as xero_fake
from tests.ledger_fakes import yonyou as yy_fake
from tests.unit.adapters.test_netsuite_payload import config as ns_config
from tests.unit.adapters.test_quickbooks_payload import config as qbo_config
from tests.unit.adapters.test_xero import NOW, make_posting
from tests.unit.adapters.test_yonyou_payload import config as yy_config

TOTAL = Decimal("91.05")  # make_posting(): four lines and a rounding line


def with_advance(advance: str) -> Posting:
    posting = make_posting()
    offset = AdvanceOffset.of("a-1f", settle(Money.of(advance, "HKD"), posting.total))
    return Posting.model_validate({**posting.model_dump(), "advance": offset.model_dump()})


UNDER, OVER = "60.00", "200.00"  # the claim exceeds a 60 advance by 31.05; a 200 advance leaves 108.95 unused


def test_the_offset_must_settle_the_total():
    offset = AdvanceOffset(advance_id="a-1f", advance=Money.of("60.00", "HKD"), pay_employee=Money.of("31.00", "HKD"),
                           recover_from_employee=Money.of("0.00", "HKD"))
    with pytest.raises(ValueError, match="does not settle"):
        Posting.model_validate({**make_posting().model_dump(), "advance": offset.model_dump()})
    assert with_advance(UNDER).owed == Money.of("31.05", "HKD")
    assert with_advance(OVER).owed == Money.of("0.00", "HKD")


@pytest.mark.parametrize(("advance", "owed", "recover"), [(UNDER, "31.05", None), (OVER, "0.00", "108.95")])
def test_xero_bill_owes_the_claim_less_the_advance_and_the_unused_part_is_a_receivable(advance, owed, recover):
    [bill] = validated(build_bill(with_advance(advance), XeroConfig(tenant_id="t")))["Invoices"]
    extra = [(li["AccountCode"], li["UnitAmount"]) for li in bill["LineItems"] if li["AccountCode"] in ("1250", "1260")]
    assert extra == [("1250", -Decimal(advance))] + ([("1260", Decimal(recover))] if recover else [])
    assert sum(li["UnitAmount"] for li in bill["LineItems"]) == Decimal(owed)
    assert bill["CurrencyCode"] == "HKD"
    # bill_currency="original" cannot carry an HKD advance: the bill stays in HKD
    [hkd] = validated(build_bill(with_advance(advance), XeroConfig(tenant_id="t", bill_currency="original")))[
        "Invoices"]
    assert hkd["CurrencyCode"] == "HKD"


@pytest.mark.parametrize(("advance", "expected"), [
    (UNDER, [("2150", Decimal("-31.05")), ("1250", Decimal("-60.00"))]),
    (OVER, [("1250", Decimal("-200.00")), ("1260", Decimal("108.95"))])])
def test_xero_manual_journal_credits_the_advance_and_what_is_still_owed(advance, expected):
    [journal] = validated(build_manual_journal(with_advance(advance), XeroConfig(
        tenant_id="t", mode="manual_journal")))["ManualJournals"]
    lines = journal["JournalLines"]
    assert [(li["AccountCode"], li["LineAmount"]) for li in lines[5:]] == expected
    assert sum(li["LineAmount"] for li in lines) == 0


@pytest.mark.parametrize("advance", [UNDER, OVER])
def test_xero_fake_books_both_bills_and_journals(advance, clock, sleeper):
    for mode in ("bill", "manual_journal"):
        fake = xero_fake.FakeXero()
        store = MemoryTokenStore(TokenSet(access_token="access-0", refresh_token="refresh-0",
                                         expires_at=NOW.replace(year=2030)))
        xero = XeroLedger.connect(XeroConfig(tenant_id=xero_fake.TENANT_ID, mode=mode), fake.session(),
                                  xero_fake.CLIENT_ID, xero_fake.CLIENT_SECRET, store,
                                  policy=RetryPolicy(max_attempts=3), sleep=sleeper, clock=clock)
        assert xero.books_advances and xero.post(with_advance(advance)).id


def test_the_xero_fake_refuses_a_negative_bill(clock, sleeper):
    fake = xero_fake.FakeXero()
    store = MemoryTokenStore(TokenSet(access_token="access-0", refresh_token="refresh-0",
                                      expires_at=NOW.replace(year=2030)))
    xero = XeroLedger.connect(XeroConfig(tenant_id=xero_fake.TENANT_ID), fake.session(), xero_fake.CLIENT_ID,
                              xero_fake.CLIENT_SECRET, store, policy=RetryPolicy(max_attempts=3), sleep=sleeper,
                              clock=clock)
    broken = with_advance(OVER).model_copy(update={"advance": with_advance(OVER).advance.model_copy(
        update={"recover_from_employee": Money.of("0.00", "HKD")})})  # unchecked: the fake must catch it
    with pytest.raises(PostingRejected, match="must not be negative"):
        xero.post(broken)


@pytest.mark.parametrize(("advance", "owed"), [(UNDER, "31.05"), (OVER, "0.00")])
def test_quickbooks_bill_carries_the_advance_lines_and_the_fake_books_it(advance, owed, clock, sleeper):
    config = qbo_config(advances_account="125", employee_receivable_account="126")
    bill = validated_bill(with_advance(advance), config)
    assert sum(li["Amount"] for li in bill["Line"]) == Decimal(owed)
    assert bill["Line"][5]["AccountBasedExpenseLineDetail"]["AccountRef"] == {"value": "125"}
    fake = qbo_fake.FakeQuickBooks()
    store = MemoryTokenStore(TokenSet(access_token="qbo-access-0", refresh_token="qbo-refresh-0",
                                      expires_at=NOW.replace(year=2030)))
    qbo = QuickBooksLedger.connect(config, fake.session(), qbo_fake.CLIENT_ID, qbo_fake.CLIENT_SECRET, store,
                                   policy=RetryPolicy(max_attempts=3), sleep=sleeper, clock=clock)
    document = qbo.post(with_advance(advance))
    assert fake.bills[document.id]["TotalAmt"] == Decimal(owed)


def test_quickbooks_refuses_an_advance_when_finance_mapped_no_account():
    with pytest.raises(PostingRejected, match="advances account is not mapped"):
        validated_bill(with_advance(UNDER), qbo_config())
    with pytest.raises(PostingRejected, match="employee receivable account is not mapped"):
        validated_bill(with_advance(OVER), qbo_config(advances_account="125"))


@pytest.mark.parametrize(("advance", "applied"), [(UNDER, "60.00"), (OVER, "91.05")])
def test_netsuite_expense_report_applies_the_advance_used_and_the_fake_books_it(advance, applied, clock, sleeper):
    report = netsuite_validated(with_advance(advance), ns_config())
    assert report["advance"] == Decimal(applied)
    assert ("108.95 unused" in report["memo"]) == (advance == OVER)
    fake = ns_fake.FakeNetSuite()
    netsuite = NetSuiteLedger.connect(ns_config(), fake.session(), ns_fake.CLIENT_ID, ns_fake.CERTIFICATE_ID,
                                      ns_fake.private_key_pem(), policy=RetryPolicy(max_attempts=3), sleep=sleeper,
                                      clock=clock)
    netsuite.post(with_advance(advance))
    [stored] = fake.stored("c-7f3a")
    assert Decimal(str(stored["advance"])) == Decimal(applied)


def test_netsuite_vendor_bill_carries_advance_lines_or_is_refused_unmapped(clock, sleeper):
    config = ns_config(record_type="vendorBill", advances_account="125", employee_receivable_account="126")
    bill = netsuite_validated(with_advance(OVER), config)
    assert sum(item["amount"] for item in bill["expense"]["items"]) == Decimal("0.00")
    assert [item["account"]["id"] for item in bill["expense"]["items"][-2:]] == ["125", "126"]
    fake = ns_fake.FakeNetSuite()
    netsuite = NetSuiteLedger.connect(config, fake.session(), ns_fake.CLIENT_ID, ns_fake.CERTIFICATE_ID,
                                      ns_fake.private_key_pem(), policy=RetryPolicy(max_attempts=3), sleep=sleeper,
                                      clock=clock)
    assert netsuite.post(with_advance(UNDER)).id
    with pytest.raises(PostingRejected, match="must be mapped"):
        netsuite_validated(with_advance(UNDER), ns_config(record_type="vendorBill"))


@pytest.mark.parametrize(("advance", "expected"), [
    (UNDER, [("224101", "creditOrg", Decimal("31.05")), ("122101", "creditOrg", Decimal("60.00"))]),
    (OVER, [("122101", "creditOrg", Decimal("200.00")), ("122102", "debitOrg", Decimal("108.95"))])])
def test_yonyou_voucher_offsets_the_advance_and_balances_and_the_fake_books_it(advance, expected, clock, sleeper):
    config = yy_config(advances_account="122101", employee_receivable_account="122102")
    voucher = yonyou_validated(with_advance(advance), config)
    tail = [(b["accsubjectCode"], side, b[side]) for b in voucher["bodies"][5:]
            for side in ("debitOrg", "creditOrg") if side in b]
    assert tail == expected
    debit = sum(b.get("debitOrg", Decimal(0)) for b in voucher["bodies"])
    assert debit == sum(b.get("creditOrg", Decimal(0)) for b in voucher["bodies"])
    fake = yy_fake.FakeYonyou()
    yonyou = YonyouLedger.connect(config, fake.session(), yy_fake.APP_KEY, yy_fake.APP_SECRET,
                                  policy=RetryPolicy(max_attempts=3), sleep=sleeper, clock=clock)
    assert yonyou.post(with_advance(advance)).id and len(fake.stored("c-7f3a")) == 1
    with pytest.raises(PostingRejected, match="advances account"):
        yonyou_validated(with_advance(advance), yy_config())
