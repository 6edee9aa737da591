"""The pages' scripts are valid JavaScript files (none inline: the CSP allows only 'self') and the approval page
escapes what it shows."""

import re
import shutil
import subprocess

import pytest

from chalicelib.web import approval_pages, pages
from tests.unit.web.test_approval_pages import REPORT

HOME = pages.render("home.html", None, root="", title_key="home.title", max_upload_bytes=15 * 1024 * 1024)
PAGES = {"home": HOME, "approval": approval_pages.approval(REPORT, None),
         "refused": approval_pages.refused("expired", None),
         "inbox": pages.render("inbox.html", None, root="", title_key="inbox.title"),
         "signin": pages.render("signin.html", None, root="", title_key="signin.title", signin={
             "client_id": "c1", "cognito_endpoint": "http://127.0.0.1:5000/", "hosted_domain": ""}),
         "signin-hosted": pages.render("signin.html", None, root="", title_key="signin.title", signin={
             "client_id": "c1", "cognito_endpoint": "https://cognito-idp.ap-east-1.amazonaws.com/",
             "hosted_domain": "hk-expense-prod-signin.auth.ap-east-1.amazoncognito.com"})}
SCRIPTS = sorted(path.name for path in pages.STATIC_DIR.glob("*.js"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_page_scripts_parse(name, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot parse the page scripts")
    script, content_type = pages.static_asset(name)
    assert content_type.startswith("application/javascript")
    module = re.search(r"^(import|export) ", script, flags=re.M) is not None
    path = tmp_path / (name.removesuffix(".js") + (".mjs" if module else ".js"))  # node parses .mjs as a module
    path.write_text(script, encoding="utf-8")
    proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_have_no_inline_script_style_or_handler(name):
    html = PAGES[name]
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        data_block = re.fullmatch(r' type="application/json" id="(approval-data|messages)"', attrs)  # JSON, never run
        assert data_block or (re.fullmatch(r'( type="module")? src="(\.\./)?static/\w+\.js"', attrs) and body == "")
    assert "<style" not in html and not re.search(r"\s(on\w+|style)=", html)
    root = "" if name in ("home", "signin", "signin-hosted", "inbox") else "../"  # approval pages: approvals/{token}
    assert f'<link rel="stylesheet" href="{root}static/app.css">' in html


def test_static_assets_are_the_files_only():
    assert pages.static_asset("app.css")[1].startswith("text/css")
    for name in ("../pages.py", "pages.py", "static/app.css", "nope.js", ""):
        assert pages.static_asset(name) is None


def test_home_offers_the_camera_and_a_file_pick_each_for_several_receipts():
    camera = re.search(r'<input id="camera"[^>]*>', HOME).group(0)
    assert 'capture="environment"' in camera and 'accept="image/*,application/pdf"' in camera and "multiple" in camera
    files = re.search(r'<input id="files"[^>]*>', HOME).group(0)
    assert "capture" not in files and "multiple" in files  # a laptop picks several files
    assert 'role="status"' in HOME and 'aria-live="polite"' in HOME  # progress and results are announced
    assert 'data-max-bytes="15728640"' in HOME and "15 MB" in HOME


def test_home_has_no_finance_summary_nor_batch_approval():
    """Those have their own pages now (/finance, /inbox); home only says how many wait, approvers only."""
    script = pages.static_asset("home.js")[0]
    for gone in ("dashboard/summary", "dashboard/approvals", "me/approvals/decisions", 'id="waiting"'):
        assert gone not in HOME + script
    assert '"me/approvals"' in script and 'roles.includes("approver")' in script and "inbox" in script


def test_home_sends_a_notifications_claim_link_to_the_claim_page():
    script = pages.static_asset("home.js")[0]
    assert 'location.hash.slice(1)).get("claim")' in script
    assert "location.replace(`${root}claim/${encodeURIComponent(linked)}`)" in script


def test_the_phone_page_uploads_with_the_presigned_post_form():
    """The upload API answers a POST form (its policy binds the size): every field, then the file, by
    XMLHttpRequest so each file shows its own progress."""
    script = pages.static_asset("home.js")[0]
    assert "new FormData()" in script and "Object.entries(target.fields)" in script
    assert 'form.append("file", file)' in script and 'xhr.upload.addEventListener("progress"' in script
    assert 'method: "PUT"' not in script


def test_the_phone_page_reads_an_upload_as_an_expense_and_submits_it_alone_or_in_a_claim():
    script = pages.static_asset("home.js")[0]
    assert 'api("GET", path("expenses", item.expenseId))' in script  # polled until read
    assert 'api("POST", path("expenses", e.expense_id) + "/submit"' in script  # submitted on its own
    assert 'api("PATCH", path("expenses", e.expense_id), fixed)' in script  # corrected first
    assert '{expense_ids: [e.expense_id]}' in script and '{title, expense_ids: [e.expense_id]}' in script
    assert 'api("GET", "expenses")' in script and 'api("GET", "claims")' in script
    assert "review_reasons" in script and "confidence" in script  # doubtful fields marked with the reason


def test_pages_are_template_files_and_autoescaped():
    names = {p.name for p in pages.TEMPLATES_DIR.glob("*.html")}
    assert {"base.html", "home.html", "approval.html", "refused.html"} <= names
    assert "dashboard.html" not in names
    assert pages._env().autoescape is True


def test_vendor_assets_are_the_vendor_files_only():
    for name in ("../app.css", "app.css", "home.js", "../../pages.py", "nope.js", ""):
        assert pages.vendor_asset(name) is None


def test_the_browser_libraries_are_served_once_make_deps_copied_them():
    from infra import web_vendor

    assert not web_vendor.missing(), "chalicelib/web/static/vendor/ is incomplete: run `make deps`"
    for name in web_vendor.browser_files():
        content, content_type = pages.vendor_asset(name)
        assert content_type.startswith("application/javascript") and len(content) > 10_000


def test_the_csp_lets_the_sign_in_page_reach_cognito_and_the_hosted_ui_only():
    from chalicelib.web import security

    origins = security.sign_in_origins("https://cognito-idp.ap-east-1.amazonaws.com/",
                                       "hk-expense-prod-signin.auth.ap-east-1.amazoncognito.com")
    assert origins == ("https://cognito-idp.ap-east-1.amazonaws.com",
                       "https://hk-expense-prod-signin.auth.ap-east-1.amazoncognito.com")
    csp = dict(part.strip().split(" ", 1) for part in security.content_security_policy(
        "https://b.s3.ap-east-1.amazonaws.com", origins).split(";"))
    assert csp["connect-src"] == ("'self' https://b.s3.ap-east-1.amazonaws.com https://cognito-idp.ap-east-1."
                                  "amazonaws.com https://hk-expense-prod-signin.auth.ap-east-1.amazoncognito.com")
    assert csp["form-action"] == "'self'" and csp["script-src"] == "'self'"
    assert security.sign_in_origins("http://127.0.0.1:5123/", "") == ("http://127.0.0.1:5123",)  # moto's server


def test_the_sign_in_page_offers_the_hosted_ui_or_a_password_form():
    local, hosted = PAGES["signin"], PAGES["signin-hosted"]
    assert 'id="password-signin"' in local and 'type="password"' in local and 'id="hosted-signin"' not in local
    assert 'data-cognito="http://127.0.0.1:5000/"' in local and 'data-client-id="c1"' in local
    assert 'id="hosted-signin"' in hosted and 'type="password"' not in hosted
    assert 'data-hosted="hk-expense-prod-signin.auth.ap-east-1.amazoncognito.com"' in hosted
    assert 'autocomplete="current-password"' in local and '<label for="password">' in local
