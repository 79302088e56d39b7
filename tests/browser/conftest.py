"""Browser tests: Debian's chromium, driven by Playwright, against the live server.

Playwright's sync API runs its own event loop; the session's asyncio loop
(pytest-asyncio) must not see it, so every journey runs in a thread of its
own (`chromium(journey)`), with a fresh browser. Screenshots go to
test-artifacts/screenshots/ at the root of the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import factories

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def find_chromium() -> str | None:
    for candidate in (os.environ.get("COUNTERSIGN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    path = find_chromium()
    if path is None:
        pytest.skip("no chromium here: install Debian's package (apt-get install chromium) "
                    "or point COUNTERSIGN_CHROMIUM at one")
    return path


@pytest.fixture
def chromium(chromium_path) -> Callable:
    """`chromium(journey)` runs `journey(browser)` in a thread with a fresh chromium; re-raises its failure."""

    def run(journey: Callable, timeout: float = 300) -> None:
        from playwright.sync_api import sync_playwright

        outcome: dict[str, BaseException] = {}

        def target() -> None:
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
                    try:
                        journey(browser)
                    finally:
                        browser.close()
            except BaseException as error:  # noqa: BLE001 - handed to the test's thread
                outcome["error"] = error

        thread = threading.Thread(target=target, name="chromium", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the browser journey took over {timeout} s")
        if "error" in outcome:
            raise outcome["error"]

    return run


def shoot(page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(browser, base_url: str, email: str, viewport: dict | None = None, javascript: bool = True,
          bypass_csp: bool = False):
    """A new browser context signed in through the real login page; returns its page."""
    context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, java_script_enabled=javascript,
                                  bypass_csp=bypass_csp)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    return page


def proposal_id_of(page) -> int:
    match = re.search(r"/proposals/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))
