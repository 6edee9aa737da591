"""The claim page's timeline, built from a claim's signed decisions, its audit history and the step waiting now:
people by name and department, who holds the claim and since when, and totals with HKD equivalents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.claim import ClaimStatus, Decision, Valuation
from chalicelib.domain.expense import ExpenseKind, LineItem
from chalicelib.domain.money import DEFAULT_FX, Money
from chalicelib.domain.timeline import Person, build_timeline, valued_totals
from tests.builders import receipt, receipt_claim

T0 = datetime(2026, 12, 1, 1, 15, tzinfo=UTC)  # 09:15 in Hong Kong
PEOPLE = {"E201": Person(name="黃小明 Wong Siu Ming", department="Sales 銷售部"),
          "E200": Person(name="李嘉欣 Lee Ka Yan", department="Sales 銷售部"),
          "E300": Person(name="張美 Cheung Mei", department="Sales 銷售部"),
          "E110": Person(name="陳大文 Chan Tai Man", department="Group Finance 集團財務")}


def person(employee_id: str) -> Person:
    return PEOPLE.get(employee_id, Person())


def record(seq: int, action: str, at: datetime, before: dict | None = None, after: dict | None = None,
           actor: str = "system") -> AuditRecord:
    return AuditRecord(entity="CLAIM#c-1", seq=seq, at=at, actor_id=actor, role="employee", source_ip="aws",
                       action=action, before=before, after=after)


def link(link_id: str = "L1", approver: str = "E200", level: int = 1, state: str = "pending",
         on_behalf_of: str | None = None) -> StoredLink:
    return StoredLink(link_id=link_id, claim_id="c-1", level=level, approver_id=approver, task_token="tt",
                      content_hash="h", state=state, expires_epoch=2_000_000_000, on_behalf_of=on_behalf_of)


def decision(verdict: str, approver: str, at: datetime, level: int = 1, comment: str = "", **more) -> Decision:
    return Decision(level=level, approver_id=approver, decision=verdict, comment=comment, decided_at=at,
                    content_hash="h", **more)


def submitted_history(link_id: str = "L1") -> list[AuditRecord]:
    return [record(1, "claim.created", T0 - timedelta(days=1), after={"pending_link_id": None}, actor="u-201"),
            record(2, "claim.submitted", T0 - timedelta(minutes=5), actor="u-201"),
            record(3, "claim.scored", T0 - timedelta(minutes=4)),
            record(4, "claim.approval_started", T0 - timedelta(minutes=3)),
            record(5, "approval.level_1.requested", T0, before={"pending_link_id": None},
                   after={"pending_link_id": link_id}),
            # a later write keeping the same link (a reminder's note, a re-armed wait) does not restart the wait
            record(6, "approval.level_1.requested", T0 + timedelta(hours=3), before={"pending_link_id": link_id},
                   after={"pending_link_id": link_id})]


def test_a_claim_waiting_on_its_approver_names_them_and_since_when_the_step_was_issued():
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.IN_APPROVAL, pending_link_id="L1",
                          approval_level=1, updated_at=T0 + timedelta(hours=3))

    timeline = build_timeline(claim, submitted_history(), link(), person)

    assert [e.kind for e in timeline.events] == ["created", "submitted"]
    assert timeline.events[1].by == PEOPLE["E201"]
    assert timeline.claimant == PEOPLE["E201"]
    holder = timeline.holder
    assert (holder.kind, holder.who, holder.level, holder.since) == ("approver", PEOPLE["E200"], 1, T0)
    assert holder.on_behalf_of is None and not holder.escalation_desk


def test_a_delegate_holds_the_step_on_behalf_of_the_approver_and_the_desk_is_flagged():
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.IN_APPROVAL, pending_link_id="L1",
                          awaiting_admin="level 1 unanswered and nobody above")

    holder = build_timeline(claim, submitted_history(), link(approver="E300", on_behalf_of="E200"), person).holder

    assert (holder.who, holder.on_behalf_of, holder.escalation_desk) == (PEOPLE["E300"], PEOPLE["E200"], True)


def test_a_superseded_or_used_link_is_not_a_holder():
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.IN_APPROVAL, pending_link_id="L2",
                          approval_level=2, updated_at=T0)
    assert build_timeline(claim, submitted_history(), link("L1"), person).holder.kind == "system"
    claim = claim.model_copy(update={"pending_link_id": "L1"})
    assert build_timeline(claim, submitted_history(), link("L1", state="used"), person).holder.kind == "system"


def test_decisions_are_events_by_name_with_comment_and_a_return_hands_the_claim_back():
    decided = T0 + timedelta(hours=4, minutes=47)  # 14:02 HKT
    fix = receipt("e-2", "E201", vendor="City Taxi 城市的士")
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.RETURNED, pending_link_id="L1", expense_id="e-1")
    claim = claim.model_copy(update={
        "expenses": [*claim.expenses, fix.model_copy(update={"fix_requested": "the total is HKD 128.50"})],
        "decisions": [decision("returned", "E110", decided, comment="the taxi total is wrong 的士金額有誤",
                               fix_expenses=["e-2"])]})

    timeline = build_timeline(claim, submitted_history(), link(state="returned"), person)

    returned = timeline.events[-1]
    assert (returned.kind, returned.by, returned.level, returned.at) == ("returned", PEOPLE["E110"], 1, decided)
    assert returned.comment == "the taxi total is wrong 的士金額有誤"
    assert returned.to_fix == ["City Taxi 城市的士"]
    assert (timeline.holder.kind, timeline.holder.who, timeline.holder.since) == ("claimant", PEOPLE["E201"],
                                                                                  decided)


def test_a_resubmission_a_second_step_and_posting_read_in_order():
    history = [*submitted_history(),
               record(7, "claim.corrected_after_return", T0 + timedelta(hours=6), actor="u-201"),
               record(8, "approval.level_1.resubmitted", T0 + timedelta(hours=6), after={"pending_link_id": "L2"}),
               record(9, "approval.level_2.escalated", T0 + timedelta(days=2), after={"pending_link_id": None}),
               record(10, "claim.approved", T0 + timedelta(days=3)),
               record(11, "claim.posted", T0 + timedelta(days=3, minutes=1))]
    line = LineItem(description="Minibar 迷你吧", amount=Money.of("40.00", "HKD"), disallowed_reason="personal")
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.POSTED, expense_id="e-1", total=Money.of("90", "HKD"),
                          line_items=[LineItem(description="Room", amount=Money.of("50.00", "HKD")), line])
    claim = claim.model_copy(update={"decisions": [
        decision("returned", "E200", T0 + timedelta(hours=1), comment="add the purpose"),
        decision("approved", "E200", T0 + timedelta(hours=7), disallowed_items=["e-1#1"]),
        decision("approved", "E110", T0 + timedelta(days=2, hours=1), level=2, on_behalf_of="E999")]})

    timeline = build_timeline(claim, history, None, person)

    assert [(e.kind, e.level) for e in timeline.events] == [
        ("created", None), ("submitted", None), ("returned", 1), ("resubmitted", None), ("approved", 1),
        ("escalated", 2), ("approved", 2), ("posted", None)]
    first_approval = timeline.events[4]
    assert first_approval.disallowed == 1
    assert timeline.events[6].on_behalf_of == Person()  # someone no longer in the directory: no name, no id
    assert timeline.holder.kind == "none"


def test_a_reassignment_and_a_failure_say_who_and_why():
    history = [record(1, "claim.submitted", T0, actor="u-201"),
               record(2, "approval.reassigned", T0 + timedelta(hours=1), after={"approver_id": "E300",
                                                                                  "reason": "on leave 休假"}),
               record(3, "claim.failed", T0 + timedelta(hours=2), after={"failure_reason": "no FX rate for ZZZ"})]
    claim = receipt_claim(employee_id="E201", status=ClaimStatus.FAILED)

    events = build_timeline(claim, history, None, person).events

    assert [(e.kind, e.by, e.comment) for e in events[1:]] == [
        ("reassigned", PEOPLE["E300"], "on leave 休假"), ("failed", None, "no FX rate for ZZZ")]


def test_draft_and_checking_claims_are_held_by_the_claimant_and_by_the_system():
    draft = receipt_claim(employee_id="E201")
    holder = build_timeline(draft, submitted_history()[:1], None, person).holder
    assert (holder.kind, holder.who, holder.since) == ("claimant", PEOPLE["E201"], T0 - timedelta(days=1))
    checking = draft.model_copy(update={"status": ClaimStatus.SCORED})
    holder = build_timeline(checking, submitted_history()[:3], None, person).holder
    assert (holder.kind, holder.since) == ("system", T0 - timedelta(minutes=5))


def test_totals_before_submission_are_an_estimate_at_the_policy_rates():
    claim = receipt_claim(total=Money.of("100.00", "CNY"))
    claim = claim.model_copy(update={"expenses": [*claim.expenses, receipt("e-2", total=Money.of("33.33", "CNY")),
                                                  receipt("e-3", total=Money.of("90.00", "HKD"))]})

    totals = valued_totals(claim, DEFAULT_FX)

    assert totals.estimate and totals.rates == {"CNY": Decimal("1.08")}
    assert [(t.currency, t.amount, t.hkd) for t in totals.claimed] == [
        ("CNY", Decimal("133.33"), Decimal("108.00") + Decimal("36.00")), ("HKD", Decimal("90.00"), Decimal("90.00"))]
    assert totals.hkd_claimed == claim.hkd_total(DEFAULT_FX).amount  # each expense converted, then added
    assert not totals.cut


def test_totals_once_submitted_use_the_signed_valuation_and_show_what_is_payable():
    mileage = receipt("e-2", kind=ExpenseKind.MILEAGE, s3_key=None, total=Money.of("42.00", "HKD"),
                      disallowed_reason="the company car was free")
    claim = receipt_claim(total=Money.of("100.00", "CNY"), status=ClaimStatus.POSTED)
    claim = claim.model_copy(update={"expenses": [*claim.expenses, mileage], "valuation": Valuation(
        hkd_total=Money.of("152.00", "HKD"), rates={"CNY": Decimal("1.10")}, source="policy FX table 2026-11")})

    totals = valued_totals(claim, DEFAULT_FX)

    assert not totals.estimate and totals.source == "policy FX table 2026-11"
    assert totals.hkd_claimed == Decimal("152.00")  # 110.00 + 42.00 at the signed rate, not today's 1.08
    assert [(t.currency, t.amount) for t in totals.payable] == [("CNY", Decimal("100.00")), ("HKD", Decimal("0.00"))]
    assert totals.hkd_payable == Decimal("110.00") and totals.cut


def test_a_currency_without_a_rate_has_no_hkd_equivalent_rather_than_a_wrong_one():
    totals = valued_totals(receipt_claim(total=Money.of("500", "THB")), DEFAULT_FX)
    assert totals.claimed[0].hkd is None and totals.hkd_claimed is None


def test_a_returned_claim_being_corrected_is_estimated_again_at_the_policy_rates():
    claim = receipt_claim(total=Money.of("100.00", "CNY"), status=ClaimStatus.RETURNED, valuation=Valuation(
        hkd_total=Money.of("110.00", "HKD"), rates={"CNY": Decimal("1.10")}))
    claim = claim.model_copy(update={"expenses": [*claim.expenses, receipt("e-2", total=Money.of("10.00", "USD"))]})

    totals = valued_totals(claim, DEFAULT_FX)

    assert totals.estimate and totals.rates == {"CNY": Decimal("1.08"), "USD": Decimal("7.80")}
    assert totals.hkd_claimed == Decimal("108.00") + Decimal("78.00")  # the USD added since has a rate too
