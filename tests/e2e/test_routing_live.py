"""Issue 3's "done when", on a running service: a policy of three stages with
durations in seconds, `countersign up` with a real SMTP server (aiosmtpd).
Each reminder and escalation reaches the SMTP server at its time, a silent
proposal expires, and another goes through request-changes, resubmission,
conditional approval and partial approval, as the API shows."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.e2e.test_up import Countersign, api, eventually_status
from tests.smtp import running_smtp

pytestmark = pytest.mark.e2e

POLICY = Path(__file__).parents[1] / "policies" / "seconds_partial.toml"


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[float, str, str]] = []  # (time, recipient, subject)

    async def handle_DATA(self, server, session, envelope):
        subject = next((line[9:] for line in envelope.content.decode().splitlines() if line.startswith("Subject: ")),
                       "")
        for recipient in envelope.rcpt_tos:
            self.received.append((time.monotonic(), recipient, subject))
        return "250 OK"

    def first(self, recipient: str, subject_start: str, after: float) -> float | None:
        times = [t for t, r, s in self.received if r == recipient and s.startswith(subject_start) and t >= after]
        return min(times, default=None)


@pytest.fixture
def smtp():
    inbox = Inbox()
    with running_smtp(inbox) as controller:
        yield controller, inbox


def decide(client: httpx.Client, proposal_id: int, decision: str, comment: str = "", version: int | None = None):
    body = {"decision": decision, "comment": comment} | ({"version": version} if version else {})
    response = client.post(f"/api/v1/proposals/{proposal_id}/decisions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(inbox: Inbox, recipient: str, subject_start: str, after: float, limit: float) -> float:
    deadline = after + limit
    while time.monotonic() < deadline:
        if (seen := inbox.first(recipient, subject_start, after)) is not None:
            return seen - after
        time.sleep(0.2)
    pytest.fail(f"no '{subject_start}' mail to {recipient} within {limit}s: {inbox.received}")


def test_seconds_policy_on_a_running_service(tmp_path, smtp):
    controller, inbox = smtp
    countersign = Countersign(tmp_path)
    countersign.env.update(COUNTERSIGN_POLICY=str(POLICY), COUNTERSIGN_SMTP_URL=f"smtp://127.0.0.1:{controller.port}")
    try:
        process = countersign.up("--demo")
        countersign.wait_until_ready(process)
        tokens = countersign.tokens("lead@example.com", "rep.sony@example.com", "rep.merlin@example.com")
        lead, sony, merlin = (api(countersign, token) for token in tokens)

        # A silent proposal: reminded 5 s in, escalated at 15 s, expired after the 5 s grace.
        silent_at = time.monotonic()
        silent = lead.post("/api/v1/proposals", json=factories.submission(parties=["sony"], title="Silent"))
        assert silent.status_code == 201, silent.text

        # Meanwhile a proposal through every kind of decision.
        busy = lead.post("/api/v1/proposals", json=factories.submission(parties=["sony", "merlin"], title="Busy"))
        busy_id = busy.json()["id"]
        decide(sony, busy_id, "request_changes", "Name the licence that covers stems.")
        eventually_status(lead, busy_id, "changes_requested")
        resubmitted = lead.post(f"/api/v1/proposals/{busy_id}/resubmit",
                                json=factories.submission(parties=["sony", "merlin"], title="Busy v2"))
        assert resubmitted.status_code == 200 and resubmitted.json()["version"] == 2, resubmitted.text
        decide(sony, busy_id, "approve_with_conditions", "Credit the producers.")
        after_rights = decide(merlin, busy_id, "reject", "Not for our catalog.")
        assert after_rights["stage"] == "Legal sign-off"  # Merlin dropped out; Sony goes on alone
        assert after_rights["parties"]["merlin"]["state"] == "dropped"
        decide(sony, busy_id, "approve")
        waiting = decide(sony, busy_id, "approve")
        assert waiting["status"] == "in_review" and waiting["conditions"][0]["acknowledged"] is False
        done = lead.post(f"/api/v1/proposals/{busy_id}/acknowledge")
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["outcome_scope"]) == ("approved_partial", ["sony"])

        # The silent proposal's mail, each at its time (the dispatcher polls every second).
        reminded = wait_for(inbox, "rep.sony@example.com", "Reminder: Silent", silent_at, 30)
        escalated = wait_for(inbox, "escalations@sony.example", "Overdue", silent_at, 40)
        told_compliance = wait_for(inbox, "compliance@example.com", "Overdue", silent_at, 40)
        concluded = wait_for(inbox, "lead@example.com", "Silent: expired", silent_at, 45)
        assert 4 <= reminded <= 10, reminded
        assert 14 <= escalated <= 20 and 14 <= told_compliance <= 20, (escalated, told_compliance)
        assert 19 <= concluded <= 26, concluded
        eventually_status(lead, silent.json()["id"], "expired")
        assert inbox.first("lead@example.com", "Changes requested: Busy", silent_at) is not None
        assert inbox.first("lead@example.com", "Busy v2: approved partial", silent_at) is not None
    finally:
        countersign.kill_leftovers()
