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
from tests.browser.conftest import SCREENSHOTS, assert_accessible, sign_in

WRONG = "The employee ID or password is not right. Check both and try again."
WRONG_ZH = "員工編號或密碼不正確，請檢查後再試。"


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
    assert_accessible(page, base, "the sign-in page")

    _submit(page, "E201", "not-my-password")
    error = page.get_by_role("alert")
    expect(error).to_have_text(WRONG)
    expect(page.get_by_label("Password")).to_be_focused()  # where to type again
    expect(page.get_by_label("Password")).to_have_value("")
    assert "{" not in error.inner_text() and "Exception" not in error.inner_text()  # words, not Cognito's JSON
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"signin-error-{page.width}.png"), full_page=True)
    assert_accessible(page, base, "the sign-in page showing an error")

    _submit(page, "E999", LOCAL_PASSWORD)  # nobody has this id: the same words (who has an account stays unsaid)
    expect(error).to_have_text(WRONG)
    _submit(page, "", "")
    expect(error).to_have_text("Enter your employee ID and password.")

    _submit(page, "e201", LOCAL_PASSWORD)  # ids are not case-sensitive
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#who")).to_have_text("Signed in as 黃小明 Wong Siu Ming")
    assert_accessible(page, base, "the home page, signed in")
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
    assert_accessible(page, base, "the sign-in page in Chinese, showing an error")


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


DOMAIN = "hk-expense-test-signin.auth.ap-east-1.amazoncognito.com"


def _s256(verifier: str) -> str:
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def test_the_hosted_ui_flow_sends_a_pkce_challenge_and_exchanges_the_code(page, local_app):
    """A deployed stage: the page goes to the Hosted UI with an S256 challenge and comes back with a code it
    exchanges with the verifier. The Hosted UI itself is played here (moto has none): it checks what a real one
    would and answers with a real ID token of the local pool."""
    import urllib.parse

    import requests

    base = local_app.base
    local_app.command(op="hosted_ui", domain=DOMAIN)
    try:
        page.goto(f"{base}/signin?next=./%3Fvia%3Dhosted")
        expect(page.get_by_label("Password")).to_have_count(0)  # no password on our page: Cognito's own asks
        box = page.locator("#signin")
        client_id, endpoint = box.get_attribute("data-client-id"), box.get_attribute("data-cognito")
        assert_accessible(page, base, "the sign-in page of a stage with a Hosted UI")
        seen: dict = {}

        def authorize(route):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
            seen["authorize"] = query
            back = f"{query['redirect_uri']}?code=one-time-code&state={urllib.parse.quote(query['state'])}"
            route.fulfill(status=200, content_type="text/html",
                          body=f'<meta http-equiv="refresh" content="0;url={back}">')

        def token(route):
            form = dict(urllib.parse.parse_qsl(route.request.post_data))
            seen["token"] = form
            challenge = seen["authorize"]["code_challenge"]
            if form.get("code") != "one-time-code" or _s256(form.get("code_verifier", "")) != challenge:
                route.fulfill(status=400, content_type="application/json", body='{"error": "invalid_grant"}',
                              headers={"Access-Control-Allow-Origin": base})
                return
            id_token = requests.post(endpoint, timeout=30, data=json.dumps({
                "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": "E201", "PASSWORD": LOCAL_PASSWORD}}), headers={
                "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                "Content-Type": "application/x-amz-json-1.1"}).json()["AuthenticationResult"]["IdToken"]
            route.fulfill(status=200, content_type="application/json", headers={"Access-Control-Allow-Origin": base},
                          body=json.dumps({"id_token": id_token, "access_token": "a", "token_type": "Bearer",
                                           "expires_in": 3600}))

        page.route(f"https://{DOMAIN}/oauth2/authorize*", authorize)
        page.route(f"https://{DOMAIN}/oauth2/token", token)
        page.get_by_role("button", name="Sign in").last.click()
        expect(page).to_have_url(f"{base}/?via=hosted")
        expect(page.locator("#who")).to_have_text("Signed in as 黃小明 Wong Siu Ming")
        asked = seen["authorize"]
        assert asked["response_type"] == "code" and asked["client_id"] == client_id
        assert asked["redirect_uri"] == f"{base}/signin" and asked["scope"] == "openid email profile"
        assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 32
        assert 43 <= len(seen["token"]["code_verifier"]) <= 128 and seen["token"]["redirect_uri"] == f"{base}/signin"
        assert seen["token"]["grant_type"] == "authorization_code" and seen["token"]["client_id"] == client_id
        assert page.evaluate("() => sessionStorage.getItem('hk-expense-pkce')") is None  # one use

        # sign out ends the Hosted UI's session too, which sends the reader back to the sign-in page
        def logout(route):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
            seen["logout"] = query
            route.fulfill(status=200, content_type="text/html",
                          body=f'<meta http-equiv="refresh" content="0;url={query["logout_uri"]}">')

        page.route(f"https://{DOMAIN}/logout*", logout)
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{base}/signin")  # back from the Hosted UI's logout
        expect(page.get_by_role("status")).to_have_text("You have signed out.")
        assert seen["logout"] == {"client_id": client_id, "logout_uri": f"{base}/signin"}
        assert page.evaluate("() => sessionStorage.getItem('hk-expense-token')") is None

        # a callback whose state this browser did not start is refused (a forged or replayed sign-in)
        page.goto(f"{base}/signin?code=stolen-code&state=not-mine")
        expect(page.get_by_role("alert")).to_have_text("That sign-in attempt is no longer valid. Please sign in again.")
        assert "code=" not in page.url  # the code leaves the address bar
        assert page.evaluate("() => sessionStorage.getItem('hk-expense-token')") is None
    finally:
        local_app.command(op="hosted_ui", domain="")
