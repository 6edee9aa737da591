"""Finance's vendor entries on the local stack: stored in the vendors table, merged over the seed, edited over
the API by finance and admins only, and used by the extraction Lambda's directory."""

from __future__ import annotations

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.vendor_store import REFRESH_SECONDS, VendorStore
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.vendors import Vendor

ISE = {"id": "ise-do", "names": {"zh-Hant": "伊勢堂"}, "aliases": ["ISE DO"], "category": "meals",
       "partner_for": ["meals"]}


def test_entries_are_stored_merged_over_the_seed_and_refreshed(stack):
    now = [0.0]
    store = VendorStore(clock=lambda: now[0])
    seed_size = len(store.directory())
    assert store.entries() == []

    stored = store.put(Vendor.model_validate(ISE), "E300", new=True)
    assert stored.source == "finance" and store.get("ise-do") == stored
    with pytest.raises(ConcurrentChange):
        store.put(Vendor.model_validate(ISE), "E300", new=True)
    assert len(store.directory()) == seed_size + 1
    found = store.directory().match(["伊勢堂", "桌號:10"], "伊勢堂")
    assert found is not None and found.vendor.id == "ise-do"

    other = VendorStore(clock=lambda: now[0])  # another container: finance's change is read when it refreshes
    assert other.directory().get("ise-do") is not None
    fairwood = other.directory().get("fairwood").model_copy(update={"partner_for": ("meals",)})
    store.put(fairwood, "E300", new=False)
    assert other.directory().get("fairwood").partner_for == ()  # still its cached directory
    now[0] += REFRESH_SECONDS
    assert other.directory().get("fairwood").partner_for == ("meals",)
    assert other.directory().get("fairwood").source == "finance"


def test_the_api_lets_finance_and_admins_edit_and_auditors_read(driver, stack):
    assert driver.call("POST", "/vendors", ISE, driver.auth("E201"))[0] == 403  # an employee
    status, body = driver.call("POST", "/vendors", {**ISE, "source": "seed"}, driver.auth("E300"))  # finance
    assert (status, body["id"], body["source"]) == (201, "ise-do", "finance"), body
    assert driver.call("POST", "/vendors", ISE, driver.auth("E300"))[0] == 409
    assert driver.call("POST", "/vendors", {**ISE, "id": "x", "category": "groceries"}, driver.auth("E300"))[0] == 400
    assert driver.call("PUT", "/vendors/other-id", ISE, driver.auth("E300"))[0] == 400

    status, body = driver.call("PUT", "/vendors/ise-do", {**ISE, "aliases": ["伊勢堂日本料理"]}, driver.auth("E300"))
    assert (status, body["aliases"]) == (200, ["伊勢堂日本料理"])

    assert driver.call("POST", "/vendors", {**ISE, "id": "x"}, driver.auth("E400"))[0] == 403  # auditors read
    assert driver.call("PUT", "/vendors/fairwood", {"id": "fairwood", "names": {"en": "Fairwood"}, "category": "meals"},
                       driver.auth("E900"))[0] == 200  # an admin
    assert driver.call("GET", "/vendors", None, driver.auth("E400"))[0] == 200
    assert driver.call("GET", "/vendors", None, driver.auth("E201"))[0] == 403
    status, body = driver.call("GET", "/vendors", None, driver.auth("E300"))
    listed = {v["id"]: v for v in body["vendors"]}
    assert status == 200 and listed["ise-do"]["source"] == "finance" and listed["parknshop"]["source"] == "seed"
    c = bootstrap.container()
    assert c.vendors.directory().get("ise-do").aliases == ("伊勢堂日本料理",)
    records = c.audit.records("VENDOR#ise-do")
    assert [r.action for r in records] == ["vendor.added", "vendor.changed"]
    assert records[1].before["aliases"] == ["ISE DO"] and records[1].after["aliases"] == ["伊勢堂日本料理"]
    assert [r.action for r in c.audit.records("VENDOR#fairwood")] == ["vendor.changed"]  # the seed entry it replaced
