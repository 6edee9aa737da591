"""The QuickBooks Online Bill built from a Posting and checked against Intuit's V3 XSDs before any request."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.adapters.ledgers.port import PayloadInvalid, PostingRejected
from chalicelib.adapters.ledgers.quickbooks import QuickBooksConfig, doc_number, validated_bill
from chalicelib.adapters.ledgers.xsd import QBO_XSD, quickbooks_errors, to_xsd_dict
from tests.unit.adapters.test_xero import make_posting


def config(**changes) -> QuickBooksConfig:
    fields = dict(realm_id="9130350000000001", expense_accounts={"meals": "58", "taxi": "59", "travel": "60"},
                  default_account="61", rounding_account="62", ap_account="33", vendor_ids={"E201": "71"},
                  class_ids={"CC-100": "5000000000000012345", "CC-200": "5000000000000012346"})
    fields.update(changes)
    return QuickBooksConfig(**fields)


def test_the_bill_has_account_based_lines_classes_and_the_rounding_line_and_conforms_to_the_xsd():
    bill = validated_bill(make_posting(), config())
    assert (bill["VendorRef"], bill["APAccountRef"], bill["DocNumber"], bill["CurrencyRef"]) == (
        {"value": "71"}, {"value": "33"}, "c-7f3a", {"value": "HKD"})
    assert [(li["Amount"], li["AccountBasedExpenseLineDetail"]["AccountRef"]["value"],
             li["AccountBasedExpenseLineDetail"].get("ClassRef", {}).get("value")) for li in bill["Line"]] == [
        (Decimal("1.02"), "58", "5000000000000012345"), (Decimal("1.02"), "58", "5000000000000012345"),
        (Decimal("1.02"), "59", "5000000000000012345"), (Decimal("88.00"), "60", "5000000000000012346"),
        (Decimal("-0.01"), "62", "5000000000000012345")]
    assert sum(li["Amount"] for li in bill["Line"]) == Decimal("91.05")
    assert "Chan" not in str(bill)  # the vendor is referenced by id


def test_cost_centres_as_departments_and_tax_codes():
    bill = validated_bill(make_posting(), config(cost_centres_as="department", department_ids={"CC-100": "2"},
                                                 tax_code="NON"))
    assert bill["DepartmentRef"] == {"value": "2"} and bill["GlobalTaxCalculation"] == "TaxExcluded"
    assert all("ClassRef" not in li["AccountBasedExpenseLineDetail"] for li in bill["Line"])
    assert {li["AccountBasedExpenseLineDetail"]["TaxCodeRef"]["value"] for li in bill["Line"]} == {"NON"}


def test_a_long_claim_id_becomes_a_stable_21_character_doc_number():
    long_id = "c-" + "ab" * 16
    assert doc_number("c-7f3a") == "c-7f3a"
    assert doc_number(long_id) == doc_number(long_id) and len(doc_number(long_id)) == 21
    assert doc_number(long_id).startswith("EC") and doc_number(long_id) != doc_number(long_id + "0")


def test_an_unmapped_employee_or_cost_centre_is_refused_with_what_finance_must_do():
    with pytest.raises(PostingRejected, match="employee E201 has no QuickBooks vendor record"):
        validated_bill(make_posting(), config(vendor_ids={}))
    with pytest.raises(PostingRejected, match="cost centre CC-200 has no QuickBooks class"):
        validated_bill(make_posting(), config(class_ids={"CC-100": "1"}))


def test_the_xsd_refuses_what_qbo_would():
    bill = validated_bill(make_posting(), config())
    bill["TxnDate"] = "30/11/2026"
    bill["Line"][0]["DetailType"] = "ExpenseLine"
    bill["Line"][1]["Amount"] = "abc"
    bill["Memo"] = "Memo is a Bill element"
    bill["Note"] = "Note is not"
    bill["CurrencyRef"] = {"value": "HKD", "colour": "red"}
    errors = " | ".join(quickbooks_errors("Bill", bill))
    for expected in ("30/11/2026", "ExpenseLine", "'abc'", "Note", "colour"):
        assert expected in errors
    assert "Memo" not in errors


def test_a_payload_breaking_the_xsd_raises_payload_invalid(monkeypatch):
    from chalicelib.adapters.ledgers import quickbooks

    monkeypatch.setattr(quickbooks, "_ref", lambda value: {"value": value, "colour": "red"})
    with pytest.raises(PayloadInvalid, match="quickbooks payload does not match the vendor schema"):
        validated_bill(make_posting(), config())


def test_json_maps_to_the_xsd_form():
    assert to_xsd_dict({"VendorRef": {"value": "71", "name": "x"}, "Amount": Decimal("1.50"), "Active": True,
                        "Line": [{"LineNum": 1}]}) == {
        "VendorRef": {"$": "71", "@name": "x"}, "Amount": "1.50", "Active": "true", "Line": [{"LineNum": "1"}]}
    with pytest.raises(TypeError):
        to_xsd_dict({"Amount": 1.5})


SHARED_XSD = Path(__file__).resolve().parents[3].parent / "shared/realdata/schemas/quickbooks_v3_xsd"


@pytest.mark.skipif(not SHARED_XSD.exists(), reason="the published QuickBooks XSDs are not beside the repository")
def test_the_committed_xsds_are_the_published_ones():
    published = {p.name: p.read_bytes() for p in SHARED_XSD.glob("*.xsd")}
    assert {p.name: p.read_bytes() for p in QBO_XSD.parent.glob("*.xsd")} == published
