"""The committed Xero schema extract is the published spec's, and the fake answers in the spec's shapes."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.adapters.ledgers import openapi
from chalicelib.adapters.ledgers.http import MemoryTokenStore, TokenSet, dumps, loads
from tests.ledger_fakes.xero import API, FakeXero
from tests.unit.adapters.test_xero import NOW, Clock, Sleeper, connect, make_posting

REPO = Path(__file__).resolve().parents[3]
SPEC = Path(os.environ.get("XERO_ACCOUNTING_SPEC", REPO.parent / "shared/realdata/schemas/xero_accounting.yaml"))
ROOTS = ("Invoices", "ManualJournals", "Attachments", "Error")


@pytest.mark.skipif(not SPEC.exists(), reason="the published Xero spec is not beside the repository")
def test_the_committed_extract_equals_the_published_spec():
    committed = json.loads((openapi.SCHEMA_DIR / "xero_accounting_components.json").read_text())
    assert committed == openapi.extract(SPEC, ROOTS)
    assert committed["source"]["version"] == "16.1.0"


def test_the_extract_holds_every_schema_it_references():
    document = json.loads((openapi.SCHEMA_DIR / "xero_accounting_components.json").read_text())
    found: set[str] = set()
    openapi._refs(document, found)
    assert found <= set(document["components"]["schemas"])


def test_the_fakes_answers_match_the_spec_as_responses():
    responses = openapi.load("xero_accounting", requests_only=False)
    fake = FakeXero()
    clock = Clock()
    store = MemoryTokenStore(TokenSet(access_token="access-0", refresh_token="refresh-0",
                                      expires_at=NOW + timedelta(minutes=30)))
    connect(fake, store, clock, Sleeper(clock)).post(make_posting())
    session = fake.session()
    headers = {"Authorization": "Bearer access-0", "xero-tenant-id": fake.seen[0].headers["xero-tenant-id"]}
    found = session.get(f"{API}/Invoices", params={"where": 'InvoiceNumber=="c-7f3a"'}, headers=headers)
    assert responses.errors("Invoices", loads(found.content)) == []
    fake.inject("validation", method="PUT")
    refused = session.put(f"{API}/Invoices", data=dumps({"Invoices": []}), headers=headers)
    assert refused.status_code == 400 and responses.errors("Error", loads(refused.content)) == []


def test_decimals_are_written_as_json_numbers_digit_for_digit_and_floats_refused():
    assert dumps({"a": Decimal("0.10"), "b": [Decimal("-1E+2"), "x", None, True], "d": date(2026, 1, 1).isoformat()}) \
        == '{"a":0.10,"b":[-100,"x",null,true],"d":"2026-01-01"}'
    assert loads('{"a": 0.10}') == {"a": Decimal("0.10")}
    with pytest.raises(TypeError):
        dumps({"a": 0.1})
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
