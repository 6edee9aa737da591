"""The NetSuite expense report and vendor bill built from a Posting and checked against the REST API Browser
definitions (schemas/netsuite_record_v1_components.json) before any request."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import dumps
from chalicelib.adapters.ledgers.netsuite import (
    NetSuiteConfig,
    account_host,
    build_netsuite,
    external_id,
    validated,
)
from chalicelib.adapters.ledgers.port import PostingRejected
from tests.ledger_fakes.netsuite import ACCOUNT_ID, CERTIFICATE_ID, CLIENT_ID, FakeNetSuite, private_key_pem
from tests.unit.adapters.test_xero import make_posting


def config(**changes) -> NetSuiteConfig:
    fields = dict(account_id=ACCOUNT_ID, subsidiary_id="3", employee_ids={"E201": "1201"}, vendor_ids={"E201": "2201"},
                  expense_categories={"meals": "5", "taxi": "6"},
                  expense_accounts={"meals": "611", "taxi": "613", "travel": "612"}, default_account="619",
                  rounding_account="695", department_ids={"CC-100": "11", "CC-200": "12"},
                  currency_ids={"HKD": "1", "USD": "2", "JPY": "3", "CNY": "4", "KWD": "5", "EUR": "6"})
    fields.update(changes)
    return NetSuiteConfig(**fields)


def test_the_expense_report_has_categories_currencies_rates_departments_and_the_rounding_line():
    body = validated(make_posting(), config())
    assert (body["entity"], body["subsidiary"], body["department"], body["tranDate"], body["memo"]) == (
        {"id": "1201"}, {"id": "3"}, {"id": "11"}, "2026-11-30", "Expense claim c-7f3a")
    assert (body["expensereportcurrency"], body["expensereportexchangerate"]) == ({"id": "1"}, Decimal(1))
    assert body["usemulticurrency"] is True
    items = body["expense"]["items"]
    first = items[0]
    assert (first["category"], first["amount"], first["currency"], first["foreignamount"], first["exchangerate"],
            first["department"], first["expensedate"]) == (
        {"id": "5"}, Decimal("1.02"), {"id": "2"}, Decimal("0.13"), Decimal("7.8155"), {"id": "11"}, "2026-11-27")
    assert items[3]["expenseaccount"] == {"id": "612"} and "category" not in items[3]  # travel: no category mapped
    assert items[3]["department"] == {"id": "12"}
    assert (items[-1]["expenseaccount"], items[-1]["amount"]) == ({"id": "695"}, Decimal("-0.01"))
    assert sum(i["amount"] for i in items) == Decimal("91.05")
    text = dumps(body)
    assert '"amount":1.02' in text and '"exchangerate":7.8155' in text  # numbers, digit for digit
    assert "Chan" not in text  # the employee is referenced by internal id


def test_the_vendor_bill_has_expense_lines_on_accounts_with_departments():
    body = validated(make_posting(), config(record_type="vendorBill"))
    assert (body["entity"], body["tranId"], body["dueDate"], body["currency"], body["exchangeRate"]) == (
        {"id": "2201"}, "c-7f3a", "2026-12-14", {"id": "1"}, Decimal(1))
    assert [(i["account"]["id"], i["amount"], i.get("department")) for i in body["expense"]["items"]] == [
        ("611", Decimal("1.02"), {"id": "11"}), ("611", Decimal("1.02"), {"id": "11"}),
        ("613", Decimal("1.02"), {"id": "11"}), ("612", Decimal("88.00"), {"id": "12"}),
        ("695", Decimal("-0.01"), {"id": "11"})]


def test_unmapped_employee_currency_or_cost_centre_is_refused_with_a_reason_finance_can_act_on():
    with pytest.raises(PostingRejected, match="employee E201 has no NetSuite employee record"):
        validated(make_posting(), config(employee_ids={}))
    with pytest.raises(PostingRejected, match="currency USD has no NetSuite currency record"):
        validated(make_posting(), config(currency_ids={"HKD": "1"}))
    with pytest.raises(PostingRejected, match="cost centre CC-200 has no NetSuite department"):
        validated(make_posting(), config(department_ids={"CC-100": "11"}))


def test_unknown_and_read_only_properties_are_refused_by_the_schema():
    schemas = openapi.load("netsuite_record_v1")
    body = validated(make_posting(), config())
    body["expense"]["items"][0]["ammount"] = Decimal(1)
    body["total"] = Decimal("91.05")  # readOnly: NetSuite computes it
    body["tranDate"] = "30/11/2026"
    errors = schemas.errors("expenseReport", body)
    assert any("'total' was unexpected" in e for e in errors)
    assert any(e.startswith("expense/items/0: ") and "'ammount' was unexpected" in e for e in errors)
    assert any(e.startswith("tranDate: '30/11/2026' does not match") for e in errors)


def test_the_schema_names_its_source_and_date_and_is_self_contained():
    document = json.loads((openapi.SCHEMA_DIR / "netsuite_record_v1_components.json").read_text())
    assert "docs.oracle.com" in document["$comment"] and "2026-12-02" in document["$comment"]
    assert document["source"]["url"].startswith("https://system.netsuite.com/help/helpcenter/")
    found: set[str] = set()
    openapi._refs(document, found)
    assert found <= set(document["components"]["schemas"])


def test_external_ids_use_only_the_characters_netsuite_allows():
    assert external_id("c-7f3a") == "c-7f3a"
    odd = external_id("claim:2026.11")
    assert odd.startswith("EC") and len(odd) == 42 and odd == external_id("claim:2026.11")
    assert account_host("1234567_SB1") == "1234567-sb1"


def test_the_adapter_is_exposed_by_name_for_the_factory():
    adapter = build_netsuite(config(), FakeNetSuite().session(), CLIENT_ID, CERTIFICATE_ID, private_key_pem())
    assert adapter.name == "netsuite"
    assert adapter.config.record_url() == "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1"


def test_an_hkd_only_claim_does_not_ask_for_multicurrency():
    from chalicelib.domain.ledger_mapping import Posting
    from chalicelib.domain.money import Money
    from tests.unit.adapters.test_xero import line

    posting = Posting(external_id="c-hkd", employee_id="E201", employee_name="x", cost_centre=None,
                      entry_date=make_posting().entry_date, description="d",
                      lines=[line("e-1", "88.00", "88.00", currency="HKD", cost_centre=None)],
                      rounding=Money.of("0", "HKD"), total=Money.of("88.00", "HKD"))
    body = validated(posting, config())
    assert "usemulticurrency" not in body and "department" not in body
    assert body["expense"]["items"] == [{"amount": Decimal("88.00"), "currency": {"id": "1"},
                                         "foreignamount": Decimal("88.00"), "exchangerate": Decimal("1"),
                                         "expensedate": "2026-11-27", "memo": "meals e-1", "category": {"id": "5"}}]
