"""The finance dashboard on the local stack: claims flow through the real handlers, the claims stream keeps the
aggregates (functions/finance_aggregates.py, wired by EVENT_SOURCES), and the overview agrees with the claims
themselves; role scoping, the claim list, queues and the CSV/XLSX export of what the list shows."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from openpyxl import load_workbook

from chalicelib import bootstrap
from chalicelib.domain import finance as fin
from chalicelib.services.finance import DashboardQuery, _departments
from chalicelib.web import i18n
from harness import lambda_shim
from infra import resources as r

MILEAGE = {"kind": "mileage", "vehicle": "private_car", "distance_km": "42", "date": "2026-11-20",
           "description": "office → client 公司 → 客戶"}


def _claim(driver, employee: str, title: str, km: str = "42") -> str:
    status, claim = driver.create_claim(employee, title, [])
    assert status == 201, claim
    status, body = driver.add_line(employee, claim["claim_id"], {**MILEAGE, "distance_km": km})
    assert status == 201, body
    status, body = driver.submit(employee, claim["claim_id"])
    assert status == 200, body
    driver.wait_status(employee, claim["claim_id"], {"in_approval"})
    return claim["claim_id"]


def _get(driver, employee: str, path: str) -> tuple[int, dict]:
    return driver.call("GET", path, None, driver.auth(employee))


def test_the_overview_follows_the_claims_stream_and_agrees_with_the_claims(driver, api):
    visit = _claim(driver, "E201", "Client visit 客戶拜訪")
    _claim(driver, "E202", "Trade fair 展覽會", km="10")
    _claim(driver, "E121", "Warehouse check 倉庫檢查")
    link = driver.approval_message(visit, 1)["link"]
    assert driver.decide(link, "approve")[0] == 200
    driver.wait_status("E201", visit, {"posted"})
    assert lambda_shim.drain()

    c = bootstrap.container()
    mapping = driver.stack.client("lambda").list_event_source_mappings(
        FunctionName=r.function_name("local", "aggregate_claims"))["EventSourceMappings"]
    assert mapping and mapping[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    status, ov = _get(driver, "E300", "/finance/overview?from=2026-01&to=2026-12")
    assert status == 200, ov
    assert ov["can_pick_department"] is False and [d["department_id"] for d in ov["choices"]] == ["HK-SALES"]
    assert ov["claims"] == 2 and ov["decisions"]["decided"] == 1 and ov["decisions"]["within_target"] == 1
    assert ov["adoption"]["adopters"] == 2 and ov["adoption"]["headcount"] == 4
    assert ov["spend"]["currency"] == "HKD" and Decimal(ov["spend"]["amount"]) > 0

    # the same answer from the claims themselves (every claim of the department, contributions added up)
    query = DashboardQuery(department="HK-SALES", from_month="2026-01", to_month="2026-12")
    claims = c.claims.by_department("HK-SALES")
    departments = _departments(c.directory, ["HK-SALES"])
    expected = fin.overview_from_claims(claims, departments, query.filters(), c.directory.policy().fx)
    assert Decimal(ov["spend"]["amount"]) == expected.spend_hkd
    assert ov["claims"] == expected.claims
    by_status = {row["key"]: row["claims"] for row in ov["by_status"]}
    assert by_status == {k: t.claims for k, t in expected.by_status.items()}

    # role scoping: finance, own department only; auditors and admins any or all; employees none
    assert _get(driver, "E300", "/finance/overview?department=SZ-OPS")[0] == 403
    assert _get(driver, "E300", "/finance/claims?department=SZ-OPS")[0] == 403
    assert _get(driver, "E201", "/finance/overview")[0] == 403
    status, every = _get(driver, "E400", "/finance/overview?department=all&from=2026-01&to=2026-12")
    assert status == 200 and every["claims"] == 3 and every["can_pick_department"] is True
    assert {d["department_id"] for d in every["choices"]} == {"SZ-FIN", "SZ-OPS", "HK-SALES"}
    status, ops = _get(driver, "E900", "/finance/overview?department=SZ-OPS&from=2026-01&to=2026-12")
    assert status == 200 and ops["claims"] == 1

    # the list: titles and names, searchable, sortable; the export carries the same rows
    status, listing = _get(driver, "E300", "/finance/claims?from=2026-01&to=2026-12&sort=amount&dir=desc")
    assert status == 200 and listing["total"] == 2
    assert [row["title"] for row in listing["claims"]] == ["Client visit 客戶拜訪", "Trade fair 展覽會"]
    assert listing["claims"][0]["claimant"] == "黃小明 Wong Siu Ming"
    status, found = _get(driver, "E300", "/finance/claims?from=2026-01&to=2026-12&search=ho%20wing")
    assert [row["title"] for row in found["claims"]] == ["Trade fair 展覽會"]
    status, queues = _get(driver, "E300", "/finance/queues")
    assert status == 200 and set(queues) == {"anomalies", "needs_review"}

    headers = {**driver.auth("E300"), "Cookie": "lang=en"}
    resp = api.http.get("/finance/export?format=csv&from=2026-01&to=2026-12&sort=amount", headers=headers)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    text = resp.body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Claim", "Claimant", "Department"] and len(rows) == 3
    assert rows[1][0] == "Client visit 客戶拜訪" and rows[1][4] == i18n.t("en", "status.posted")
    assert rows[1][6].startswith("HK$")

    resp = api.http.get("/finance/export?format=xlsx&from=2026-01&to=2026-12&sort=amount",
                        headers={**driver.auth("E300"), "Cookie": "lang=zh-Hant",
                                 "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.body)).active
    assert sheet["A1"].value == "報銷單" and sheet["B2"].value == "黃小明 Wong Siu Ming"
    assert sheet["E2"].value == i18n.t("zh-Hant", "status.posted")  # the status in words, in Chinese
    assert Decimal(str(sheet["H2"].value)) == Decimal(listing["claims"][0]["hkd"]["amount"])
    assert sheet["H2"].number_format == '"HK$"#,##0.00' and sheet.max_row == 3
    assert json.dumps(sheet["A3"].value, ensure_ascii=False) == '"Trade fair 展覽會"'
