"""Hong Kong profits tax tags: rules as data, first match decides, the rule travels with the posting into every
ledger's payload and the journal CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.netsuite import NetSuiteConfig
from chalicelib.adapters.ledgers.netsuite import validated as netsuite_validated
from chalicelib.adapters.ledgers.quickbooks import QuickBooksConfig, validated_bill
from chalicelib.adapters.ledgers.xero import XeroConfig, build_bill, build_manual_journal
from chalicelib.adapters.ledgers.xero import validated as xero_validated
from chalicelib.adapters.ledgers.yonyou import YonyouConfig
from chalicelib.adapters.ledgers.yonyou import validated as yonyou_validated
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import ExpenseKind
from chalicelib.domain.fx_rates import RateBook
from chalicelib.domain.ledger_mapping import posting_for
from chalicelib.domain.ledger_tax import PROFITS_TAX_RULES, ProfitsTaxRule, profits_tax_tag
from chalicelib.domain.money import Money
from chalicelib.domain.posting_record import JOURNAL_CSV_HEADER, journal_csv, journal_rows
from tests.builders import receipt
from tests.ledger_fakes.netsuite import ACCOUNT_ID
from tests.ledger_fakes.yonyou import ACCBOOK, GATEWAY, TOKEN_URL, VOUCHER_TYPE


@pytest.mark.parametrize(("category", "kind", "description", "deductible", "rule"), [
    ("entertainment", "receipt", "Dinner with client ABC Ltd re renewal", True, "s16-1-client-entertainment"),
    ("entertainment", "receipt", "款待客戶 晚飯", True, "s16-1-client-entertainment"),
    ("entertainment", "receipt", "Team drinks after work", False, "s17-1b-staff-entertainment"),
    ("entertainment", "receipt", "", False, "s17-1b-staff-entertainment"),
    ("entertainment", "receipt", "Client dinner, then my family's birthday cake", False, "s17-1a-private"),
    ("meals", "receipt", "Lunch at the Shenzhen site visit", True, "s16-1-business"),
    ("meals", "receipt", "Personal lunch", False, "s17-1a-private"),
    ("general", "receipt", "Groceries for home 家用", False, "s17-1a-private"),
    ("taxi", "receipt", "Taxi home to office", False, "s17-1a-commute"),
    ("taxi", "receipt", "返工 的士", False, "s17-1a-commute"),
    ("taxi", "receipt", "Taxi to client in Kwun Tong", True, "s16-1-business"),
    ("travel", "mileage", "Site visit Tuen Mun", True, "s16-1-business"),
    ("travel", "per_diem", "Shanghai trade fair", True, "s16-1-business"),
])
def test_each_expense_is_tagged_by_the_first_rule_that_matches(category, kind, description, deductible, rule):
    tag = profits_tax_tag(category, kind, description)
    assert (tag.deductible, tag.rule_id) == (deductible, rule)
    assert tag.section == ("IRO s.16(1)" if deductible else tag.section)
    assert tag.section.startswith("IRO s.17(1)") != deductible


def test_english_words_match_whole_words_only():
    assert profits_tax_tag("entertainment", "receipt", "Partnership event").deductible is False
    assert profits_tax_tag("meals", "receipt", "Personalised cake for the client launch").deductible is True


def test_the_rules_are_data_a_company_may_replace():
    strict = (ProfitsTaxRule(rule_id="all-entertainment-out", categories=("entertainment",), deductible=False,
                             section="IRO s.17(1)(b)", wording="company rule"), *PROFITS_TAX_RULES)
    assert profits_tax_tag("entertainment", "receipt", "client dinner", strict).rule_id == "all-entertainment-out"
    with pytest.raises(LookupError, match="catch-all"):
        profits_tax_tag("meals", "receipt", "x", PROFITS_TAX_RULES[:2])


LOADED = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def tagged_posting():
    claim = Claim(claim_id="c-tax", employee_id="E201", department_id="D1", status=ClaimStatus.APPROVED,
                  cost_centre="CC-100", expenses=[
                      receipt("e-1", category="entertainment", description="Dinner with client ABC Ltd",
                              total=Money.of("800.00", "HKD")),
                      receipt("e-2", category="entertainment", description="Team drinks",
                              total=Money.of("300.00", "HKD")),
                      receipt("e-3", category="taxi", description="taxi home to office",
                              total=Money.of("60.00", "HKD"), kind=ExpenseKind.RECEIPT)])
    return posting_for(claim, "Chan Tai Man", RateBook([]), date(2026, 11, 30))


def test_the_posting_and_the_journal_csv_carry_each_expenses_tag_and_rule():
    posting = tagged_posting()
    assert [(li.expense_id, li.profits_tax.deductible) for li in posting.lines] == [
        ("e-1", True), ("e-2", False), ("e-3", False)]
    table = list(csv.reader(io.StringIO(journal_csv(journal_rows(posting, "JE-c-tax")))))
    assert tuple(table[0]) == JOURNAL_CSV_HEADER
    tax, rule = JOURNAL_CSV_HEADER.index("profits_tax"), JOURNAL_CSV_HEADER.index("tax_rule")
    assert [(row[tax], row[rule]) for row in table[1:]] == [
        ("deductible", "s16-1-client-entertainment IRO s.16(1)"),
        ("non_deductible", "s17-1b-staff-entertainment IRO s.17(1)(b)"),
        ("non_deductible", "s17-1a-commute IRO s.17(1)(a)"),
        ("", "")]  # the employee's credit line is no expense


def test_xero_tags_lines_with_a_tracking_category_or_in_their_words():
    posting = tagged_posting()
    [bill] = xero_validated(build_bill(posting, XeroConfig(tenant_id="t", profits_tax_tracking="Profits Tax")))[
        "Invoices"]
    assert [li["Tracking"] for li in bill["LineItems"]][:2] == [
        [{"Name": "Cost Centre", "Option": "CC-100"}, {"Name": "Profits Tax", "Option": "Deductible"}],
        [{"Name": "Cost Centre", "Option": "CC-100"}, {"Name": "Profits Tax", "Option": "Non-deductible"}]]
    [journal] = xero_validated(build_manual_journal(posting, XeroConfig(tenant_id="t", mode="manual_journal")))[
        "ManualJournals"]
    assert journal["JournalLines"][1]["Description"].endswith(
        "[profits tax: Non-deductible (IRO s.17(1)(b))]")


def test_quickbooks_uses_a_class_when_classes_do_not_hold_cost_centres():
    config = QuickBooksConfig(realm_id="1", expense_accounts={}, default_account="61", rounding_account="62",
                              vendor_ids={"E201": "71"}, cost_centres_as="department",
                              profits_tax_class_ids={"deductible": "501", "non_deductible": "502"})
    bill = validated_bill(tagged_posting(), config)
    assert [li["AccountBasedExpenseLineDetail"]["ClassRef"]["value"] for li in bill["Line"]] == ["501", "502", "502"]
    by_words = validated_bill(tagged_posting(), config.model_copy(update={"cost_centres_as": "none"}))
    assert "ClassRef" in by_words["Line"][0]["AccountBasedExpenseLineDetail"]
    no_class = validated_bill(tagged_posting(), config.model_copy(update={"profits_tax_class_ids": {}}))
    assert no_class["Line"][2]["Description"].endswith("[profits tax: Non-deductible (IRO s.17(1)(a))]")


def test_netsuite_lines_carry_a_class_and_yonyou_an_auxiliary_item():
    ns = NetSuiteConfig(account_id=ACCOUNT_ID, employee_ids={"E201": "1201"}, default_account="619",
                        rounding_account="695", profits_tax_class_ids={"deductible": "7", "non_deductible": "8"})
    report = netsuite_validated(tagged_posting(), ns)
    assert [item["class"] for item in report["expense"]["items"]] == [{"id": "7"}, {"id": "8"}, {"id": "8"}]
    yy = YonyouConfig(gateway_url=GATEWAY, token_url=TOKEN_URL, accbook_code=ACCBOOK, voucher_type_code=VOUCHER_TYPE,
                      maker_mobile="85291234567", default_account="660299", payable_account="224101",
                      rounding_account="660301", profits_tax_aux_code="0009")
    voucher = yonyou_validated(tagged_posting(), yy)
    assert [b.get("clientAuxiliaryList") for b in voucher["bodies"]][:2] == [
        [{"filedCode": "0009", "valueCode": "01"}], [{"filedCode": "0009", "valueCode": "02"}]]
    plain = yonyou_validated(tagged_posting(), yy.model_copy(update={"profits_tax_aux_code": None}))
    assert plain["bodies"][0]["description"].endswith("[profits tax: Deductible (IRO s.16(1))]")
    assert sum(b.get("debitOrg", Decimal(0)) for b in voucher["bodies"]) == Decimal("1160.00")
