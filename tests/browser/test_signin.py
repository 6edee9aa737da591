"""Signing in as a person does, in headless Chromium on a phone (390×844) and a laptop (1366×900), against the local
stack's Cognito user pool on moto: the page sends employee id and password from the browser to Cognito's
InitiateAuth (never to our API), keeps the ID token, and goes where the reader was going, on this site only.

Screenshots: artifacts/screenshots/signin-error-<width>.png (the wrong password) and
artifacts/screenshots/<test>-<width>.png (where each test ended).
"""

from __future__ import annotations

import json

from playwright.sync_api import expect

from harness.sample_org import LOCAL_PASSWORD
from tests.browser.conftest import SCREENSHOTS, axe_violations, sign_in

WRONG = "The employee ID or password is not right. Check both and try again."
WRONG_ZH = "員工編號或密碼不正確，請檢查後再試。"


def _accessible(page, base: str, where: str) -> None:
    found = axe_violations(page, base)
    assert not found, f"{where}: axe-core found serious or critical violations: {found}"


def _submit(page, employee_id: str, password: str) -> None:
    page.get_by_label("Employee ID").fill(employee_id)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").last.click()


def test_wrong_password_says_so_then_the_right_one_opens_the_home_page(page, local_app):
    base = local_app.base
    to_our_api: list[str] = []  # every request body the page sends to our own API
    page.on("request", lambda r: r.url.startswith(base) and to_our_api.append(r.post_data or ""))
    page.goto(f"{base}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _accessible(page, base, "the sign-in page")

    _submit(page, "E201", "not-my-password")
    error = page.get_by_role("alert")
    expect(error).to_have_text(WRONG)
    expect(page.get_by_label("Password")).to_be_focused()  # where to type again
    expect(page.get_by_label("Password")).to_have_value("")
    assert "{" not in error.inner_text() and "Exception" not in error.inner_text()  # words, not Cognito's JSON
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"signin-error-{page.width}.png"), full_page=True)
    _accessible(page, base, "the sign-in page showing an error")

    _submit(page, "E999", LOCAL_PASSWORD)  # nobody has this id: the same words (who has an account stays unsaid)
    expect(error).to_have_text(WRONG)
    _submit(page, "", "")
    expect(error).to_have_text("Enter your employee ID and password.")

    _submit(page, "e201", LOCAL_PASSWORD)  # ids are not case-sensitive
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#who")).to_have_text("Signed in as 黃小明 Wong Siu Ming")
    _accessible(page, base, "the home page, signed in")
    token = page.evaluate("() => sessionStorage.getItem('hk-expense-token')")
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["custom:employee_id"] == "E201" and claims["token_use"] == "id"
    assert not any(LOCAL_PASSWORD in body or "not-my-password" in body for body in to_our_api)


def test_the_page_reads_in_chinese(page, local_app):
    base = local_app.base
    page.context.add_cookies([{"name": "lang", "value": "zh-Hant", "url": base}])
    page.goto(f"{base}/signin")
    expect(page.get_by_role("heading", name="登入")).to_be_visible()
    page.get_by_label("員工編號").fill("E300")
    page.get_by_label("密碼").fill("wrong-password")
    page.get_by_role("button", name="登入").last.click()
    expect(page.get_by_role("alert")).to_have_text(WRONG_ZH)
    _accessible(page, base, "the sign-in page in Chinese, showing an error")


def test_next_goes_back_where_the_reader_was_only_on_this_site(page, local_app):
    base = local_app.base
    sign_in(page, base, "E300", next_path="./?from=signin")
    expect(page).to_have_url(f"{base}/?from=signin")
    page.goto(f"{base}/signin")
    safe = page.evaluate("""async () => {
        const {safeNext} = await import("./static/signin.js");
        const cases = ["claim/c-1?x=1#top", "", "https://evil.example/", "//evil.example/x", "/\\\\evil.example",
                       "javascript:alert(1)", "../../elsewhere", "\\t//evil.example"];
        return cases.map(c => [c, safeNext(c)]);
    }""")
    assert dict(safe) == {"claim/c-1?x=1#top": "/claim/c-1?x=1#top", "": "/", "https://evil.example/": "/",
                          "//evil.example/x": "/", "/\\evil.example": "/", "javascript:alert(1)": "/",
                          "../../elsewhere": "/elsewhere", "\t//evil.example": "/"}
    page.evaluate("() => sessionStorage.clear()")
    page.goto(f"{base}/signin?next=https%3A%2F%2Fevil.example%2F")
    _submit(page, "E201", LOCAL_PASSWORD)
    expect(page).to_have_url(f"{base}/")  # home, not the other site


def test_sign_out_clears_the_session(page, local_app):
    base = local_app.base
    sign_in(page, base, "E201")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/signin")
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert page.evaluate("() => sessionStorage.getItem('hk-expense-token')") is None
    page.goto(f"{base}/")
    expect(page.locator("#who")).to_be_empty()  # nobody is signed in any more
