"""The finance dashboard: the `/finance` page and its JSON API (a Blueprint app.py registers).

- `GET /finance/overview`: KPI figures and chart series for a month range and filters, summed from the aggregates
  the claims stream keeps (services/finance.py), never from a Scan;
- `GET /finance/claims`: the claim list (filters, search, sort, pages) from the claims table's by-department index;
- `GET /finance/queues`: the anomaly and needs-review queues, from their sparse indexes, each claim with reasons;
- `GET /finance/export?format=csv|xlsx`: what the list shows (same filters, search and sort), every row.

Query parameters: `department` (an id or `all`), `from`, `to` (YYYY-MM, Hong Kong months; default the last 12),
`status` (comma-separated), `category`, and for the list `search`, `sort`, `dir` (asc|desc), `page`, `page_size`.
Finance sees its own department (asking for another is 403); auditors and admins any department or all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from chalice import Blueprint, Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from chalicelib import bootstrap
from chalicelib.domain import finance as fin
from chalicelib.domain import masking
from chalicelib.domain.access import reads_every_department, require_dashboard
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.errors import InvalidClaim
from chalicelib.services import finance
from chalicelib.web import http, i18n, pages

blueprint = Blueprint(__name__)
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 (tests replace it)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
_LIST_PARAMS = {"search": "search", "sort": "sort", "page": "page", "page_size": "page_size"}


def _request():
    return blueprint.current_request


def _params() -> dict[str, str]:
    return dict(_request().query_params or {})


def _default_range(now: datetime) -> tuple[str, str]:
    here = now.astimezone(fin.HK)
    to = here.strftime("%Y-%m")
    y, m = here.year, here.month - 11
    if m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}", to


def _query(params: dict[str, str]) -> dict:
    start, end = _default_range(clock())
    statuses = [s for s in (params.get("status") or "").split(",") if s]
    return {"department": params.get("department") or None, "from_month": params.get("from") or start,
            "to_month": params.get("to") or end, "status": statuses, "category": params.get("category") or None}


def _list_query(params: dict[str, str]) -> finance.ListQuery:
    extra = {name: params[key] for key, name in _LIST_PARAMS.items() if params.get(key)}
    if params.get("dir"):
        extra["descending"] = params["dir"] != "asc"
    return finance.ListQuery.model_validate({**_query(params), **extra})


@blueprint.route("/finance", methods=["GET"])
@http.api
def finance_page():
    """The page is a shell in the reader's language; its figures come from the API with the reader's token."""
    return pages.page("finance.html", _request(), root="", title_key="finance.title",
                      statuses=[s.value for s in ClaimStatus], categories=CATEGORIES)


CATEGORIES = ("meals", "entertainment", "taxi", "travel", "general")


@blueprint.route("/finance/overview", methods=["GET"])
@http.api
def finance_overview():
    principal = http.principal(_request())
    c = bootstrap.container()
    query = finance.DashboardQuery.model_validate(_query(_params()))
    answer = finance.overview(principal, query, c.aggregates, c.directory)
    answer["can_pick_department"] = reads_every_department(principal)
    answer["choices"] = _choices(principal, c.directory, answer["departments"])
    return http.json_response(answer)


def _choices(principal, directory, shown: list[dict]) -> list[dict]:
    """The departments this reader may pick: finance, their own (already in the answer); auditors and admins,
    every one (already in the answer when it covers all)."""
    if not reads_every_department(principal) or len(shown) > 1:
        return [{"department_id": d["department_id"], "name": d["name"]} for d in shown]
    return [{"department_id": d.department_id, "name": d.name} for d, _ in directory.departments()]


@blueprint.route("/finance/claims", methods=["GET"])
@http.api
def finance_claims():
    c = bootstrap.container()
    answer = finance.claim_list(http.principal(_request()), _list_query(_params()), c.claim_indexes, c.directory)
    return http.json_response(answer)


@blueprint.route("/finance/queues", methods=["GET"])
@http.api
def finance_queues():
    c = bootstrap.container()
    principal = http.principal(_request())
    require_dashboard(principal)
    return http.json_response(finance.queues(principal, _params().get("department") or None, c.claim_indexes,
                                             c.directory))


@blueprint.route("/finance/export", methods=["GET"])
@http.api
def finance_export():
    """What the list shows, every row (not one page), in the reader's language: CSV (UTF-8 with a byte-order
    mark, so spreadsheet programs read the Chinese) or XLSX (HKD as numbers with the HK$ format)."""
    c = bootstrap.container()
    params = _params()
    fmt = params.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise InvalidClaim("format is csv or xlsx")
    principal = http.principal(_request())
    rows, _ = finance.claim_rows(principal, _list_query(params), c.claim_indexes, c.directory)
    locale = i18n.locale_of(_request())
    employee = c.directory.employee(principal.employee_id)
    zone = employee.timezone if employee else pages.VIEWER_ZONE
    table = export_table(rows, locale, zone, principal.roles)
    stamp = clock().astimezone(fin.HK).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body, content_type = to_csv(table), CSV_TYPE
    else:
        body, content_type = to_xlsx(table, i18n.t(locale, "finance.export.sheet")), XLSX_TYPE
    return Response(body=body, status_code=200, headers={
        "Content-Type": content_type, "Content-Disposition": f'attachment; filename="claims-{stamp}.{fmt}"'})


EXPORT_COLUMNS = ("title", "claimant", "department", "created", "status", "categories", "amounts", "hkd",
                  "flagged", "reasons")


def export_table(rows: list[dict], locale: str, zone: str, roles: frozenset = frozenset()) -> list[list[object]]:
    """Header and rows as people read them: localised words, amounts with their currency, HKD as a Decimal; card,
    HKID and bank account numbers in claim text masked unless the reader's roles need them (domain/masking.py)."""
    def words(prefix: str, value: str) -> str:
        try:
            return i18n.t(locale, f"{prefix}.{value}")
        except i18n.MissingMessage:
            return value

    out: list[list[object]] = [[i18n.t(locale, f"finance.col.{c}") for c in EXPORT_COLUMNS]]
    yes, no = i18n.t(locale, "finance.yes"), i18n.t(locale, "finance.no")
    for r in rows:
        out.append([
            r["title"], r["claimant"], r["department"], i18n.when(r["created_at"], zone, locale),
            words("status", r["status"]), ", ".join(words("category", c) for c in r["categories"]),
            " + ".join(i18n.money(a["amount"], a["currency"], locale) for a in r["amounts"]),
            Decimal(r["hkd"]["amount"]), yes if r["flagged"] else no, "; ".join(r["reasons"] + r["review_reasons"]),
        ])
    return [[masking.scrub(v, roles) if isinstance(v, str) else v for v in row] for row in out]


def to_csv(table: list[list[object]]) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    for row in table:
        writer.writerow([_csv_safe(v) for v in row])
    return buf.getvalue()


def _csv_safe(value: object) -> str:
    """Claim text is untrusted: a cell starting with = + - @ would run as a formula in a spreadsheet."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not isinstance(value, Decimal) else text


def to_xlsx(table: list[list[object]], sheet: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    hkd_col = EXPORT_COLUMNS.index("hkd") + 1
    for i, row in enumerate(table, start=1):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j)
            cell.value = value
            if isinstance(value, str) and value[:1] == "=":
                cell.data_type = "s"  # claim text is untrusted: text, never a formula
            if i == 1:
                cell.font = Font(bold=True)
            elif j == hkd_col:
                cell.number_format = '"HK$"#,##0.00'
    for j in range(1, len(EXPORT_COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 18
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
