"""Every page, for every role, at a 360 px phone and a 1280 px window, under
the shipped policy with a 200-character unbroken title: nothing scrolls
sideways, and axe-core (tests/browser/package.json, `npm ci`) finds nothing
serious or critical. Each page is screenshot at both widths (in the test's
tmp dir)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from countersign.domain.policy import load_policy
from countersign.settings import Settings
from countersign.storage.accounts import create_token
from countersign.storage.db import transaction
from tests import factories
from tests.browser.conftest import login
from tests.conftest import _sqlite_engine
from tests.live_server import LiveServer

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (360, 1280)
TITLE = "Stem" + "x" * 192 + "Tail"  # 200 characters, not one place to break


@pytest.fixture(scope="module")
def shipped(dev_temporal, sqlite_template, tmp_path_factory):
    """A live server under the shipped policy, with two proposals touching every label and a long title:
    one in review with a condition set, one sent back for changes."""
    data_dir = tmp_path_factory.mktemp("layout")
    engine = _sqlite_engine(sqlite_template, data_dir)
    factories.all_users(engine)
    settings = Settings(data_dir=data_dir, secret_key="layout-" + uuid.uuid4().hex,
                        task_queue=f"layout-{uuid.uuid4().hex[:8]}")
    server = LiveServer(dev_temporal.client.service_client.config.target_host, engine, settings).start()
    try:
        tokens = {}
        with transaction(engine) as session:
            for who in ("lead", "rep.merlin", "rep.universal"):
                tokens[who] = create_token(session, f"{who}@example.com",
                                           scopes=factories.token_scopes(session, f"{who}@example.com"))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            def call(who, path, body):
                response = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
                assert response.status_code in (200, 201), response.text
                return response.json()

            policy = load_policy()
            reviewed = call("lead", "/api/v1/proposals", factories.submission(policy, title=TITLE))["id"]
            returned = call("lead", "/api/v1/proposals", factories.submission(policy, title=TITLE[::-1]))["id"]
            call("rep.merlin", f"/api/v1/proposals/{reviewed}/decisions",
                 {"decision": "approve_with_conditions", "comment": "Only with " + "y" * 150 + " credited.",
                  "password": factories.PASSWORD})
            call("rep.universal", f"/api/v1/proposals/{returned}/decisions",
                 {"decision": "request_changes", "comment": "Name the stems.", "password": factories.PASSWORD})
        server.proposals = (reviewed, returned)
        yield server
    finally:
        server.stop()
        engine.dispose()


def pages_of(role: str, reviewed: int, returned: int) -> list[str]:
    """Each role's pages; a page that reads the same for every role (a version, the audit pages) is
    visited by one, to keep the test quick."""
    common = ["/", f"/proposals/{reviewed}", "/tokens", "/checkpoints"]
    return {
        "lead": common + [f"/proposals/{returned}", f"/proposals/{reviewed}/versions/1", "/proposals/new",
                          f"/proposals/{returned}/resubmit"],
        "rep.sony": common + ["/inbox", f"/proposals/{reviewed}/decide", "/delegations"],
        "compliance": common + ["/compliance", f"/compliance?proposal={reviewed}",
                                f"/compliance/proposals/{reviewed}", "/compliance/charts"],
        "admin": common + ["/compliance", "/admin/outbox", "/admin/health", "/delegations"],
    }[role]


def check(page, role: str, path: str, shots: Path) -> list[str]:
    """What is wrong with `path` at each width: sideways scrolling (and what sticks out), axe findings.
    The page is loaded once and laid out again at each width."""
    response = page.goto(path)
    if not response or response.status != 200:
        return [f"{path}: status {response and response.status}"]
    page.add_script_tag(path=str(AXE))
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "dashboard"
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(shots / f"{role}-{name}-{width}.png"), full_page=True)
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll > client:
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                             && !(e.parentElement && e.parentElement.closest('.table-scroll')
                                  && getComputedStyle(e).position !== 'absolute'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
            problems.append(f"{path} at {width}px scrolls sideways ({scroll} > {client}): {wide}")
        found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))""")
        problems += [f"{path} at {width}px: {finding}" for finding in found]
    return problems


def test_every_page_fits_both_widths_and_passes_axe(chromium, shipped, tmp_path):
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: (cd tests/browser && npm ci)")
    reviewed, returned = shipped.proposals
    problems: list[str] = []

    def journey(browser):
        for role in ("lead", "rep.sony", "compliance", "admin"):
            # axe-core is injected as an inline script: the test's context alone sets the page's CSP aside.
            page = login(browser, shipped.url, f"{role}@example.com", bypass_csp=True)
            for path in pages_of(role, reviewed, returned):
                problems.extend(f"{role}: {p}" for p in check(page, role, path, tmp_path))
            page.context.close()

    chromium(journey, timeout=600)
    assert not problems, "\n".join(problems)
