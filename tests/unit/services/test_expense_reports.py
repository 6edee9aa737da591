"""Expense reports on fakes (#16): a claim bundles expenses; lines without receipts are priced by policy; the
thresholds apply to the claim's HKD total; an expense is in one claim at most; scoring per expense rolls up;
approvers cut single expenses; a claim settles a cash advance in its journal; one-receipt claims stored before
all this are read as one-expense claims and their signatures still verify."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.claim import Claim, ClaimStatus, Decision, InvalidClaim, view_hash
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.services import advances, claims, routing, scoring
from chalicelib.services.approvals import decisions, requests
from chalicelib.services.extraction import named_claim
from tests.builders import receipt
from tests.fakes import FakeApp, bootstrap_fakes
from tests.unit.services.support import principal
from tests.unit.services.test_posting import post_to_journal


@pytest.fixture
def app() -> FakeApp:
    return bootstrap_fakes()


def unattached(app: FakeApp, expense_id: str, employee: str = "E201", **fields) -> str:
    fields.setdefault("file_sha256", hashlib.sha256(expense_id.encode()).hexdigest())
    app.expenses.create(receipt(expense_id, employee, created_at=app.clock(), updated_at=app.clock(), **fields),
                        SYSTEM)
    return expense_id


def report(app: FakeApp, *expense_ids: str, employee: str = "E201", **fields) -> Claim:
    request = claims.NewClaim(title=fields.pop("title", "Shenzhen client visit 深圳客戶拜訪"),
                              expense_ids=list(expense_ids), **fields)
    return claims.create_claim(principal(app, employee), app.claims, app.expenses, app.directory, request,
                               app.advances)


def line(app: FakeApp, claim_id: str, employee: str = "E201", **body) -> Claim:
    return claims.add_line(principal(app, employee), app.claims, app.directory, claim_id,
                           claims.LineRequest.model_validate({"line": body}).line, now=app.clock)


def submit(app: FakeApp, claim_id: str, employee: str = "E201") -> Claim:
    return claims.submit_claim(principal(app, employee), app.claims, app.directory, claim_id, claims.ClaimEdits(),
                               now=app.clock, advances=app.advances)


# ---- lines priced by policy ------------------------------------------------------------------------------------


def test_a_mileage_line_is_distance_times_the_rate_with_the_rate_and_its_source_recorded(app):
    claim = report(app)
    claim = line(app, claim.claim_id, kind="mileage", vehicle="private_car", distance_km="42.5",
                 date="2026-11-05", description="Office -> client, Tuen Mun 屯門")
    [mileage] = claim.expenses
    assert mileage.total == Money.of("148.75", "HKD")  # 42.5 km x HK$3.50
    assert mileage.applied_rate.rate == Money.of("3.50", "HKD") and "sample" in mileage.applied_rate.source
    assert mileage.applied_rate.working == "42.5 km × HKD 3.50/km (private_car)"
    assert mileage.status == "entered" and mileage.s3_key is None
    assert app.audit.actions(app.claims.entity(claim.claim_id))[-1] == "claim.mileage_added"


def test_a_per_diem_line_is_days_times_the_destination_rate_less_meals_provided(app):
    claim = report(app)
    claim = line(app, claim.claim_id, kind="per_diem", destination="CN-SZ", days="2", date="2026-11-05",
                 meals_provided={"breakfast": 2, "dinner": 1})
    [per_diem] = claim.expenses
    # CNY 350 x 2 = 700, less 2 breakfasts at 15% (105) and one dinner at 35% (122.50)
    assert per_diem.total == Money.of("472.50", "CNY")
    assert per_diem.rate_details == {"destination": "CN-SZ", "days": "2", "breakfast_provided": "2",
                                     "dinner_provided": "1"}
    assert "less 2 × breakfast at 15%, 1 × dinner at 35%" in per_diem.applied_rate.working


def test_a_lost_receipt_line_is_allowed_up_to_the_limit_and_flagged(app):
    claim = report(app)
    claim = line(app, claim.claim_id, kind="lost_receipt", vendor="Kowloon taxi", date="2026-11-05",
                 amount="280", category="taxi", reason="the driver's printer was broken")
    [lost] = claim.expenses
    assert lost.kind == "lost_receipt" and lost.review_reasons
    with pytest.raises(InvalidClaim, match="up to HKD 300"):
        line(app, claim.claim_id, kind="lost_receipt", vendor="Hotel", date="2026-11-05", amount="300.01",
             category="general", reason="lost at the airport")
    with pytest.raises(InvalidClaim, match="travel needs a receipt above HKD 200"):
        line(app, claim.claim_id, kind="lost_receipt", vendor="Coach", date="2026-11-05", amount="250",
             category="travel", reason="ticket collected at the gate")
    assert len(app.claims.get(claim.claim_id).expenses) == 1  # nothing refused was added


def test_a_mileage_or_per_diem_amount_cannot_be_typed_over(app):
    claim = line(app, report(app).claim_id, kind="mileage", vehicle="motorcycle", distance_km="10",
                 date="2026-11-05", description="to the warehouse")
    expense_id = claim.expenses[0].expense_id
    with pytest.raises(InvalidClaim, match="comes from the policy's rate"):
        claims.edit_expense(principal(app, "E201"), app.claims, app.expenses, expense_id,
                            claims.ExpenseEdits(total="999"))


# ---- one claim per expense ---------------------------------------------------------------------------------------


def test_an_expense_cannot_be_in_two_claims(app):
    unattached(app, "e-1")
    first = report(app, "e-1")
    with pytest.raises(InvalidClaim, match=f"already in claim {first.claim_id}"):
        report(app, "e-1", title="another")
    second = report(app, title="another")
    with pytest.raises(InvalidClaim, match="already in claim"):
        claims.add_expenses(principal(app, "E201"), app.claims, app.expenses, second.claim_id, ["e-1"])
    assert app.expenses.locate("e-1").claim_id == first.claim_id


def test_two_drafts_racing_for_one_expense_cannot_both_win(app):
    """Both read the expense while it was unattached; the store refuses the second move."""
    unattached(app, "e-1")
    a, b = report(app, title="a"), report(app, title="b")
    expense = app.expenses.get("e-1")
    app.claims.save(a, a.moved_to(a.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    with pytest.raises(ConcurrentChange):
        app.claims.save(b, b.moved_to(b.status, expenses=[expense]), SYSTEM, "claim.expense_added")
    assert app.claims.get(b.claim_id).expenses == []


def test_a_receipt_removed_from_a_draft_is_unattached_again(app):
    unattached(app, "e-1")
    claim = report(app, "e-1")
    claims.remove_expense(principal(app, "E201"), app.claims, claim.claim_id, "e-1")
    assert [e.expense_id for e in claims.unattached_expenses(principal(app, "E201"), app.expenses)] == ["e-1"]
    assert app.expenses.locate("e-1").claim_id is None
    assert report(app, "e-1", title="again").expenses[0].expense_id == "e-1"


def test_someone_elses_unattached_receipt_is_not_found(app):
    unattached(app, "e-1", employee="E202")
    with pytest.raises(claims.NotFound):
        report(app, "e-1")
    with pytest.raises(claims.NotFound):
        claims.get_expense(principal(app, "E201"), app.expenses, app.claims, "e-1")


def test_a_receipt_submitted_on_its_own_twice_is_one_claim(app):
    unattached(app, "e-" + "1" * 32)
    me = principal(app, "E201")
    first = claims.submit_alone(me, app.claims, app.expenses, app.directory, "e-" + "1" * 32, claims.ClaimEdits(),
                                now=app.clock)
    again = claims.submit_alone(me, app.claims, app.expenses, app.directory, "e-" + "1" * 32, claims.ClaimEdits(),
                                now=app.clock)
    assert first.claim_id == again.claim_id == "c-" + "1" * 32 and again.status == ClaimStatus.SUBMITTED
    assert len(app.claims.items) == 1 and first.title == "" and first.headline == "Tsui Wah 翠華"


def test_a_receipt_still_being_read_is_not_submitted_and_stays_unattached(app):
    unattached(app, "e-" + "2" * 32, status="uploaded", vendor=None, total=None)
    with pytest.raises(InvalidClaim, match="still being read"):
        claims.submit_alone(principal(app, "E201"), app.claims, app.expenses, app.directory, "e-" + "2" * 32,
                            claims.ClaimEdits(), now=app.clock)
    assert app.claims.items == {} and app.expenses.locate("e-" + "2" * 32).claim_id is None


def test_an_email_subject_names_the_draft_by_its_title(app):
    trip = report(app, title="Shenzhen trip 深圳")
    other = report(app, title="Team dinner")
    drafts = app.claims.by_employee("E201")
    assert named_claim("Fwd: receipts for shenzhen TRIP 深圳", drafts).claim_id == trip.claim_id
    assert named_claim(f"receipt for {other.claim_id}", drafts).claim_id == other.claim_id
    assert named_claim("lunch", drafts) is None


# ---- thresholds on the claim --------------------------------------------------------------------------------------


def _route(app: FakeApp, claim: Claim):
    return [(s.role, s.approver_id) for s in routing.route(claim.claim_id, app.claims, app.directory).steps]


def test_the_thresholds_apply_to_the_claims_hkd_total_not_to_each_expense(app):
    unattached(app, "e-1", total=Money.of("1200", "HKD"), category="general")
    unattached(app, "e-2", total=Money.of("1200", "HKD"), category="general", vendor="Maxim's 美心")
    claim = submit(app, report(app, "e-1", "e-2").claim_id)  # E203 would have a line manager below the head
    assert claim.valuation.hkd_total == Money.of("2400.00", "HKD")
    assert _route(app, claim) == [("line_manager", "E200")]  # E201's manager is the head: one signature
    unattached(app, "e-3", employee="E202", total=Money.of("3000", "HKD"), category="general")
    unattached(app, "e-4", employee="E202", total=Money.of("2000", "CNY"), category="travel", vendor="深圳酒店")
    big = submit(app, report(app, "e-3", "e-4", employee="E202").claim_id, employee="E202")
    assert big.valuation.hkd_total == Money.of("5160.00", "HKD") and big.valuation.rates == {"CNY": Decimal("1.08")}
    assert ("second_signer", "E110") in _route(app, big)  # HK$3,000 + CNY 2,000 (HK$2,160) > HK$5,000


def test_a_meal_over_the_per_head_limit_needs_the_head_whatever_the_claims_total(app):
    app.directory.put_employee(app.directory.employee("E202").model_copy(update={"manager_id": "E300"}))
    unattached(app, "e-1", employee="E202", total=Money.of("1800", "HKD"), category="meals")
    claim = submit(app, report(app, "e-1", employee="E202").claim_id, employee="E202")
    assert _route(app, claim) == [("line_manager", "E300"), ("department_head", "E200")]
    app.claims.clear()
    unattached(app, "e-2", employee="E202", total=Money.of("1800", "HKD"), category="meals", attendees=3)
    shared = submit(app, report(app, "e-2", employee="E202").claim_id, employee="E202")
    assert _route(app, shared) == [("line_manager", "E300")]  # HK$600 a head


# ---- scoring per expense --------------------------------------------------------------------------------------------


def _score(app: FakeApp, claim_id: str) -> Claim:
    return scoring.score_and_route(claim_id, app.claims, app.expenses, app.directory, app.workflow,
                                   app.approvals.claimants.tell)


def test_a_receipt_a_colleague_already_claimed_is_flagged_on_the_expense_and_the_claim(app):
    unattached(app, "e-mine", employee="E202", file_sha256="f" * 64)
    submit(app, report(app, "e-mine", employee="E202", title="lunch").claim_id, employee="E202")
    unattached(app, "e-1", file_sha256="f" * 64)
    unattached(app, "e-2", vendor="Kowloon taxi", total=Money.of("80", "HKD"), category="taxi")
    claim = submit(app, report(app, "e-1", "e-2").claim_id)
    scored = _score(app, claim.claim_id)
    theirs = app.claims.by_employee("E202")[0].claim_id
    assert scored.risk_score >= 0.95
    assert scored.risk_reasons == [f"Tsui Wah 翠華 (HKD 90.00): duplicate: same receipt file as in claim {theirs} "
                                   f"of colleague E202 / 重複：與同事 E202 的申報 {theirs}中的收據為同一檔案"]
    assert scored.expenses[0].risk_reasons and scored.expenses[1].risk_reasons == []


def test_the_same_receipt_twice_in_one_claim_is_flagged(app):
    unattached(app, "e-1", file_sha256="a" * 64)
    unattached(app, "e-2", file_sha256="b" * 64)  # another photo of the same receipt: same vendor, date, total
    scored = _score(app, submit(app, report(app, "e-1", "e-2").claim_id).claim_id)
    assert all("same vendor, date and total as in this claim" in r for r in scored.risk_reasons)
    assert len(scored.risk_reasons) == 2


def test_a_rejected_claims_receipt_may_be_claimed_again(app):
    unattached(app, "e-old", file_sha256="f" * 64)
    old = submit(app, report(app, "e-old", title="old").claim_id)
    app.claims.save(old, old.moved_to(ClaimStatus.FAILED, failure_reason="x"), SYSTEM, "t")
    unattached(app, "e-new", file_sha256="f" * 64, vendor="other")
    assert _score(app, submit(app, report(app, "e-new").claim_id).claim_id).risk_reasons == []


# ---- approving a report ------------------------------------------------------------------------------------------


def _in_approval(app: FakeApp) -> Claim:
    unattached(app, "e-hotel", vendor="深圳酒店 Shenzhen Hotel", total=Money.of("800", "CNY"), category="travel")
    unattached(app, "e-dinner", vendor="Lei Garden 利苑", total=Money.of("600", "HKD"), category="meals")
    claim = report(app, "e-hotel", "e-dinner")
    claim = line(app, claim.claim_id, kind="mileage", vehicle="private_car", distance_km="40", date="2026-11-05",
                 description="to Lok Ma Chau")
    claim = submit(app, claim.claim_id)
    stored = app.claims.get(claim.claim_id)
    scored = app.claims.save(stored, stored.moved_to(ClaimStatus.SCORED, risk_score=0.0), SYSTEM, "t")
    return app.claims.save(scored, scored.moved_to(ClaimStatus.IN_APPROVAL), SYSTEM, "t")


def _ask(app: FakeApp, claim: Claim) -> str:
    route = routing.route(claim.claim_id, app.claims, app.directory)
    requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "task-1", route.steps)
    return app.notifier.approval_links(claim.claim_id)[-1]["link"].rsplit("/", 1)[-1]


def test_an_approver_cuts_one_expense_and_the_rest_is_paid_and_signed(app):
    claim = _in_approval(app)
    token = _ask(app, claim)
    request = decisions.DecisionRequest(decision="approve", disallow=[
        decisions.Disallowance(expense_id="e-dinner", reason="a personal dinner 私人晚餐")])
    decided = decisions.decide(app.approvals, token, request, None, "203.0.113.1")
    assert decided.expense("e-dinner").disallowed_reason == "a personal dinner 私人晚餐"
    assert decided.payable_totals() == {"CNY": Money.of("800", "CNY"), "HKD": Money.of("140.00", "HKD")}
    assert decided.payable_hkd(app.directory.policy().fx) == Money.of("1004.00", "HKD")  # 864 + 140
    assert decided.decisions[0].disallowed_items == ["e-dinner"]
    assert [s["valid"] for s in decisions.verify_signatures(app.approvals, decided)] == [True]
    with pytest.raises(InvalidClaim, match="not in this claim"):
        decisions._disallowed(decided, [decisions.Disallowance(expense_id="e-nope", reason="x")], "E200")


def test_cutting_every_expense_is_a_rejection_not_an_approval(app):
    claim = _in_approval(app)
    everything = [decisions.Disallowance(expense_id=e.expense_id, reason="no") for e in claim.expenses]
    with pytest.raises(InvalidClaim, match="reject the claim instead"):
        decisions.decide(app.approvals, _ask(app, claim), decisions.DecisionRequest(
            decision="approve", disallow=everything), None, "203.0.113.1")


def test_a_return_names_the_expenses_to_fix_and_the_claimant_hears_which(app):
    claim = _in_approval(app)
    returned = decisions.decide(app.approvals, _ask(app, claim), decisions.DecisionRequest(
        decision="return", comment="add the attendees", fix_expenses=["e-dinner"]), None, "203.0.113.1")
    assert returned.status == ClaimStatus.RETURNED
    assert returned.expense("e-dinner").fix_requested == "add the attendees"
    told = app.employee_notifier.sent[-1]
    assert "Expenses to correct: Lei Garden 利苑" in told["en"] and "需更正的開支：Lei Garden 利苑" in told["zh-Hant"]
    fixed, _ = claims.edit_expense(principal(app, "E201"), app.claims, app.expenses, "e-dinner",
                                   claims.ExpenseEdits(attendees=4))
    assert fixed.fix_requested is None and fixed.attendees == 4


def test_a_changed_expense_voids_the_link_signed_over_the_claim(app):
    claim = _in_approval(app)
    token = _ask(app, claim)
    stored = app.claims.get(claim.claim_id)
    hotel = stored.expense("e-hotel").model_copy(update={"total": Money.of("8000", "CNY")})
    app.claims.save(stored, stored.moved_to(ClaimStatus.IN_APPROVAL, expenses=[
        hotel if e.expense_id == "e-hotel" else e for e in stored.expenses]), SYSTEM, "t")
    with pytest.raises(decisions.LinkRefused, match="changed after this link was sent"):
        decisions.decide(app.approvals, token, decisions.DecisionRequest(decision="approve"), None, "x")


# ---- cash advances settled by a claim ------------------------------------------------------------------------


def _paid_advance(app: FakeApp, amount: str) -> str:
    me = principal(app, "E201")
    advance = advances.request_advance(me, app.advances, app.directory, advances.AdvanceRequest(
        amount=amount, purpose="Shenzhen trip float"), app.clock())
    advances.decide_advance(principal(app, "E200"), app.advances, app.directory, advance.advance_id, True, "",
                            app.clock())
    advances.record_payment(principal(app, "E300"), app.advances, app.directory, advance.advance_id, "CHQ-1",
                            app.clock())
    return advance.advance_id


def _post(app: FakeApp, advance_id: str, total: str):
    unattached(app, "e-1", total=Money.of(total, "HKD"), category="travel")
    claim = submit(app, report(app, "e-1", advance_id=advance_id).claim_id)
    stored = app.claims.get(claim.claim_id)
    for status in (ClaimStatus.SCORED, ClaimStatus.IN_APPROVAL, ClaimStatus.APPROVED):
        stored = app.claims.save(stored, stored.moved_to(status), SYSTEM, "t")
    journal_id = post_to_journal(app, claim.claim_id)
    lines = [(li.account, li.debit_hkd, li.credit_hkd) for li in app.ledger.get(journal_id).lines]
    return lines, app.advances.get(advance_id)


@pytest.mark.parametrize(("spent", "outcome", "extra"), [
    ("2600.00", "pay", ("2150", Decimal("0"), Decimal("600.00"))),       # the employee is owed the difference
    ("1500.00", "recover", ("1260", Decimal("500.00"), Decimal("0"))),   # the employee owes the unspent cash
    ("2000.00", "exact", None),
])
def test_a_claim_settles_its_advance_in_the_journal(app, spent, outcome, extra):
    advance_id = _paid_advance(app, "2000")
    lines, advance = _post(app, advance_id, spent)
    expected = [("6140", Decimal(spent), Decimal("0")), ("1250", Decimal("0"), Decimal("2000.00"))]
    assert lines == expected + ([extra] if extra else [])
    assert advance.status == "settled" and advance.settlement.outcome == outcome
    assert advance.settled_claim_id == app.claims.by_employee("E201")[0].claim_id


def test_a_claim_can_settle_only_its_claimants_paid_advance_and_only_once(app):
    me = principal(app, "E201")
    requested = advances.request_advance(me, app.advances, app.directory, advances.AdvanceRequest(
        amount="500", purpose="float"), app.clock())
    with pytest.raises(InvalidClaim, match="only a paid advance"):
        report(app, advance_id=requested.advance_id)
    with pytest.raises(InvalidClaim, match="not one of your cash advances"):
        report(app, advance_id="a-0000")
    app.advances.items.clear()
    advance_id = _paid_advance(app, "500")
    report(app, advance_id=advance_id)
    with pytest.raises(InvalidClaim, match="already being settled by claim"):
        report(app, advance_id=advance_id, title="second")


# ---- claims stored before claims held many expenses ----------------------------------------------------------


def test_a_one_receipt_claim_item_is_read_as_a_one_expense_claim_whose_signatures_still_verify(app):
    old_view = {"claim_id": "c-old", "vendor": "Tsui Wah 翠華", "date": "2026-11-03", "total": "90.00",
                "currency": "HKD", "category": "meals", "purpose": "lunch", "file_sha256": "f" * 64, "submission": 1}
    decision = Decision(level=1, approver_id="E200", decision="approved", decided_at=app.clock(),
                        content_hash=view_hash(old_view), content=old_view)
    key_id, signature = app.signer.sign(decision.signed_payload("c-old"))
    stored = {  # the JSON body a claims-table item held under the one-receipt model
        "claim_id": "c-old", "employee_id": "E201", "department_id": "HK-SALES", "cost_centre": "CC-2100",
        "status": "posted", "version": 7, "created_at": "2026-11-03T02:00:00Z", "updated_at": "2026-11-04T02:00:00Z",
        "s3_key": "receipts/E201/c-old/lunch.jpg", "s3_version_id": "v1", "file_sha256": "f" * 64,
        "content_type": "image/jpeg", "file_size": 1234, "vendor": "Tsui Wah 翠華", "receipt_date": "2026-11-03",
        "total": {"amount": "90.00", "currency": "HKD"}, "tax": None, "line_items": [], "confidence": {"total": 0.9},
        "review_reasons": [], "category": "meals", "purpose": "lunch", "subjects": [], "urgent": False,
        "risk_score": 0.0, "risk_reasons": [], "approval_level": 1, "decisions": [
            {**decision.model_dump(mode="json"), "signing_key_id": key_id, "signature": signature}],
        "journal_id": "JE-c-old", "submission_count": 1,
    }
    claim = Claim.model_validate(stored)
    [expense] = claim.expenses
    assert (claim.status, claim.layout, claim.title, claim.purpose) == (ClaimStatus.POSTED, "receipt",
                                                                        "Tsui Wah 翠華", "lunch")
    assert (expense.expense_id, expense.status, expense.vendor, expense.total, expense.category, expense.s3_key) == (
        "c-old", "extracted", "Tsui Wah 翠華", Money.of("90.00", "HKD"), "meals", "receipts/E201/c-old/lunch.jpg")
    assert claim.payable_totals() == {"HKD": Money.of("90.00", "HKD")}
    assert [s["valid"] for s in decisions.verify_signatures(app.approvals, claim)] == [True]
    assert Claim.model_validate_json(claim.model_dump_json()) == claim  # saved again, read the same


def test_an_old_draft_is_read_as_a_draft_holding_its_receipt_in_its_reading_state(app):
    claim = Claim.model_validate({"claim_id": "c-x", "employee_id": "E201", "department_id": "HK-SALES",
                                  "status": "needs_review", "s3_key": "k", "file_sha256": "f",
                                  "review_reasons": ["total unclear"], "created_at": "2026-11-03T02:00:00Z",
                                  "updated_at": "2026-11-03T02:00:00Z"})
    assert claim.status == ClaimStatus.DRAFT and claim.expenses[0].status == "needs_review"
    app.claims.create(claim, SYSTEM)
    edited = claims.edit_claim(principal(app, "E201"), app.claims, "c-x", claims.ClaimEdits(
        vendor="Tsui Wah", total="90", receipt_date=date(2026, 11, 3)))
    assert edited.expenses[0].total == Money.of("90", "HKD") and edited.expenses[0].status == "extracted"
    assert app.expenses.locate("c-x").claim_id == "c-x"  # indexed for duplicate checks on its next write


def test_a_claim_is_bounded_in_expenses_and_receipt_lines(app):
    from chalicelib.domain.claim import MAX_EXPENSES, MAX_LINES
    from chalicelib.domain.expense import LineItem

    claim = report(app)
    many = [receipt(f"e-{i}", "E201") for i in range(MAX_EXPENSES + 1)]
    with pytest.raises(InvalidClaim, match=f"at most {MAX_EXPENSES} expenses"):
        claim.with_expenses(many)
    lines = [LineItem(description="x", amount=Money.of("1", "HKD"))] * (MAX_LINES // 2 + 1)
    with pytest.raises(InvalidClaim, match=f"at most {MAX_LINES} receipt lines"):
        claim.with_expenses([receipt("e-a", "E201", line_items=lines), receipt("e-b", "E201", line_items=lines)])
    assert len(claim.with_expenses(many[:MAX_EXPENSES])["expenses"]) == MAX_EXPENSES
