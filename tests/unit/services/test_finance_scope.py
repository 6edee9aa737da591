"""Who sees which departments on the finance dashboard, and how the stream consumer reads its records."""

from __future__ import annotations

import pytest

from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.services.finance import scope
from functions.finance_aggregates import changes
from tests.builders import receipt_claim


def who(*roles: Role, department: str = "HK-SALES") -> Principal:
    return Principal(user_id="u", employee_id="E1", department_id=department, roles=frozenset(roles))


def test_finance_sees_its_own_department_and_is_refused_another():
    assert scope(who(Role.FINANCE), None) == ["HK-SALES"]
    assert scope(who(Role.FINANCE), "HK-SALES") == ["HK-SALES"]
    with pytest.raises(Forbidden):
        scope(who(Role.FINANCE), "SZ-OPS")
    with pytest.raises(Forbidden):
        scope(who(Role.FINANCE), "all")  # all departments is not theirs either


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditors_and_admins_pick_any_department_or_all(role):
    assert scope(who(role), None) is None
    assert scope(who(role), "all") is None
    assert scope(who(role), "SZ-OPS") == ["SZ-OPS"]


@pytest.mark.parametrize("roles", [(Role.EMPLOYEE,), (Role.APPROVER, Role.EMPLOYEE)])
def test_employees_and_approvers_are_refused(roles):
    with pytest.raises(Forbidden):
        scope(who(*roles), None)


def _record(seq: int, new, old=None) -> dict:
    image = lambda c: {"claim_id": {"S": c.claim_id}, "body": {"S": c.model_dump_json()}}  # noqa: E731
    dynamodb = {"Keys": {"claim_id": {"S": (new or old).claim_id}}, "SequenceNumber": str(seq),
                "StreamViewType": "NEW_AND_OLD_IMAGES", "SizeBytes": 900}
    if new is not None:
        dynamodb["NewImage"] = image(new)
    if old is not None:
        dynamodb["OldImage"] = image(old)
    return {"eventID": str(seq), "eventName": "MODIFY" if new and old else "INSERT" if new else "REMOVE",
            "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "ap-east-1", "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:ap-east-1:123456789012:table/hk-expense-local-claims/stream/x"}


def test_stream_records_become_claim_changes_and_an_unreadable_one_is_left_with_those_after_it():
    first = receipt_claim("c-1", "E201", "HK-SALES")
    later = first.model_copy(update={"title": "Lunch", "version": 1})
    records = [_record(1, first), _record(2, later, first), _record(3, None, later)]
    parsed, unreadable = changes({"Records": records})
    assert [(c.claim_id, c.sequence, c.new is not None, c.old is not None) for c in parsed] == [
        ("c-1", "1", True, False), ("c-1", "2", True, True), ("c-1", "3", False, True)]
    assert unreadable == []
    broken = _record(9, first)
    broken["dynamodb"]["NewImage"]["body"]["S"] = "not a claim"
    parsed, unreadable = changes({"Records": [records[0], broken, *records[1:]]})
    assert [c.sequence for c in parsed] == ["1"] and unreadable == ["9", "2", "3"]
