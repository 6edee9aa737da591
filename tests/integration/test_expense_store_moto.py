"""The claim and expense repositories on moto: the DynamoDB transaction moves expenses with their claim, so an
expense is never in two claims, a removed receipt is unattached again, and the index names the holding claim."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib import bootstrap
from chalicelib.domain.claim import Claim
from chalicelib.domain.errors import AlreadyExists, ConcurrentChange
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from tests.builders import receipt


@pytest.fixture
def stores(stack):
    c = bootstrap.container()
    return c.claims, c.expenses


def _draft(claim_id: str) -> Claim:
    return Claim(claim_id=claim_id, employee_id="E201", department_id="HK-SALES", title=claim_id)


def test_an_unattached_expense_joins_one_claim_only(stores):
    claims, expenses = stores
    expense = receipt("e-1", "E201", file_sha256=hashlib.sha256(b"r").hexdigest())
    expenses.create(expense, SYSTEM)
    with pytest.raises(AlreadyExists):
        expenses.create(expense, SYSTEM)
    assert [e.expense_id for e in expenses.unattached("E201")] == ["e-1"]

    claims.create(_draft("c-a"), SYSTEM)
    claims.create(_draft("c-b"), SYSTEM)
    a, b = claims.get("c-a"), claims.get("c-b")
    claims.save(a, a.moved_to(a.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    with pytest.raises(ConcurrentChange):  # b read the expense unattached too; the transaction refuses it
        claims.save(b, b.moved_to(b.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    assert claims.get("c-b").expenses == [] and expenses.get("e-1") is None
    assert expenses.locate("e-1").claim_id == "c-a" and expenses.unattached("E201") == []
    assert [r.claim_id for r in expenses.by_file_hash(expense.file_sha256)] == ["c-a"]
    assert [r.claim_id for r in expenses.by_dedupe_key(expense.dedupe_key)] == ["c-a"]


def test_an_expense_changed_since_it_was_read_cannot_join(stores):
    claims, expenses = stores
    expense = receipt("e-2", "E201")
    expenses.create(expense, SYSTEM)
    expenses.save(expense, expense.changed(vendor="Maxim's"), SYSTEM, "expense.corrected")
    claims.create(_draft("c-c"), SYSTEM)
    draft = claims.get("c-c")
    with pytest.raises(ConcurrentChange):
        claims.save(draft, draft.moved_to(draft.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    fresh = expenses.get("e-2")
    claims.save(draft, draft.moved_to(draft.status, expenses=[fresh]), SYSTEM, "claim.expense_added")
    assert claims.get("c-c").expenses[0].vendor == "Maxim's"


def test_a_removed_receipt_is_unattached_again_and_a_corrected_one_reindexed(stores):
    claims, expenses = stores
    expense = receipt("e-3", "E201")
    expenses.create(expense, SYSTEM)
    claims.create(_draft("c-d"), SYSTEM)
    draft = claims.get("c-d")
    held = claims.save(draft, draft.moved_to(draft.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    corrected = held.expenses[0].changed(total=Money.of("95.00", "HKD"))
    held = claims.save(held, held.moved_to(held.status, expenses=[corrected]), SYSTEM, "claim.expense_corrected")
    assert [r.claim_id for r in expenses.by_dedupe_key(corrected.dedupe_key)] == ["c-d"]
    assert expenses.by_dedupe_key(expense.dedupe_key) == []
    claims.save(held, held.moved_to(held.status, expenses=[]), SYSTEM, "claim.expense_removed")
    back = expenses.get("e-3")
    assert back is not None and back.total == Money.of("95.00", "HKD") and expenses.locate("e-3").claim_id is None
    assert [e.expense_id for e in expenses.unattached("E201")] == ["e-3"]


def test_a_photo_is_found_by_a_near_hash_through_its_band_indexes_unattached_and_in_a_claim(stores):
    claims, expenses = stores
    expense = receipt("e-photo", "E201", image_hash="c3a5f00f1e2d3c4b")
    expenses.create(expense, SYSTEM)
    assert [r.expense_id for r in expenses.by_image_hash("c3a5f00f1e2d3c4a")] == ["e-photo"]  # 1 bit: shares 3 bands
    assert [r.claim_id for r in expenses.by_image_hash("c3a5ffff1e2d3c4b")] == [None]  # 4 bits, a band differs
    assert expenses.by_image_hash("3c5a0ff0e1d2c3b4") == []  # no band shared
    assert expenses.by_image_hash("c3a5000000000000") == []  # shares a band, too far: confirmed by distance
    claims.create(_draft("c-photo"), SYSTEM)
    draft = claims.get("c-photo")
    claims.save(draft, draft.moved_to(draft.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    assert [r.claim_id for r in expenses.by_image_hash("c3a5f00f1e2d3c4a")] == ["c-photo"]
