"""The pages' scripts are valid JavaScript and the approval page escapes what it shows."""

import re
import shutil
import subprocess

import pytest

from chalicelib.web import pages


def _scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, flags=re.S)


@pytest.mark.parametrize("html", [pages.dashboard(), pages.approval({"claim_id": "c-1", "vendor": "x"})],
                         ids=["dashboard", "approval"])
def test_page_scripts_parse(html, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot parse the page scripts")
    for i, script in enumerate(_scripts(html)):
        path = tmp_path / f"s{i}.js"
        path.write_text(script, encoding="utf-8")
        proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr


def test_dashboard_offers_a_camera_upload_and_a_review_form():
    html = pages.dashboard()
    assert 'capture="environment"' in html and 'accept="image/*,application/pdf"' in html
    for field in ("vendor", "receipt_date", "total", "currency", "category", "purpose", "urgent"):
        assert f'name="{field}"' in html


def test_dashboard_lists_what_waits_for_the_signed_in_approver():
    html = pages.dashboard()
    assert 'id="waiting"' in html and '"me/approvals"' in html and "待我審批" in html
    assert 'class="pick"' in html and '"me/approvals/decisions"' in html  # batch approval of the ticked ones
    assert '"dashboard/approvals"' in html and 'id="bottlenecks"' in html  # finance: who is sitting on claims


def test_dashboard_opens_the_claim_a_notification_links_to():
    html = pages.dashboard()
    assert 'location.hash.slice(1)).get("claim")' in html and '"claims/" + encodeURIComponent(linked)' in html


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


def test_approval_page_with_line_items_has_valid_script(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot parse the page scripts")
    for i, script in enumerate(_scripts(pages.approval(PARTIAL))):
        path = tmp_path / f"p{i}.js"
        path.write_text(script, encoding="utf-8")
        assert subprocess.run([node, "--check", str(path)], capture_output=True, timeout=30).returncode == 0


def test_the_phone_page_uploads_with_the_presigned_post_form():
    """The upload API answers a POST form (its policy binds the size): every field, then the file."""
    html = pages.dashboard()
    assert "new FormData()" in html and "u.body.upload.fields" in html and 'form.append("file", file)' in html
    assert 'method: "PUT"' not in html
