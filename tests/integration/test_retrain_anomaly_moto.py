"""The daily retrain on the local stack: every company of the directory gets its own model version (its window and
metrics in the models bucket) or is recorded as "rules only" with its claim count; the scorer then loads each
company's own model."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from chalicelib import bootstrap
from chalicelib.adapters import model_store
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.expense import Expense
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.services import anomaly_model

NOW = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
VENDORS = ("Tsui Wah 翠華", "Fairwood 大快活", "Cafe de Coral 大家樂", "Maxim's 美心")


class Context:
    function_name = "hk-expense-local-retrain_anomaly"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-east-1:123456789012:function:hk-expense-local-retrain_anomaly"
    memory_limit_in_mb = 1024
    aws_request_id = "retrain-test"
    log_group_name = "/aws/lambda/hk-expense-local-retrain_anomaly"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _company(directory, company: str, people: int) -> list[Employee]:
    directory.put_policy(Policy(company=company))
    directory.put_department(Department(department_id=f"{company}-OPS", name="Ops", office_id="HK",
                                        head_id=f"{company}-H", cost_centre=f"CC-{company}", company=company,
                                        finance_controller_id=f"{company}-H"))
    out = []
    for i in range(people):
        person = Employee(employee_id=f"{company}-{i}", name=f"Staff {i}", email=f"s{i}@{company}.example",
                          department_id=f"{company}-OPS", rank=2)
        directory.put_employee(person)
        out.append(person)
    return out


def _claims(claims, people: list[Employee], per_person: int, rows: int, seed: int) -> None:
    """Month-end claims of lunches (~HK$90) and dinners (~HK$300), already scored and in approval."""
    rng = random.Random(seed)
    for person in people:
        for k in range(per_person):
            month = date(2026, 1 + k % 10, 1)
            expenses = []
            for j in range(rows):
                day = month + timedelta(days=rng.randrange(25))
                dinner = rng.random() < 0.3
                amount = Decimal(str(round(rng.lognormvariate(0, 0.15) * (300 if dinner else 90), 1)))
                expenses.append(Expense(
                    expense_id=f"x-{person.employee_id}-{k}-{j}", employee_id=person.employee_id, status="extracted",
                    file_sha256=f"{rng.getrandbits(256):064x}", vendor=rng.choice(VENDORS), receipt_date=day,
                    receipt_time=time(20 if dinner else 13, rng.randrange(60)), total=Money.of(amount, "HKD"),
                    category="meals", city="Hong Kong"))
            submitted = datetime.combine(month + timedelta(days=27), time(10), UTC)
            claims.create(Claim(claim_id=f"k-{person.employee_id}-{k}", employee_id=person.employee_id,
                                department_id=person.department_id, status=ClaimStatus.IN_APPROVAL,
                                submitted_at=submitted, submission_count=1, expenses=expenses,
                                created_at=submitted, updated_at=submitted), SYSTEM)


def test_every_company_gets_its_own_version_or_rules_only_with_the_reason(stack, monkeypatch):
    from functions import retrain_anomaly

    c = bootstrap.container()
    _claims(c.claims, _company(c.directory, "harbour", 4), per_person=10, rows=7, seed=1)  # 280 rows
    _claims(c.claims, _company(c.directory, "kowloon", 2), per_person=3, rows=4, seed=2)  # 24 rows: too few
    monkeypatch.setattr(retrain_anomaly, "datetime", _FixedNow)

    result = retrain_anomaly.handler({}, Context())

    by_company = {r["company"]: r for r in result["companies"]}
    assert {"harbour", "kowloon", "default"} <= set(by_company)  # the sample organisation's company too
    store = model_store.from_environment()
    harbour = store.current_metadata("harbour")
    assert by_company["harbour"]["promoted"] and harbour["version"] == by_company["harbour"]["version"]
    assert harbour["rows"] == 280 and harbour["company"] == "harbour"
    assert harbour["window"]["from"] >= "2026-01-01" and harbour["window"]["to"] <= "2026-10-31"
    assert harbour["metrics"]["validation_auc"] >= anomaly_model.VALIDATION_FLOOR
    assert store.last_run("harbour")["claims"] == 40
    kowloon = store.last_run("kowloon")
    assert store.current("kowloon") is None and kowloon["rules_only"] and kowloon["claims"] == 6
    assert "too little history" in kowloon["reason"] and kowloon["rows"] == 24

    anomaly_model.forget_loaded()
    assert anomaly_model.scorer(store, "harbour").version == harbour["version"]
    assert anomaly_model.scorer(store, "kowloon").version == anomaly_model.RULES_ONLY_VERSION


class _FixedNow(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW
