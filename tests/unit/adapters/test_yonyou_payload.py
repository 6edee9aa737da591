"""The Yonyou 记账凭证 built from a Posting and checked against the published addVoucher definition
(schemas/yonyou_voucher_components.json) before any request."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import dumps
from chalicelib.adapters.ledgers.port import PostingRejected
from chalicelib.adapters.ledgers.yonyou import (
    YonyouAppAuth,
    YonyouConfig,
    build_yonyou,
    business_id,
    validated,
)
from tests.ledger_fakes.yonyou import ACCBOOK, APP_KEY, APP_SECRET, GATEWAY, TOKEN_URL, VOUCHER_TYPE, FakeYonyou
from tests.unit.adapters.test_xero import make_posting


def config(**changes) -> YonyouConfig:
    fields = dict(gateway_url=GATEWAY, token_url=TOKEN_URL, accbook_code=ACCBOOK, voucher_type_code=VOUCHER_TYPE,
                  maker_mobile="85291234567",
                  expense_accounts={"meals": "660201", "taxi": "660203", "travel": "660204"},
                  default_account="660299", payable_account="224101", rounding_account="660301",
                  department_codes={"CC-100": "D100", "CC-200": "D200"})
    fields.update(changes)
    return YonyouConfig(**fields)


def test_the_voucher_debits_each_expense_in_its_currency_and_credits_the_employee_and_balances_in_hkd():
    body = validated(make_posting(), config(), attachments=2)
    assert (body["accbookCode"], body["voucherTypeCode"], body["period"], body["makeTime"], body["attachedBill"]) == (
        "HK001", "1", "2026-11", "2026-11-30", 2)
    assert (body["description"], body["externalSourceDataId"], body["businessId"]) == (
        "Expense claim c-7f3a", "c-7f3a", business_id("c-7f3a"))
    first, *_, rounding, payable = body["bodies"]
    assert (first["accsubjectCode"], first["currencyCode"], first["rateOrg"], first["rateOrgOps"],
            first["debitOriginal"], first["debitOrg"], first["busidate"]) == (
        "660201", "USD", Decimal("7.8155"), 1, Decimal("0.13"), Decimal("1.02"), "2026-11-27")
    assert first["clientAuxiliaryList"] == [{"filedCode": "0001", "valueCode": "D100"}]
    assert body["bodies"][3]["clientAuxiliaryList"] == [{"filedCode": "0001", "valueCode": "D200"}]
    assert (rounding["accsubjectCode"], rounding["creditOrg"], rounding["creditOriginal"]) == (
        "660301", Decimal("0.01"), Decimal("0.01"))  # a negative rounding is a credit, never a negative debit
    assert (payable["accsubjectCode"], payable["creditOrg"], payable["currencyCode"]) == (
        "224101", Decimal("91.05"), "HKD")
    debit = sum(b.get("debitOrg", Decimal(0)) for b in body["bodies"])
    credit = sum(b.get("creditOrg", Decimal(0)) for b in body["bodies"])
    assert debit == credit == Decimal("91.06")
    text = dumps(body)
    assert '"debitOrg":1.02' in text and '"rateOrg":7.8155' in text
    assert "Chan" not in text  # the employee appears by id only


def test_the_employee_can_be_an_auxiliary_item_of_the_payable_line():
    body = validated(make_posting(), config(employee_aux_code="0002", employee_codes={"E201": "P0201"}))
    assert body["bodies"][-1]["clientAuxiliaryList"] == [{"filedCode": "0001", "valueCode": "D100"},
                                                          {"filedCode": "0002", "valueCode": "P0201"}]
    with pytest.raises(PostingRejected, match="employee E201 has no Yonyou person code"):
        validated(make_posting(), config(employee_aux_code="0002"))


def test_an_unmapped_cost_centre_is_refused_with_a_reason():
    with pytest.raises(PostingRejected, match="cost centre CC-200 has no Yonyou department code"):
        validated(make_posting(), config(department_codes={"CC-100": "D100"}))


def test_a_maker_is_required_by_the_configuration():
    with pytest.raises(ValueError, match="制单人手机号和邮箱不能同时为空"):
        config(maker_mobile=None)


def test_the_schema_enforces_the_documented_rules():
    schemas = openapi.load("yonyou_voucher")
    body = validated(make_posting(), config())
    line = body["bodies"][0]
    line["creditOriginal"], line["creditOrg"] = Decimal("0.13"), Decimal("1.02")  # 借贷不能同时填写
    del body["bodies"][1]["debitOrg"]  # 原币本币都要填写
    body["bodies"][2]["accsubjectCod"] = "x"
    del body["makerMobile"]  # 制单人手机号和邮箱不能同时为空
    errors = schemas.errors("addVoucher", body)
    assert any(e.startswith("bodies/0: {'description': 'meals e-1'") for e in errors)  # both sides: not valid
    assert any(e == "bodies/1: 'debitOrg' is a dependency of 'debitOriginal'" for e in errors)
    assert any("'accsubjectCod' was unexpected" in e for e in errors)
    assert any(e.startswith("(body): {'businessId'") for e in errors)  # no maker: valid under neither anyOf
    one_line = {"accbookCode": "A", "voucherTypeCode": "1", "makerEmail": "f@x",
                "bodies": [{"description": "x", "accsubjectCode": "1"}]}
    assert schemas.errors("addVoucher", one_line) == [
        "bodies: [{'description': 'x', 'accsubjectCode': '1'}] is too short"]  # 凭证分录行数应该大于等于2行


def test_the_schema_names_its_source_and_date_and_is_self_contained():
    document = json.loads((openapi.SCHEMA_DIR / "yonyou_voucher_components.json").read_text())
    assert "open.yonyoucloud.com" in document["$comment"] and "2026-12-02" in document["$comment"]
    assert "d4377b6fda764980866860ac4b63b092" in document["source"]["url"]
    found: set[str] = set()
    openapi._refs(document, found)
    assert found <= set(document["components"]["schemas"])


def test_the_signature_is_base64_hmac_sha256_of_the_sorted_parameters():
    auth = YonyouAppAuth(FakeYonyou().session(), TOKEN_URL, "41832a3d2df94989b500da6a22268747", "secret")
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"secret", b"appKey41832a3d2df94989b500da6a22268747timestamp1568098531823",
                                         hashlib.sha256).digest()).decode()
    assert auth.signature("1568098531823") == expected


def test_business_ids_are_stable_uuids_per_claim():
    assert business_id("c-7f3a") == business_id("c-7f3a") != business_id("c-7f3b")
    assert len(business_id("c-7f3a")) == 36


def test_the_adapter_is_exposed_by_name_for_the_factory():
    adapter = build_yonyou(config(), FakeYonyou().session(), APP_KEY, APP_SECRET)
    assert adapter.name == "yonyou"
