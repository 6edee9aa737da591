"""People's use cases on a claim (services/claims.py): who reads and lists what, what may be corrected and how
it is audited, and what a submission must contain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.claim import ClaimStatus, InvalidClaim, LineItem
from chalicelib.domain.identity import SYSTEM, Forbidden
from chalicelib.domain.money import Money
from chalicelib.services.claims import ClaimEdits, NotFound, edit_claim, get_claim, list_claims, submit_claim
from tests.fakes import bootstrap_fakes
from tests.unit.services.support import hkt, principal, put_claim


@pytest.fixture
def app():
    return bootstrap_fakes()


@pytest.fixture
def org_claims(app):
    """c-1 by E201 and c-2 by E202 (HK Sales, c-2 newer), c-3 by E121 (SZ Operations)."""
    put_claim(app, "c-1", "E201")
    app.clock.advance(minutes=5)
    put_claim(app, "c-2", "E202")
    put_claim(app, "c-3", "E121")
    return app


def _ids(claims):
    return [c.claim_id for c in claims]


# --- reading and listing --------------------------------------------------------------------------------------


def test_an_employee_lists_only_their_own_claims_whatever_department_they_ask_for(org_claims):
    app = org_claims
    me = principal(app, "E201")
    assert _ids(list_claims(me, app.claims)) == ["c-1"]
    assert _ids(list_claims(me, app.claims, department_id="SZ-OPS")) == ["c-1"]


@pytest.mark.parametrize(("who", "expected"), [("E200", ["c-2", "c-1"]), ("E300", ["c-2", "c-1"]),
                                               ("E121", ["c-3"])])
def test_finance_and_approvers_list_their_own_department_newest_first(org_claims, who, expected):
    app = org_claims
    assert _ids(list_claims(principal(app, who), app.claims)) == expected
    own = app.directory.employee(who).department_id
    assert _ids(list_claims(principal(app, who), app.claims, department_id=own)) == expected


@pytest.mark.parametrize("who", ["E200", "E300", "E121"])
def test_finance_and_approvers_asking_for_another_department_are_forbidden(org_claims, who):
    app = org_claims
    other = "SZ-OPS" if who != "E121" else "HK-SALES"
    with pytest.raises(Forbidden):
        list_claims(principal(app, who), app.claims, department_id=other)


@pytest.mark.parametrize("who", ["E400", "E900"])
def test_auditors_and_admins_list_any_department_and_default_to_their_own(org_claims, who):
    app = org_claims
    p = principal(app, who)
    assert _ids(list_claims(p, app.claims, department_id="HK-SALES")) == ["c-2", "c-1"]
    assert _ids(list_claims(p, app.claims, department_id="SZ-OPS")) == ["c-3"]
    assert list_claims(p, app.claims) == []  # SZ-FIN has none


@pytest.mark.parametrize(("who", "claim_id"), [("E201", "c-1"), ("E200", "c-2"), ("E300", "c-1"),
                                               ("E121", "c-3"), ("E400", "c-1"), ("E900", "c-3")])
def test_who_may_read_a_claim(org_claims, who, claim_id):
    """The claimant; finance and approvers of its department; auditors and admins anywhere."""
    assert get_claim(principal(org_claims, who), org_claims.claims, claim_id).claim_id == claim_id


@pytest.mark.parametrize(("who", "claim_id"), [("E202", "c-1"), ("E121", "c-1"), ("E200", "c-3"),
                                               ("E300", "c-3"), ("E201", "c-3")])
def test_a_claim_one_may_not_read_is_not_found_exactly_like_a_missing_one(org_claims, who, claim_id):
    """A colleague, or finance/approvers of another department, learn nothing: the same NotFound as for a
    claim that does not exist."""
    p = principal(org_claims, who)
    with pytest.raises(NotFound) as refused:
        get_claim(p, org_claims.claims, claim_id)
    with pytest.raises(NotFound) as missing:
        get_claim(p, org_claims.claims, "c-404")
    assert (type(refused.value), str(refused.value)) == (type(missing.value), claim_id)
    assert str(missing.value) == "c-404"


# --- corrections ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["extracted", "needs_review"])
def test_a_correction_is_saved_as_extracted_and_audited_with_before_and_after(app, status):
    put_claim(app, status=status, vendor="TSU1 WAH")
    me = principal(app, "E201", source_ip="198.51.100.9")

    edited = edit_claim(me, app.claims, "c-1", ClaimEdits(vendor="  Tsui Wah 翠華 ", total="1,234.50",
                                                          category="entertainment", purpose="client lunch"))

    stored = app.claims.get("c-1")
    assert stored == edited
    receipt = stored.expenses[0]
    assert (stored.status, receipt.status, receipt.vendor, receipt.total, receipt.category, stored.purpose) == (
        ClaimStatus.DRAFT, "extracted", "Tsui Wah 翠華", Money.of("1234.50", "HKD"), "entertainment",
        "client lunch")
    record = app.audit.records("CLAIM#c-1")[-1]
    assert (record.action, record.actor_id, record.role, record.source_ip) == (
        "claim.corrected", "user-E201", "employee", "198.51.100.9")
    before, after = record.before["expenses"][0], record.after["expenses"][0]
    assert (before["vendor"], after["vendor"]) == ("TSU1 WAH", "Tsui Wah 翠華")
    assert (before["total"]["amount"], after["total"]["amount"]) == ("90.00", "1234.50")


def test_a_returned_claim_stays_returned_when_corrected(app):
    """The claimant corrects what the approver asked for; it goes back to the same step by resubmission."""
    put_claim(app, status=ClaimStatus.RETURNED, return_reason="add the attendees")

    edited = edit_claim(principal(app, "E201"), app.claims, "c-1", ClaimEdits(purpose="lunch with E202"))

    assert edited.status == ClaimStatus.RETURNED and edited.purpose == "lunch with E202"
    assert app.audit.actions("CLAIM#c-1")[-1] == "claim.corrected"


def test_a_currency_correction_applies_to_the_total_and_every_line(app):
    lines = [LineItem(description="Noodles", amount=Money.of("60.00", "HKD"))]
    put_claim(app, line_items=lines)

    edited = edit_claim(principal(app, "E201"), app.claims, "c-1", ClaimEdits(currency="MOP"))

    assert edited.expenses[0].total == Money.of("90.00", "MOP")
    assert [li.amount for li in edited.expenses[0].line_items] == [Money.of("60.00", "MOP")]


def test_an_edit_that_changes_nothing_writes_nothing(app):
    put_claim(app)
    claim = edit_claim(principal(app, "E201"), app.claims, "c-1", ClaimEdits())
    assert claim.version == 0 and app.audit.actions("CLAIM#c-1") == ["claim.created"]


@pytest.mark.parametrize("status", [ClaimStatus.SUBMITTED, ClaimStatus.SCORED,
                                    ClaimStatus.IN_APPROVAL, ClaimStatus.APPROVED, ClaimStatus.POSTED,
                                    ClaimStatus.REJECTED, ClaimStatus.FAILED])
def test_a_claim_outside_the_editable_statuses_cannot_be_changed(app, status):
    put_claim(app, status=status)
    with pytest.raises(InvalidClaim, match=f"the claim is {status.value} and can no longer be changed"):
        edit_claim(principal(app, "E201"), app.claims, "c-1", ClaimEdits(vendor="other"))
    assert app.claims.get("c-1").expenses[0].vendor == "Tsui Wah 翠華"
    assert app.audit.actions("CLAIM#c-1") == ["claim.created"]


@pytest.mark.parametrize("who", ["E202", "E200", "E900"])
def test_only_the_claimant_corrects_a_claim(app, who):
    """Even the department's approver or an admin gets NotFound: correcting is the claimant's alone."""
    put_claim(app)
    with pytest.raises(NotFound):
        edit_claim(principal(app, who), app.claims, "c-1", ClaimEdits(vendor="other"))
    assert app.audit.actions("CLAIM#c-1") == ["claim.created"]


@pytest.mark.parametrize(("edits", "message"), [
    (ClaimEdits(total="0"), "positive"),
    (ClaimEdits(total="-12.00"), "positive"),
    (ClaimEdits(total="nan"), "not an amount"),
    (ClaimEdits(category="gifts"), "unknown category"),
    (ClaimEdits(line_items=[{"description": "refund", "amount": "-5"}]), "must be a positive amount"),
])
def test_invalid_corrections_are_refused_and_nothing_is_saved(app, edits, message):
    put_claim(app)
    with pytest.raises(InvalidClaim, match=message):
        edit_claim(principal(app, "E201"), app.claims, "c-1", edits)
    assert app.claims.get("c-1").version == 0


# --- submission -----------------------------------------------------------------------------------------------


def _submit(app, edits=None, who="E201"):
    return submit_claim(principal(app, who), app.claims, app.directory, "c-1", edits or ClaimEdits(), now=app.clock)


def test_a_complete_claim_is_submitted_with_the_last_edits_and_audited(app):
    put_claim(app, status="needs_review")

    submitted = _submit(app, ClaimEdits(purpose="team lunch", urgent=True))

    stored = app.claims.get("c-1")
    assert (stored.status, stored.submission_count, stored.purpose, stored.urgent) == (
        ClaimStatus.SUBMITTED, 1, "team lunch", True)
    assert stored == submitted
    record = app.audit.records("CLAIM#c-1")[-1]
    assert (record.action, record.actor_id, record.before["status"], record.after["status"]) == (
        "claim.submitted", "user-E201", "draft", "submitted")


def test_a_receipt_dated_today_is_accepted_and_tomorrow_is_refused(app):
    """The future-date check reads the injected clock."""
    app.clock.at = hkt(2026, 11, 20, 15)
    put_claim(app, "c-1", receipt_date=date(2026, 11, 21))
    with pytest.raises(InvalidClaim, match="in the future"):
        _submit(app)
    assert _submit(app, ClaimEdits(receipt_date=date(2026, 11, 20))).status == ClaimStatus.SUBMITTED


def test_a_receipt_dated_today_is_accepted_early_in_the_hong_kong_morning(app):
    app.clock.at = hkt(2026, 11, 20, 7, 30)  # 2026-11-19 23:30 UTC
    put_claim(app, receipt_date=date(2026, 11, 20))
    assert _submit(app).status == ClaimStatus.SUBMITTED


@pytest.mark.parametrize(("stored", "edits", "message"), [
    ({"total": None}, None, "has no total"),
    ({"total": Money.of("0", "HKD")}, None, "must be a positive amount"),
    ({}, ClaimEdits(total="-90"), "must be a positive amount"),
    ({"receipt_date": None}, None, "has no date"),
    ({"receipt_date": date(2026, 11, 11)}, None, "in the future"),
    ({"vendor": None}, None, "has no vendor"),
    ({"vendor": ""}, None, "has no vendor"),
    ({}, ClaimEdits(vendor="   "), "has no vendor"),
    ({"line_items": [LineItem(description="a", amount=Money.of("60", "HKD")),
                     LineItem(description="b", amount=Money.of("40", "HKD"))]}, None, "add up to 100"),
    ({}, ClaimEdits(line_items=[{"description": "a", "amount": "95.00"}]), "more than the total 90.00"),
    ({"line_items": [LineItem(description="a", amount=Money.of("60", "MOP"))]}, None, "must be in HKD"),
])
def test_an_incomplete_or_inconsistent_claim_is_not_submitted(app, stored, edits, message):
    """Clock: 2026-11-10; nothing is saved when the submission is refused."""
    put_claim(app, **stored)
    with pytest.raises(InvalidClaim, match=message):
        _submit(app, edits)
    claim = app.claims.get("c-1")
    assert claim.status == ClaimStatus.DRAFT and claim.version == 0
    assert app.audit.actions("CLAIM#c-1") == ["claim.created"]


def test_line_items_may_fall_short_of_the_total(app):
    """A service charge or rounding: lines under the total are fine."""
    put_claim(app, line_items=[LineItem(description="set lunch", amount=Money.of("81.80", "HKD"))])
    assert _submit(app).expenses[0].line_items[0].amount.amount == Decimal("81.80")


def test_a_returned_claim_is_not_submitted_anew(app):
    put_claim(app, status=ClaimStatus.RETURNED)
    with pytest.raises(InvalidClaim, match="resubmitted to its approver"):
        _submit(app)
    assert app.claims.get("c-1").status == ClaimStatus.RETURNED


def test_only_the_claimant_submits(app):
    put_claim(app)
    with pytest.raises(NotFound):
        _submit(app, who="E200")
    assert app.claims.get("c-1").status == ClaimStatus.DRAFT


def test_a_submitted_claim_cannot_be_submitted_twice(app):
    put_claim(app)
    _submit(app)
    with pytest.raises(InvalidClaim, match="is submitted and can no longer be changed"):
        _submit(app)
    assert app.audit.actions("CLAIM#c-1").count("claim.submitted") == 1


# --- removing expenses from a draft ---------------------------------------------------------------------------


def test_a_receipt_taken_out_of_a_draft_is_unattached_again_and_a_line_without_one_is_dropped(app):
    from chalicelib.services.claims import MileageLine, add_line, remove_expense

    put_claim(app, "c-1", "E201", expense_id="e-lunch")
    who = principal(app, "E201")
    line = MileageLine(kind="mileage", vehicle="private_car", distance_km=Decimal("10"), date=date(2026, 11, 3),
                       description="office -> client")
    mileage = add_line(who, app.claims, app.directory, "c-1", line, now=app.clock).expenses[-1]
    assert app.expenses.locate(mileage.expense_id).claim_id == "c-1"

    remove_expense(who, app.claims, "c-1", mileage.expense_id)
    assert app.expenses.get(mileage.expense_id) is None and app.expenses.locate(mileage.expense_id) is None
    assert app.expenses.unattached("E201") == []
    remove_expense(who, app.claims, "c-1", "e-lunch")
    assert [e.expense_id for e in app.expenses.unattached("E201")] == ["e-lunch"]
    assert app.claims.get("c-1").expenses == []


def test_a_receipt_submitted_alone_and_refused_stays_unattached_with_no_claim_made(app):
    from chalicelib.domain.claim import lone_claim_id
    from chalicelib.services.claims import submit_alone
    from tests.builders import receipt

    app.expenses.create(receipt("e-" + "a" * 32, "E201", created_at=app.clock(), updated_at=app.clock()), SYSTEM)
    who = principal(app, "E201")
    for edits, message in (({"total": "-1"}, "positive"),
                           ({"currency": "THB"}, "no HKD exchange rate is configured for THB")):
        with pytest.raises(InvalidClaim, match=message):
            submit_alone(who, app.claims, app.expenses, app.directory, "e-" + "a" * 32, ClaimEdits(**edits),
                         now=app.clock)
        assert app.claims.get(lone_claim_id("e-" + "a" * 32)) is None
        assert [e.expense_id for e in app.expenses.unattached("E201")] == ["e-" + "a" * 32]
