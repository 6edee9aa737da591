"""The sample organisation the demo and the end-to-end tests load: Shenzhen HQ and a Causeway Bay branch."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.adapters.repositories import DirectoryRepository
from chalicelib.domain.directory import Department, Employee, Office
from chalicelib.domain.policy import Policy
from chalicelib.domain.routing import default_rules

OFFICES = [
    Office(office_id="SZ-HQ", name="Shenzhen HQ 深圳總部", timezone="Asia/Shanghai"),
    Office(office_id="HK-CWB", name="Causeway Bay Branch 銅鑼灣分行", timezone="Asia/Hong_Kong"),
]
DEPARTMENTS = [
    Department(department_id="SZ-FIN", name="Group Finance 集團財務", office_id="SZ-HQ", head_id="E100",
               cost_centre="CC-1000", finance_controller_id="E100"),
    Department(department_id="SZ-OPS", name="Operations 營運", office_id="SZ-HQ", head_id="E120",
               cost_centre="CC-1200", finance_controller_id="E100"),
    Department(department_id="HK-SALES", name="Sales 銷售部", office_id="HK-CWB", head_id="E200",
               cost_centre="CC-2100", finance_controller_id="E110"),
]
EMPLOYEES = [
    # the board's audit committee chair signs the claims of the top of the company (Policy.top_approver_id)
    Employee(employee_id="E050", name="審計委員會主席 Audit Committee Chair", email="acc@example.com",
             department_id="SZ-FIN", rank=6, roles=["approver"]),
    Employee(employee_id="E100", name="王芳 Wang Fang", email="wang.fang@example.com", department_id="SZ-FIN",
             rank=5, timezone="Asia/Shanghai", roles=["employee", "approver", "finance"]),
    Employee(employee_id="E110", name="陳大文 Chan Tai Man", email="tm.chan@example.com", department_id="SZ-FIN",
             rank=4, manager_id="E100", roles=["employee", "approver", "finance"]),
    Employee(employee_id="E120", name="劉偉 Liu Wei", email="liu.wei@example.com", department_id="SZ-OPS",
             rank=4, manager_id="E100", timezone="Asia/Shanghai", roles=["employee", "approver"]),
    Employee(employee_id="E121", name="趙敏 Zhao Min", email="zhao.min@example.com", department_id="SZ-OPS",
             rank=2, manager_id="E120", timezone="Asia/Shanghai", roles=["employee", "finance"]),
    Employee(employee_id="E200", name="李嘉欣 Lee Ka Yan", email="ky.lee@example.com", department_id="HK-SALES",
             rank=4, manager_id="E100", roles=["employee", "approver"]),
    Employee(employee_id="E201", name="黃小明 Wong Siu Ming", email="sm.wong@example.com", department_id="HK-SALES",
             rank=2, manager_id="E200", roles=["employee"]),
    Employee(employee_id="E202", name="何穎 Ho Wing", email="wing.ho@example.com", department_id="HK-SALES",
             rank=2, manager_id="E200", roles=["employee"]),
    Employee(employee_id="E300", name="張美 Cheung Mei", email="mei.cheung@example.com", department_id="HK-SALES",
             rank=3, manager_id="E200", roles=["employee", "approver", "finance"]),  # deputy: can stand in
    Employee(employee_id="E400", name="Auditor 審計", email="audit@example.com", department_id="SZ-FIN",
             rank=3, roles=["auditor"]),
    Employee(employee_id="E900", name="Admin 管理員", email="admin@example.com", department_id="SZ-FIN",
             rank=3, roles=["admin"]),
]
# E.164 mobile numbers for SMS/voice reminders (fictional)
PHONES = {"E100": "+8613800138000", "E110": "+85251230110", "E120": "+8613900139000",
          "E200": "+85251230200", "E300": "+85251230300"}
EMPLOYEES = [e.model_copy(update={"phone": PHONES.get(e.employee_id)}) for e in EMPLOYEES]
# Every sample employee's password in the local stack's user pool (moto): username = employee id. Printed by
# `make demo` and written in README's local-run section; it exists only on the local stack.
LOCAL_PASSWORD = "HkExpense-local-2026"  # noqa: S105 (a documented local-only password)
POLICY = Policy(company="default", rules=default_rules(second_signer_threshold_hkd=Decimal("5000")),
                escalation_desk_ids=["E900"], top_approver_id="E050")


def load(directory: DirectoryRepository, policy: Policy = POLICY) -> None:
    for office in OFFICES:
        directory.put_office(office)
    for department in DEPARTMENTS:
        directory.put_department(department)
    for employee in EMPLOYEES:
        directory.put_employee(employee)
    directory.put_policy(policy)
