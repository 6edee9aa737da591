"""Posting to the books over the API (a Blueprint app.py registers):

- `POST /fx-rates`: finance's dated rates, a CSV `currency,date,rate,source` (HKD per one unit), all or nothing:
  a file with a bad row loads nothing and lists every bad row (400). Each rate carries who loaded it and when.
  Finance and admins only.
- `GET /finance/reconciliation?period=YYYY-MM[&format=csv]`: approved vs posted vs failed per ledger for the month
  (Hong Kong time) the claims were approved in, and every difference with its reason; `format=csv` downloads it.
- `GET /finance/journal.csv?period=YYYY-MM[&ledger=journal_csv]`: the general journal of the month's postings
  (date, journal id, account, cost centre, debit, credit, currency, original amount, rate, rate date, source,
  description, profits tax tag and the rule that decided it), rendered from the posting records; the
  `journal_csv` ledger's document links here.
- `POST /finance/claims/{claim_id}/repost`: a claim whose posting failed, queued again once finance fixed the cause.
- `GET /finance/ir56b.csv?year=2026`: allowances paid above their non-taxable rate, per employee, for the tax year
  1 April 2026 - 31 March 2027, in IR56B box 11(k) form with every line's rule (chalicelib/domain/ledger_ir56b.py).
  Finance and admins; the HKID (box 3(a)) in full only for finance, who files the return; masked for admins.
  Every download is an audit record (who, which year, how many employees, HKID shown or masked).
Reading is for finance (its own department's claims), auditors and admins (every department), as the dashboard;
changing is for finance and admins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.domain import masking
from chalicelib.domain.access import reads_every_department, require_dashboard
from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.fx_rates import RateUploadRejected, parse_rates_csv
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.ledger_ir56b import TaxYear, current_tax_year
from chalicelib.domain.posting_record import (
    PostingState,
    check_period,
    journal_csv,
    period_of,
    reconcile,
    reconciliation_csv,
)
from chalicelib.services import posting
from chalicelib.web import http, i18n

blueprint = Blueprint(__name__)
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 (tests replace it)
CSV_TYPE = "text/csv; charset=utf-8"
MAX_UPLOAD_BYTES = 1_000_000
LEDGERS = ("internal", "journal_csv", "xero", "quickbooks", "netsuite", "yonyou")


def _request():
    return blueprint.current_request


def _require_finance_admin(principal: Principal, what: str) -> None:
    if not (principal.has(Role.FINANCE) or principal.has(Role.ADMIN)):
        raise Forbidden(f"{what} is for finance and admins")


def _period() -> str:
    params = dict(_request().query_params or {})
    try:
        return check_period(params.get("period") or period_of(clock()))
    except ValueError as e:
        raise InvalidClaim(str(e)) from None


@blueprint.route("/fx-rates", methods=["POST"], content_types=["text/csv", "text/plain", "application/octet-stream"])
@http.api
def upload_rates():
    principal = http.principal(_request())
    _require_finance_admin(principal, "loading exchange rates")
    raw = _request().raw_body or b""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InvalidClaim(f"the file is over {MAX_UPLOAD_BYTES // 1000} KB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidClaim("the file is not UTF-8 text") from None
    now = clock()
    try:
        rates = parse_rates_csv(text, loaded_by=principal.employee_id, loaded_at=now)
    except RateUploadRejected as e:
        return http.json_response({"error": str(e), "rows": [r.model_dump() for r in e.errors]}, 400)
    c = bootstrap.container()
    loaded = c.rates.put_many(rates)
    summary = {"loaded": loaded, "currencies": sorted({r.currency for r in rates}),
               "from": min(r.rate_date for r in rates).isoformat(), "to": max(r.rate_date for r in rates).isoformat(),
               "loaded_by": principal.employee_id, "loaded_at": now.isoformat()}
    c.audit.event("FXRATES", now, principal, "fx_rates.loaded", summary)
    return http.json_response(summary, 201)


def _records(principal: Principal, period: str):
    """The period's posting records this reader may see: finance its own department's, auditors and admins all."""
    records = bootstrap.container().posting_records.by_period(period)
    if reads_every_department(principal):
        return records
    return [r for r in records if r.department_id == principal.department_id]


def _words(locale: str, key: str, fallback: str) -> str:
    try:
        return i18n.t(locale, key)
    except i18n.MissingMessage:
        return fallback


@blueprint.route("/finance/reconciliation", methods=["GET"])
@http.api
def reconciliation():
    principal = http.principal(_request())
    require_dashboard(principal, "reconciliation")
    period = _period()
    c = bootstrap.container()
    result = reconcile(period, _records(principal, period), clock(), c.settings.posting_max_receives)
    if (dict(_request().query_params or {})).get("format") == "csv":
        return Response(body="\ufeff" + reconciliation_csv(result), status_code=200, headers={
            "Content-Type": CSV_TYPE, "Content-Disposition": f'attachment; filename="reconciliation-{period}.csv"'})
    locale = i18n.locale_of(_request())
    body = result.model_dump(mode="json")
    for f in body["ledgers"]:
        f["ledger_name"] = _words(locale, f"ledger.name.{f['ledger']}", f["ledger"])
    for d in body["differences"]:
        d["ledger_name"] = _words(locale, f"ledger.name.{d['ledger']}", d["ledger"])
        d["kind_text"] = _words(locale, f"reconciliation.kind.{d['kind']}", d["kind"])
    return http.json_response(body)


@blueprint.route("/finance/journal.csv", methods=["GET"])
@http.api
def journal():
    principal = http.principal(_request())
    require_dashboard(principal, "the general journal")
    period = _period()
    ledger = (dict(_request().query_params or {})).get("ledger")
    if ledger is not None and ledger not in LEDGERS:
        raise InvalidClaim(f"ledger is one of {', '.join(LEDGERS)}")
    records = [r for r in _records(principal, period)
               if r.state == PostingState.POSTED and (ledger is None or r.ledger == ledger)]
    rows = [row for r in sorted(records, key=lambda r: r.claim_id) for row in r.journal]
    body = masking.scrub(journal_csv(rows), principal.roles)  # card/HKID/account numbers in claim text
    return Response(body="\ufeff" + body, status_code=200, headers={
        "Content-Type": CSV_TYPE, "Content-Disposition": f'attachment; filename="journal-{period}.csv"'})


@blueprint.route("/finance/ir56b.csv", methods=["GET"])
@http.api
def ir56b():
    principal = http.principal(_request())
    _require_finance_admin(principal, "the IR56B allowances export")
    raw = (dict(_request().query_params or {})).get("year")
    now = clock()
    try:
        year = TaxYear(year=int(raw)) if raw else current_tax_year(now)
    except ValueError:
        raise InvalidClaim("year is the year the tax year starts in, like 2026 for 1 April 2026 - 31 March 2027") \
            from None
    show_hkid = principal.has(Role.FINANCE)
    department = None if reads_every_department(principal) else principal.department_id
    c = bootstrap.container()
    body, employees = posting.ir56b_export(c.posting, year, show_hkid=show_hkid, department_id=department)
    c.audit.event("IR56B", now, principal, "ir56b.exported", {
        "tax_year": year.label, "employees": employees, "hkid": "shown" if show_hkid else "masked",
        "department": department or "all"})
    return Response(body="\ufeff" + body, status_code=200, headers={
        "Content-Type": CSV_TYPE, "Content-Disposition": f'attachment; filename="ir56b-11k-{year.year}.csv"',
        "Cache-Control": "no-store"})


@blueprint.route("/finance/claims/{claim_id}/repost", methods=["POST"])
@http.api
def repost(claim_id: str):
    principal = http.principal(_request())
    _require_finance_admin(principal, "posting a claim again")
    c = bootstrap.container()
    try:
        record = posting.repost(c.posting, claim_id, principal)
    except posting.ClaimMissing:
        return http.json_response({"error": f"no claim {claim_id}"}, 404)
    except posting.NotApproved as e:
        return http.json_response({"error": str(e)}, 409)
    c.posting_queue.send({"claim_id": claim_id, "period": record.period, "task_token": None})
    return http.json_response({"claim_id": claim_id, "period": record.period, "ledger": record.ledger,
                               "queued": True}, 202)
