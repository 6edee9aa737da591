"""The pages' scripts are valid JavaScript files (none inline: the CSP allows only 'self') and the approval page
escapes what it shows."""

import json
import re
import shutil
import subprocess

import pytest

from chalicelib.web import pages

HOME = pages.render("home.html", None, root="", title_key="home.title", max_upload_bytes=15 * 1024 * 1024)
PAGES = {"home": HOME, "approval": pages.approval({"claim_id": "c-1", "vendor": "x"}),
         "refused": pages.refused("expired"),
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
        data_block = re.fullmatch(r' type="application/json" id="(claim|messages)"', attrs)  # JSON, never run
        assert data_block or (re.fullmatch(r'( type="module")? src="(\.\./)?static/\w+\.js"', attrs) and body == "")
    assert "<style" not in html and not re.search(r"\s(on\w+|style)=", html)
    root = "" if name in ("home", "signin", "signin-hosted") else "../"  # approval pages: approvals/{token}
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


def test_approval_page_escapes_claim_content():
    html = pages.approval({"claim_id": "c-1", "vendor": "<script>alert(1)</script>", "risk_reasons": ["<b>x</b>"]})
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>x</b>" not in html


PARTIAL = {"claim_id": "c-2", "vendor": "Hotel", "currency": "HKD", "payable": "900.00", "line_items": [
    {"line": 0, "description": "Room 房間", "amount": "900.00", "disallowed_reason": None},
    {"line": 1, "description": "<i>Minibar</i>", "amount": "120.00", "disallowed_reason": "personal 私人消費"},
    {"line": 2, "description": "Laundry 洗衣", "amount": "80.00", "disallowed_reason": None},
]}


def test_approval_page_lets_each_open_line_be_disallowed():
    html = pages.approval(PARTIAL)
    boxes = re.findall(r"class='disallow' data-line='(\d+)'", html)
    assert boxes == ["0", "2"]  # line 1 is already disallowed: shown with its reason, no checkbox
    assert "personal 私人消費" in html and "<i>Minibar</i>" not in html and "&lt;i&gt;Minibar" in html
    assert "HKD 900.00" in html
    assert 'input.disallow:checked' in pages.static_asset("approval.js")[0]  # the script reads those boxes


def test_the_phone_page_uploads_with_the_presigned_post_form():
    """The upload API answers a POST form (its policy binds the size): every field, then the file, by
    XMLHttpRequest so each file shows its own progress."""
    script = pages.static_asset("home.js")[0]
    assert "new FormData()" in script and "Object.entries(target.fields)" in script
    assert 'form.append("file", file)' in script and 'xhr.upload.addEventListener("progress"' in script
    assert 'method: "PUT"' not in script


def test_a_step_up_claim_says_who_must_sign_in_and_its_script_signs_them_in():
    html = pages.approval({**PARTIAL, "approver_id": "E200", "sign_in_required": True})
    assert "id='step-up'" in html and "data-approver='E200'" in html and "signed in as E200" in html
    assert "step-up" not in pages.approval({**PARTIAL, "approver_id": "E200", "sign_in_required": False})
    script = pages.static_asset("approval.js")[0]
    assert 'getElementById("step-up")' in script and "headers.Authorization" in script


def test_the_phone_page_reads_an_upload_as_an_expense_and_submits_it_alone_or_in_a_claim():
    script = pages.static_asset("home.js")[0]
    assert 'api("GET", path("expenses", item.expenseId))' in script  # polled until read
    assert 'api("POST", path("expenses", e.expense_id) + "/submit"' in script  # submitted on its own
    assert 'api("PATCH", path("expenses", e.expense_id), fixed)' in script  # corrected first
    assert '{expense_ids: [e.expense_id]}' in script and '{title, expense_ids: [e.expense_id]}' in script
    assert 'api("GET", "expenses")' in script and 'api("GET", "claims")' in script
    assert "review_reasons" in script and "confidence" in script  # doubtful fields marked with the reason


REPORT = {"claim_id": "c-9", "title": "Macau trip 澳門", "employee_id": "E201", "amounts": "HKD 147.00 + MOP 1,920.00",
          "payable_amounts": "HKD 147.00 + MOP 1,680.00", "risk_reasons": [], "expenses": [
              {"expense_id": "e-1", "label": "MGM <Macau>", "kind": "receipt", "date": "2026-11-17", "total": "1920.00",
               "currency": "MOP", "category": "travel", "risk_reasons": ["duplicate?"], "rate": None,
               "line_items": [{"line": 0, "description": "Room", "amount": "1680.00", "disallowed_reason": None},
                              {"line": 1, "description": "Minibar", "amount": "240.00",
                               "disallowed_reason": "personal"}]},
              {"expense_id": "e-2", "label": "mileage 42 km", "kind": "mileage", "date": "2026-11-18",
               "total": "147.00", "currency": "HKD", "category": "travel", "risk_reasons": [], "line_items": [],
               "rate": {"working": "42 km × HKD 3.50/km", "source": "policy 2026"}},
              {"expense_id": "e-3", "label": "Taxi", "kind": "lost_receipt", "date": "2026-11-18", "total": "80.00",
               "currency": "HKD", "category": "taxi", "lost_receipt_reason": "driver had no printer",
               "disallowed_reason": "no evidence", "risk_reasons": [], "line_items": []}]}


def test_approval_page_shows_every_expense_and_lets_each_be_disallowed_whole():
    html = pages.approval(REPORT)
    assert html.count("<article class='expense") == 3 and "Macau trip 澳門" in html
    assert "MGM &lt;Macau&gt;" in html and "MOP 1,920.00" in html and "duplicate?" in html
    assert "42 km × HKD 3.50/km" in html and "policy 2026" in html  # the rate working of a mileage line
    assert "driver had no printer" in html and "no evidence" in html  # no receipt, and already disallowed
    assert re.findall(r"class='disallow-expense' data-expense='([\w-]+)'", html) == ["e-1", "e-2"]
    assert re.findall(r"class='disallow' data-line='(\d+)' data-expense='([\w-]+)'", html) == [("0", "e-1")]
    assert "id='payable'>HKD 147.00 + MOP 1,680.00<" in html
    script = pages.static_asset("approval.js")[0]
    assert "expense_id: x.dataset.expense" in script and "input.disallow-expense:checked" in script
    assert 'getElementById("payable")' in script  # payable follows the ticks


def test_approval_page_data_block_is_json_that_cannot_close_the_script():
    html = pages.approval({**REPORT, "title": "</script><script>alert(1)</script> & co"})
    block = re.search(r'<script type="application/json" id="claim">(.*?)</script>', html, flags=re.S).group(1)
    assert json.loads(block)["title"] == "</script><script>alert(1)</script> & co"


def test_pages_are_template_files_and_autoescaped():
    names = {p.name for p in pages.TEMPLATES_DIR.glob("*.html")}
    assert {"base.html", "home.html", "approval.html", "refused.html"} <= names
    assert "dashboard.html" not in names
    assert pages._env().autoescape is True
    assert "&lt;b&gt;" in pages.refused("<b>gone</b>")


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
