"""The pages everyone shares and what they need to know about the reader: `/signin`, `GET /me`, and receipt
images. A Blueprint app.py registers; each page area (claim, inbox, finance) keeps its own module like this one.

Pages are shells rendered in the reader's language (the `lang` cookie, else Accept-Language); what is on them comes
from the JSON API with the reader's token, so a page's HTML never carries one person's claim data to a cache.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.services import receipts
from chalicelib.services.claims import NotFound
from chalicelib.web import http, pages

blueprint = Blueprint(__name__)


@blueprint.route("/signin", methods=["GET"])
@http.api
def signin_page():
    """Sign in, then back to `?next=` (signin.js). The local stack and dev sign in with a development token."""
    c = bootstrap.container()
    return pages.page("signin.html", blueprint.current_request, root="", title_key="signin.title",
                      dev_tokens=c.dev_issuer is not None)


@blueprint.route("/me", methods=["GET"])
@http.api
def who_am_i():
    """The signed-in person as the directory has them now: name, department, roles and the zone their times show
    in (so a page greets them and shows only the links their roles open)."""
    principal = http.principal(blueprint.current_request)
    c = bootstrap.container()
    employee = c.directory.employee(principal.employee_id)
    if employee is None:
        raise NotFound("you are not in the company directory 不在員工名錄")
    department = c.directory.department(employee.department_id)
    return http.json_response({
        "employee_id": employee.employee_id, "name": employee.name,
        "department_id": employee.department_id, "department": department.name if department else "",
        "roles": sorted(role.value for role in principal.roles), "timezone": employee.timezone})


@blueprint.route("/expenses/{expense_id}/receipt", methods=["GET"])
@http.api
def receipt_image(expense_id):
    """The receipt as read, by a short-lived link to that exact version (whoever may read the expense)."""
    c = bootstrap.container()
    url = receipts.receipt_url(http.principal(blueprint.current_request), c.expenses, c.claims, c.uploads,
                               expense_id)
    if "json" in (blueprint.current_request.headers.get("accept") or ""):
        return http.json_response({"url": url})
    return Response(body="", status_code=302, headers={"Location": url})
