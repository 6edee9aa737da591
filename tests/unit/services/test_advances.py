"""Cash advance use cases on the fakes: limits, who may approve and pay, who sees what, settlement once, and
overdue reminders at most once a day. Time comes from the fake clock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.domain.advance import AdvanceStatus, InvalidAdvance, InvalidAdvanceTransition
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.identity import SYSTEM, Forbidden
from chalicelib.domain.money import FxTable, Money
from chalicelib.domain.policy import Policy
from chalicelib.services import advances
from chalicelib.services.advances import AdvanceNotFound, AdvanceRequest
from tests.fakes import bootstrap_fakes
from tests.unit.services.support import principal

S = AdvanceStatus


@pytest.fixture
def app():
    return bootstrap_fakes()


def ask(app, employee_id="E201", amount="3,000", currency="HKD"):
    return advances.request_advance(principal(app, employee_id), app.advances, app.directory,
                                    AdvanceRequest(amount=amount, currency=currency, purpose="Trade fair float"),
                                    app.clock())


def approved(app, employee_id="E201", amount="3000", currency="HKD"):
    a = ask(app, employee_id, amount, currency)
    return advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, True, "ok",
                                   app.clock())


def paid(app, employee_id="E201", amount="3000", currency="HKD"):
    a = approved(app, employee_id, amount, currency)
    return advances.record_payment(principal(app, "E300"), app.advances, app.directory, a.advance_id, "FPS-0001",
                                   app.clock())


# ---- request ---------------------------------------------------------------------------------------------------

def test_a_request_is_stored_with_its_audit_record():
    app = bootstrap_fakes()
    a = ask(app)
    assert a.advance_id.startswith("a-") and a.status == S.REQUESTED and a.department_id == "HK-SALES"
    assert a.amount == Money.of("3000.00", "HKD") and a.created_at == app.clock()
    assert app.audit.actions(f"ADVANCE#{a.advance_id}") == ["advance.requested"]
    assert app.advances.get(a.advance_id) == a


@pytest.mark.parametrize("amount", ["0", "-10", "abc", "nan"])
def test_non_positive_or_unreadable_amounts_are_refused(app, amount):
    with pytest.raises(InvalidAdvance):
        ask(app, amount=amount)
    assert app.advances.items == {}


def test_the_policy_limit_applies_to_the_hkd_value(app):
    assert ask(app, amount="20000").status == S.REQUESTED  # at the limit: accepted
    with pytest.raises(InvalidAdvance, match="at most HKD 20,000"):
        ask(app, "E202", amount="2600", currency="USD")  # 2600 x 7.80 = 20,280 HKD


def test_finance_sets_the_limit_as_data(app):
    app.directory.put_policy(Policy(advance_max_hkd=Decimal("1000")))
    with pytest.raises(InvalidAdvance):
        ask(app, amount="1000.01")


def test_unknown_currency_or_one_without_a_rate_is_refused(app):
    with pytest.raises(ValueError):
        AdvanceRequest(amount="10", currency="ZZZ", purpose="x")
    app.directory.put_policy(Policy(fx=FxTable(hkd_per_unit={})))
    with pytest.raises(InvalidAdvance, match="no HKD exchange rate"):
        ask(app, amount="10", currency="USD")


def test_one_open_advance_per_employee(app):
    first = ask(app)
    with pytest.raises(InvalidAdvance, match="open advance"):
        ask(app)
    advances.decide_advance(principal(app, "E200"), app.advances, app.directory, first.advance_id, False, "no",
                            app.clock())
    assert ask(app).status == S.REQUESTED  # a rejected advance is closed
    assert ask(app, "E202").employee_id == "E202"  # others are not affected


# ---- decision --------------------------------------------------------------------------------------------------

def test_the_manager_approves_and_the_decision_is_recorded(app):
    a = ask(app)
    app.clock.advance(hours=2)
    done = advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, True,
                                   " fine ", app.clock())
    assert (done.status, done.approver_id, done.decided_at, done.decision_comment) == (
        S.APPROVED, "E200", app.clock(), "fine")
    assert app.audit.actions(f"ADVANCE#{a.advance_id}") == ["advance.requested", "advance.approved"]


def test_the_department_head_may_decide_too(app):
    a = ask(app, "E121")  # manager E120, who is also SZ-OPS's head
    app.directory.departments["SZ-OPS"] = app.directory.department("SZ-OPS").model_copy(update={"head_id": "E100"})
    done = advances.decide_advance(principal(app, "E100"), app.advances, app.directory, a.advance_id, True, "",
                                   app.clock())
    assert done.approver_id == "E100"


def test_nobody_approves_their_own_advance(app):
    a = ask(app, "E200")  # E200 heads HK-SALES: as the department head they would otherwise qualify
    with pytest.raises(Forbidden, match="your own"):
        advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, True, "",
                                app.clock())
    assert app.advances.get(a.advance_id).status == S.REQUESTED


@pytest.mark.parametrize("who", ["E202", "E300", "E100", "E900"])  # a peer, finance, the manager's manager, admin
def test_only_the_manager_or_head_may_decide(app, who):
    a = ask(app)
    with pytest.raises(Forbidden, match="manager or department head"):
        advances.decide_advance(principal(app, who), app.advances, app.directory, a.advance_id, True, "",
                                app.clock())


def test_a_repeated_decision_stands_and_a_contrary_one_is_refused(app):
    a = approved(app)
    again = advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, True, "",
                                    app.clock())
    assert again.version == a.version
    with pytest.raises(InvalidAdvanceTransition):
        advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, False, "",
                                app.clock())


# ---- payment ---------------------------------------------------------------------------------------------------

def test_finance_of_the_department_records_the_payment_with_its_hkd_value(app):
    a = paid(app, amount="100", currency="USD")
    assert (a.status, a.paid_by, a.payment_reference, a.paid_at) == (S.PAID, "E300", "FPS-0001", app.clock())
    assert a.paid_hkd == Money.of("780.00", "HKD")


@pytest.mark.parametrize("who", ["E200", "E202", "E900", "E400"])  # manager, peer, admin, auditor: not finance
def test_payment_is_finance_only(app, who):
    a = approved(app)
    with pytest.raises(Forbidden, match="only finance"):
        advances.record_payment(principal(app, who), app.advances, app.directory, a.advance_id, "X", app.clock())


def test_finance_of_another_department_cannot_pay_and_nobody_pays_themselves(app):
    a = approved(app)
    with pytest.raises(AdvanceNotFound):
        advances.record_payment(principal(app, "E110"), app.advances, app.directory, a.advance_id, "X", app.clock())
    own = ask(app, "E300")
    with pytest.raises(Forbidden, match="your own"):
        advances.record_payment(principal(app, "E300"), app.advances, app.directory, own.advance_id, "X",
                                app.clock())


def test_an_unapproved_advance_cannot_be_paid(app):
    a = ask(app)
    with pytest.raises(InvalidAdvanceTransition):
        advances.record_payment(principal(app, "E300"), app.advances, app.directory, a.advance_id, "X", app.clock())


# ---- reading ---------------------------------------------------------------------------------------------------

def test_each_role_sees_its_own_scope(app):
    mine = ask(app, "E201")
    peer = ask(app, "E202")
    other_dept = ask(app, "E121")
    ids = {who: {a.advance_id for a in advances.list_advances(principal(app, who), app.advances)}
           for who in ("E201", "E300", "E400", "E110")}
    assert ids["E201"] == {mine.advance_id}
    assert ids["E300"] == {mine.advance_id, peer.advance_id}  # finance: HK-SALES only
    assert ids["E400"] == {mine.advance_id, peer.advance_id, other_dept.advance_id}  # auditor: all
    assert ids["E110"] == set()  # SZ-FIN finance: none of these
    with pytest.raises(AdvanceNotFound):
        advances.get_advance(principal(app, "E202"), app.advances, mine.advance_id)


def test_the_status_filter(app):
    a = approved(app)
    ask(app, "E202")
    found = advances.list_advances(principal(app, "E300"), app.advances, "approved")
    assert [x.advance_id for x in found] == [a.advance_id]
    with pytest.raises(InvalidAdvance):
        advances.list_advances(principal(app, "E300"), app.advances, "bogus")


# ---- settlement ------------------------------------------------------------------------------------------------

def test_settling_nets_the_claim_against_the_hkd_booked_at_payment(app):
    a = paid(app, amount="100", currency="USD")  # HKD 780.00 booked
    assert [x.advance_id for x in advances.open_for_settlement(app.advances, "E201")] == [a.advance_id]
    done = advances.settle_advance(app.advances, a.advance_id, "c-1", Money.of("1000.50", "HKD"), SYSTEM,
                                   app.clock())
    assert done.status == S.SETTLED and done.settled_claim_id == "c-1"
    assert done.settlement.outcome == "pay" and done.settlement.pay_employee == Money.of("220.50", "HKD")
    assert advances.open_for_settlement(app.advances, "E201") == []


def test_settling_is_idempotent_for_the_same_claim_and_refused_for_another(app):
    a = paid(app)
    first = advances.settle_advance(app.advances, a.advance_id, "c-1", Money.of("2500", "HKD"), SYSTEM, app.clock())
    app.clock.advance(hours=1)
    again = advances.settle_advance(app.advances, a.advance_id, "c-1", Money.of("2500", "HKD"), SYSTEM, app.clock())
    assert again == first and again.version == first.version
    assert first.settlement.recover_from_employee == Money.of("500.00", "HKD")
    with pytest.raises(InvalidAdvance, match="one claim"):
        advances.settle_advance(app.advances, a.advance_id, "c-2", Money.of("10", "HKD"), SYSTEM, app.clock())
    assert app.audit.actions(f"ADVANCE#{a.advance_id}").count("advance.settled") == 1


def test_an_unpaid_advance_cannot_be_settled(app):
    a = approved(app)
    with pytest.raises(InvalidAdvanceTransition):
        advances.settle_advance(app.advances, a.advance_id, "c-1", Money.of("10", "HKD"), SYSTEM, app.clock())


def test_a_stale_write_loses(app):
    a = ask(app)
    stale = app.advances.get(a.advance_id)
    advances.decide_advance(principal(app, "E200"), app.advances, app.directory, a.advance_id, True, "", app.clock())
    with pytest.raises(ConcurrentChange):
        app.advances.save(stale, stale.moved_to(S.CANCELLED, app.clock()), SYSTEM, "advance.cancelled")


# ---- overdue ---------------------------------------------------------------------------------------------------

def test_overdue_reminders_go_once_a_day_bilingual_and_without_names(app):
    a = paid(app)
    app.clock.advance(days=30)
    assert advances.remind_overdue(app.advances, app.directory, app.employee_notifier, app.clock()) == []
    app.clock.advance(hours=1)
    assert advances.overdue_advances(app.advances, app.directory, app.clock()) == [app.advances.get(a.advance_id)]
    assert advances.remind_overdue(app.advances, app.directory, app.employee_notifier, app.clock()) == [a.advance_id]
    app.clock.advance(hours=3)  # same UTC day: nothing again
    assert advances.remind_overdue(app.advances, app.directory, app.employee_notifier, app.clock()) == []
    (message,) = app.employee_notifier.sent
    assert message["subject"] == "Cash advance overdue 備用金逾期未清"
    assert "備用金" in message["text_zh"] and "not yet settled" in message["text_en"]
    assert message["days_outstanding"] == 30 and message["attributes"]["employee_id"] == "E201"
    assert "黃小明" not in str(message) and "Wong" not in str(message)
    app.clock.advance(days=1)  # the next day: once more
    assert advances.remind_overdue(app.advances, app.directory, app.employee_notifier, app.clock()) == [a.advance_id]
    assert app.audit.actions(f"ADVANCE#{a.advance_id}").count(advances.REMINDED) == 2


def test_settled_advances_are_not_chased(app):
    a = paid(app)
    advances.settle_advance(app.advances, a.advance_id, "c-1", Money.of("3000", "HKD"), SYSTEM, app.clock())
    app.clock.advance(days=90)
    assert advances.remind_overdue(app.advances, app.directory, app.employee_notifier, app.clock()) == []
