"""The pages' scripts are valid JavaScript files (none inline: the CSP allows only 'self') and the approval page
escapes what it shows."""

import re
import shutil
import subprocess

import pytest

from chalicelib.web import approval_pages, pages
from tests.unit.web.test_approval_pages import REPORT

PAGES = {"dashboard": pages.dashboard(), "approval": approval_pages.approval(REPORT, None),
         "refused": approval_pages.refused("expired", None),
         "inbox": pages.render("inbox.html", None, root="", title_key="inbox.title"),
         "signin": pages.render("signin.html", None, root="", title_key="signin.title", dev_tokens=True)}
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
    root = "" if name in ("dashboard", "signin", "inbox") else "../"  # the approval pages live at approvals/{token}
    assert f'<link rel="stylesheet" href="{root}static/app.css">' in html


def test_static_assets_are_the_files_only():
    assert pages.static_asset("app.css")[1].startswith("text/css")
    for name in ("../pages.py", "pages.py", "static/app.css", "nope.js", ""):
        assert pages.static_asset(name) is None


def test_dashboard_offers_a_camera_upload_and_a_review_form():
    html = pages.dashboard()
    assert 'capture="environment"' in html and 'accept="image/*,application/pdf"' in html
    for field in ("vendor", "receipt_date", "total", "currency", "category", "purpose", "urgent"):
        assert f'name="{field}"' in html


def test_dashboard_lists_what_waits_for_the_signed_in_approver():
    html = pages.dashboard() + pages.static_asset("dashboard.js")[0]
    assert 'id="waiting"' in html and '"me/approvals"' in html and "待我審批" in html
    assert 'class="pick"' in html and '"me/approvals/decisions"' in html  # batch approval of the ticked ones
    assert '"dashboard/approvals"' in html and 'id="bottlenecks"' in html  # finance: who is sitting on claims


def test_dashboard_opens_the_claim_a_notification_links_to():
    html = pages.static_asset("dashboard.js")[0]
    assert 'location.hash.slice(1)).get("claim")' in html and '"claims/" + encodeURIComponent(linked)' in html


def test_the_phone_page_uploads_with_the_presigned_post_form():
    """The upload API answers a POST form (its policy binds the size): every field, then the file."""
    script = pages.static_asset("dashboard.js")[0]
    assert "new FormData()" in script and "u.body.upload.fields" in script and 'form.append("file", file)' in script
    assert 'method: "PUT"' not in script


def test_the_phone_page_reads_an_upload_as_an_expense_and_submits_it_alone_or_in_a_claim():
    script = pages.static_asset("dashboard.js")[0]
    assert '"expenses/" + encodeURIComponent(id)' in script and "waitForReading(u.body.expense_id)" in script
    assert '"expenses/" + encodeURIComponent(current.expense_id) + "/submit"' in script  # submitted on its own
    assert '"PATCH", "expenses/"' in script and "{expense_ids: [current.expense_id]}" in script
    assert 'api("GET", "expenses")' in script and 'api("POST", "claims", {title' in script
    assert 'kind: "mileage"' in script and 'kind: "per_diem"' in script and "meals_provided" in script
    html = pages.dashboard()
    for words in ("單獨提交", "未歸入報銷單的收據", "我的報銷單", "新報銷單"):
        assert words in html
    assert "里程" in script and "每日津貼" in script and "summary.title" in script and "summary.amounts" in script


def test_pages_are_template_files_and_autoescaped():
    names = {p.name for p in pages.TEMPLATES_DIR.glob("*.html")}
    assert {"base.html", "dashboard.html", "approval.html", "refused.html"} <= names
    assert pages._env().autoescape is True


def test_vendor_assets_are_the_vendor_files_only():
    for name in ("../app.css", "app.css", "dashboard.js", "../../pages.py", "nope.js", ""):
        assert pages.vendor_asset(name) is None


def test_the_browser_libraries_are_served_once_make_deps_copied_them():
    from infra import web_vendor

    assert not web_vendor.missing(), "chalicelib/web/static/vendor/ is incomplete: run `make deps`"
    for name in web_vendor.browser_files():
        content, content_type = pages.vendor_asset(name)
        assert content_type.startswith("application/javascript") and len(content) > 10_000
