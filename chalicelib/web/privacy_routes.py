"""Personal data routes (PDPO), a Blueprint app.py registers. Who may call each is domain/rbac.py's table,
checked before these run; the use cases (services/privacy.py) check the record again and audit every event.

- `PUT /me/bank-account`: the employee's own account for reimbursements, sealed under envelope encryption;
- `GET /employees/{employee_id}/bank-account`: the account in full, for payroll and finance admins, each read audited;
- `GET /me/data-export`: everything held about the caller (DSAR), a ZIP (data.json + summary.txt) or `?format=json`;
- `POST /admin/dsar/{employee_id}`: the same for one employee, run by a finance admin (audited);
- `POST /me/correction-requests`, `GET /me/correction-requests`: what is wrong, in the person's words, and the answer;
- `GET /finance/correction-requests`, `POST /finance/correction-requests/{request_id}/resolve`: finance's queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.domain.bank_account import BankAccount
from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.identity import Principal
from chalicelib.domain.privacy import CorrectionRequest
from chalicelib.services import privacy
from chalicelib.web import http, i18n

blueprint = Blueprint(__name__)
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 (the entry point's clock; tests replace it)
ZIP_TYPE = "application/zip"


def _request():
    return blueprint.current_request


def _principal() -> Principal:
    return http.principal(_request())


def _locale() -> str:
    return i18n.locale_of(_request())


def _body() -> dict:
    try:
        body = _request().json_body
    except Exception as exc:
        raise InvalidClaim("the request body is not valid JSON") from exc
    if body is not None and not isinstance(body, dict):
        raise InvalidClaim("the request body must be a JSON object")
    return body or {}


@blueprint.route("/me/bank-account", methods=["PUT"])
@http.api
def set_bank_account():
    c = bootstrap.container()
    account = BankAccount.model_validate(_body())
    answer = privacy.set_bank_account(_principal(), c.bank_vault, c.audit, account, clock())
    return http.json_response({**answer, "message": i18n.t(_locale(), "privacy.bank.saved",
                                                           account=answer["bank_account"]["account_number"])})


@blueprint.route("/employees/{employee_id}/bank-account", methods=["GET"])
@http.api
def read_bank_account(employee_id: str):
    c = bootstrap.container()
    answer = privacy.read_bank_account(_principal(), c.bank_vault, c.audit, c.directory, employee_id)
    return http.json_response({**answer, "message": i18n.t(_locale(), "privacy.bank.read_recorded")})


@blueprint.route("/me/data-export", methods=["GET"])
@http.api
def my_data_export():
    principal = _principal()
    return _export(principal.employee_id, principal)


@blueprint.route("/admin/dsar/{employee_id}", methods=["POST"])
@http.api
def data_export_for(employee_id: str):
    return _export(employee_id, _principal())


def _export(subject_id: str, requester: Principal) -> Response:
    c = bootstrap.container()
    now = clock()
    data = privacy.data_export(subject_id, requester, c.directory, c.holdings, c.audit, c.bank_vault, c.corrections,
                               now)
    locale = _locale()
    lines = privacy.summary_lines(data, lambda key, **values: i18n.t(locale, key, **values))
    if (_request().query_params or {}).get("format") == "json":
        return http.json_response({"summary": lines, "data": data})
    stamp = now.strftime("%Y%m%d")
    return Response(body=privacy.as_zip(data, lines), status_code=200, headers={
        "Content-Type": ZIP_TYPE, "Content-Disposition": f'attachment; filename="my-data-{subject_id}-{stamp}.zip"'})


def _correction_json(request: CorrectionRequest, locale: str) -> dict:
    return {**request.model_dump(mode="json"),
            "status_words": i18n.t(locale, f"privacy.correction.status.{request.status.value}")}


@blueprint.route("/me/correction-requests", methods=["POST"])
@http.api
def request_correction():
    c = bootstrap.container()
    body = privacy.CorrectionBody.model_validate(_body())
    request = privacy.request_correction(_principal(), c.corrections, c.audit, body, clock())
    locale = _locale()
    return http.json_response({"request": _correction_json(request, locale),
                               "message": i18n.t(locale, "privacy.correction.received")}, 201)


@blueprint.route("/me/correction-requests", methods=["GET"])
@http.api
def my_correction_requests():
    found = privacy.my_corrections(_principal(), bootstrap.container().corrections)
    return http.json_response({"requests": [_correction_json(r, _locale()) for r in found]})


@blueprint.route("/finance/correction-requests", methods=["GET"])
@http.api
def correction_queue():
    c = bootstrap.container()
    status = (_request().query_params or {}).get("status")
    found = privacy.correction_queue(_principal(), c.corrections, c.directory, status)
    return http.json_response({"requests": [_correction_json(r, _locale()) for r in found]})


@blueprint.route("/finance/correction-requests/{request_id}/resolve", methods=["POST"])
@http.api
def resolve_correction(request_id: str):
    c = bootstrap.container()
    resolution = privacy.Resolution.model_validate(_body())
    request = privacy.resolve_correction(_principal(), c.corrections, c.directory, c.audit, request_id, resolution,
                                         clock())
    return http.json_response({"request": _correction_json(request, _locale())})
