"""The vendor directory over the API (a Blueprint app.py registers): finance extends the shipped seed.

- `GET /vendors`: every entry, the seed with finance's entries over it (finance, auditors, admins);
- `POST /vendors`: a new entry (finance, admins); an id finance already has is 409, a seed id is replaced;
- `PUT /vendors/{vendor_id}`: finance's version of an entry, new or replacing a seed or finance entry.

The body is a `Vendor` (chalicelib/domain/vendors.py); `source` is always "finance" on what is stored. Each change
is audited under `VENDOR#<id>` with the entry it replaced.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.domain.access import require_dashboard
from chalicelib.domain.claim import InvalidClaim
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.domain.vendors import Vendor
from chalicelib.web import http

blueprint = Blueprint(__name__)


def _request():
    return blueprint.current_request


def _require_editor(principal: Principal) -> None:
    """Who may change the directory: finance keeps it; admins may; auditors only read it."""
    if not (principal.has(Role.FINANCE) or principal.has(Role.ADMIN)):
        raise Forbidden("the vendor directory is kept by finance and admins")


def _body() -> Vendor:
    payload = _request().json_body
    if not isinstance(payload, dict):
        raise InvalidClaim("the body is a vendor entry (a JSON object)")
    return Vendor.model_validate({**payload, "source": "finance"})


def _save(principal: Principal, vendor: Vendor, *, new: bool) -> Vendor:
    """Store finance's entry and audit it with what it replaced: the directory decides partner-vendor findings."""
    c = bootstrap.container()
    before = c.vendors.directory().get(vendor.id)
    stored = c.vendors.put(vendor, principal.employee_id, new=new)
    c.audit.append(f"VENDOR#{stored.id}", principal, "vendor.added" if before is None else "vendor.changed",
                   before.model_dump(mode="json") if before else None, stored.model_dump(mode="json"))
    return stored


@blueprint.route("/vendors", methods=["GET"])
@http.api
def list_vendors():
    require_dashboard(http.principal(_request()), "the vendor directory")
    directory = bootstrap.container().vendors.directory()
    return http.json_response({"vendors": [v.model_dump(mode="json") for v in directory.vendors]})


@blueprint.route("/vendors", methods=["POST"])
@http.api
def add_vendor():
    principal = http.principal(_request())
    _require_editor(principal)
    stored = _save(principal, _body(), new=True)
    return http.json_response(stored.model_dump(mode="json"), 201)


@blueprint.route("/vendors/{vendor_id}", methods=["PUT"])
@http.api
def put_vendor(vendor_id: str):
    principal = http.principal(_request())
    _require_editor(principal)
    vendor = _body()
    if vendor.id != vendor_id:
        raise InvalidClaim(f"the body's id {vendor.id!r} is not {vendor_id!r}")
    return http.json_response(_save(principal, vendor, new=False).model_dump(mode="json"))
