"""The claim page (`/claim/{claim_id}`) and what it reads besides the claims API: the claim's timeline.

The page is a shell in the reader's language; claim.js fetches the claim (GET /claims/{id}) and its timeline with
the reader's token, so the HTML never carries one person's claim to a cache, and the claim's read rules decide
what anyone sees (others get "not found").
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.services import claim_page
from chalicelib.web import http, pages

blueprint = Blueprint(__name__)


@blueprint.route("/claim/{claim_id}", methods=["GET"])
@http.api
def claim_page_shell(claim_id):
    """The page for one claim: its expenses with receipts, totals, timeline, and edit mode for its owner."""
    return pages.page("claim.html", blueprint.current_request, root="../", title_key="claim.title",
                      claim_id=claim_id)


@blueprint.route("/claims/{claim_id}/timeline", methods=["GET"])
@http.api
def claim_timeline(claim_id):
    """Submitted → each step's decision (by name, when, with what comment) → posted; who holds it now and since
    when; the totals with their HKD equivalents (as valued at submission, else an estimate)."""
    c = bootstrap.container()
    view = claim_page.claim_timeline(http.principal(blueprint.current_request), c.claims, c.links, c.directory,
                                     claim_id)
    return http.json_response(view)
