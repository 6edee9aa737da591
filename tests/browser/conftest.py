"""Browser tests: the local stack started once per module (tests/browser/stack_server.py, its own process) and
Debian's headless Chromium driven by Playwright for Python (no browser download: `executable_path`).

A missing Chromium or Playwright fails the tests with what to run: they are never skipped.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.demo import _free_port
from tests.conftest import ROOT

CHROMIUM = os.environ.get("HK_EXPENSE_CHROMIUM", "/usr/bin/chromium")
# Without these Debian's chromium hangs on network lookups this machine blocks (QUIC, updates, sync).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = {390: 844, 1366: 900}  # a phone and a laptop
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = "static/vendor/axe.min.js"


class LocalApp:
    """The running stack: its base URL, and commands to the scripted people in its process."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.base = self._answer(240)["ready"]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._answers.put(json.loads(line))
        self._answers.put({"error": f"the local stack exited ({self.proc.wait()}); see its stderr above"})

    def _answer(self, seconds: float) -> dict:
        try:
            answer = self._answers.get(timeout=seconds)
        except queue.Empty:
            raise AssertionError(f"the local stack did not answer within {seconds} s") from None
        assert "error" not in answer, answer["error"]
        return answer

    def command(self, seconds: float = 120, **command: object) -> dict:
        self.proc.stdin.write(json.dumps(command, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return self._answer(seconds)

    def stop(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def local_app():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    proc = subprocess.Popen([sys.executable, "-m", "tests.browser.stack_server", "--api-port", str(_free_port())],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            encoding="utf-8")
    app = LocalApp(proc)
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium and chromium-driver "
                    "(requirements-system.txt; as root)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: `make deps` installs requirements-dev.txt", pytrace=False)
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # what a page shows may take a while when every core is busy (test-busy)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(params=sorted(WIDTHS), ids=lambda w: f"w{w}")
def page(request, browser, local_app):
    """A fresh browser context (no shared session) at a phone's or a laptop's size; its screenshot is saved as
    artifacts/screenshots/<test>-<width>.png when the test ends, passed or failed."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]}, locale="en-HK",
                                  timezone_id="Asia/Hong_Kong")  # a reader in Hong Kong: times show HKT
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.width = width
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))  # an uncaught exception in the pages' scripts
    tab.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(msg.text))  # CSP refusals
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = request.node.originalname.removeprefix("test_")
        try:
            tab.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        finally:
            context.close()
    assert not errors, f"the page reported errors: {errors}"


def axe_violations(page, base: str, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core (the vendored axe.min.js, loaded from the app as the CSP allows) run on the page as it is now."""
    page.add_script_tag(url=f"{base}/{AXE}")
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))""")
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(page, base: str, where: str) -> None:
    """No serious or critical axe-core violation on the page as it is now; `where` names the state in the failure."""
    found = axe_violations(page, base)
    assert not found, f"{where}: axe-core found serious or critical violations: {found}"


def sign_in(page, base: str, employee_id: str, next_path: str = "") -> None:
    """Sign in as a person does, on the sign-in page, and land on `next_path` (the home page by default).
    Every browser test signs in through here, so the page's sign-in method can change in one place."""
    from playwright.sync_api import expect

    from harness.sample_org import LOCAL_PASSWORD

    page.goto(f"{base}/signin" + (f"?next={next_path}" if next_path else ""))
    page.locator("#employee-id").fill(employee_id)  # the local stack's pool on moto: the sample password
    page.locator("#password").fill(LOCAL_PASSWORD)
    page.locator("#password-signin button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/signin"))
    expect(page.locator("#who")).not_to_be_empty()
