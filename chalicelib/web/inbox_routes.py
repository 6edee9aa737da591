"""The approver's inbox page, `/inbox`: what waits for the signed-in approver (GET /me/approvals, app.py), each
row opening its approval page, several approved at once (POST /me/approvals/decisions). A shell rendered in the
reader's language; the rows come from the API with the reader's token (inbox.js)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.web import http, pages

blueprint = Blueprint(__name__)


@blueprint.route("/inbox", methods=["GET"])
@http.api
def inbox_page():
    return pages.page("inbox.html", blueprint.current_request, root="", title_key="inbox.title")
