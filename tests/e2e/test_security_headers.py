"""Every kind of API response carries the security headers: pages, static files, JSON, refusals, Chalice's own
errors and an unexpected failure. Approval tokens travel in URLs, so the Referer must never leak them."""

from __future__ import annotations

import json

import pytest

from chalicelib import bootstrap

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def _check(resp, cache: str = "no-store") -> None:
    headers = {k.lower(): v for k, v in resp.headers.items()}
    for name, value in COMMON.items():
        assert headers.get(name.lower()) == value, name
    csp = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'" and "unsafe" not in headers["content-security-policy"]
    c = bootstrap.container()  # the dashboard PUTs receipts to the uploads bucket's URLs, nowhere else
    # and the sign-in page reaches Cognito (InitiateAuth locally; the Hosted UI's token endpoint where there is one)
    assert csp["connect-src"] == f"'self' {c.uploads.origin()} https://cognito-idp.ap-east-1.amazonaws.com"
    assert csp["img-src"] == f"'self' {c.uploads.origin()} blob:"  # receipt images: presigned GETs, previews
    assert c.uploads.origin().startswith(f"https://{c.settings.uploads_bucket}.s3.")
    assert headers["cache-control"] == cache


ROUTES = {
    "html page": ("GET", "/", None, {}, 200, "text/html"),
    "json": ("POST", "/dev/token", {"employee_id": "E201"}, {}, 200, "application/json"),
    "json error": ("GET", "/claims", None, {}, 401, "application/json"),
    "html refusal": ("GET", "/approvals/not.valid", None, {"Accept": "text/html"}, 410, "text/html"),
    "missing static file": ("GET", "/static/nope.js", None, {}, 404, "application/json"),
    "missing vendor file": ("GET", "/static/vendor/nope.js", None, {}, 404, "application/json"),
    "chalice's own 405": ("DELETE", "/", None, {}, 405, "application/json"),
}


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_every_kind_of_response_has_the_security_headers(api, kind):
    method, path, body, headers, status, content_type = ROUTES[kind]
    resp = api.http.request(method, path, body=json.dumps(body).encode() if body else b"",
                            headers={"Content-Type": "application/json", **headers})
    assert resp.status_code == status
    assert {k.lower(): v for k, v in resp.headers.items()}["content-type"].startswith(content_type)
    _check(resp)


def test_static_script_is_javascript_with_the_headers_and_may_be_cached_briefly(api):
    resp = api.http.get("/static/home.js")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/javascript")
    assert b"me/approvals" in resp.body
    _check(resp, cache="public, max-age=300")


def test_vendored_browser_libraries_are_served_from_the_app_with_the_headers(api):
    """chart.js and axe-core from package-lock.json (copied by `make deps`), served by the API: no CDN."""
    for name, marker in (("chart.umd.js", b"Chart.js v"), ("axe.min.js", b"axe")):
        resp = api.http.get(f"/static/vendor/{name}")
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/javascript")
        assert marker in resp.body[:400]
        _check(resp, cache="public, max-age=3600")


def test_an_unexpected_failure_outside_the_routes_still_has_the_headers(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the audit table is unreachable")

    monkeypatch.setattr(bootstrap.container().audit, "event", broken)
    resp = api.http.get("/")
    assert resp.status_code == 500 and json.loads(resp.body)["error"] == "internal error"
    _check(resp)
