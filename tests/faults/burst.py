"""A burst of decisions sent as a real integration sends them: each with a
decision id of its own, several in flight at once; on a connection error, a
timeout or a 5xx the same decision (same id) is sent again until a deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from api.cli import CLIENT_KEEP_ALIVE
from tests import factories

REQUEST_TIMEOUT = 5.0  # seconds per attempt; a request held up by a fault is abandoned and sent again
GIVE_UP_AFTER = 75.0  # seconds per decision; the faults last a few seconds
IN_FLIGHT = 8


@dataclass(frozen=True)
class Planned:
    proposal_id: int
    party: str
    decision_id: str

    @property
    def comment(self) -> str:  # the id in the comment finds the decision's audit entry
        return f"approved in the fault test, decision {self.decision_id}"


@dataclass
class Outcome:
    planned: Planned
    attempts: list[str] = field(default_factory=list)  # what each attempt got: "201", "503", "ReadTimeout"...
    status: int | None = None  # the final HTTP status; None if it never got an answer it could keep
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Burst:
    def __init__(self, url: str, tokens: dict[str, str], plan: list[Planned], seed: int = 7) -> None:
        self.url = url
        self.tokens = tokens
        self.plan = list(plan)
        random.Random(seed).shuffle(self.plan)  # labels and proposals interleaved
        self.outcomes: dict[str, Outcome] = {}
        self.in_flight = 0
        self.done = 0
        self.started_at = 0.0

    @property
    def retries(self) -> Counter:
        """Attempts after the first, by what the attempt before them got."""
        seen: Counter = Counter()
        for outcome in self.outcomes.values():
            for answer in outcome.attempts[:-1]:
                seen[answer] += 1
        return seen

    async def run(self) -> None:
        self.started_at = time.monotonic()
        queue: asyncio.Queue[Planned] = asyncio.Queue()
        for planned in self.plan:
            queue.put_nowait(planned)
        limits = httpx.Limits(max_connections=IN_FLIGHT * 6, max_keepalive_connections=IN_FLIGHT * 6,
                              keepalive_expiry=CLIENT_KEEP_ALIVE)
        clients = {who: httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT, limits=limits,
                                          headers={"Authorization": f"Bearer {token}"})
                   for who, token in self.tokens.items()}
        try:
            async def runner() -> None:
                while not queue.empty():
                    planned = queue.get_nowait()
                    await self._decide(clients[planned.party], planned)

            await asyncio.gather(*(runner() for _ in range(IN_FLIGHT)))
        finally:
            for client in clients.values():
                await client.aclose()

    async def _decide(self, client: httpx.AsyncClient, planned: Planned) -> None:
        outcome = self.outcomes[planned.decision_id] = Outcome(planned)
        body = {"decision": "approve", "comment": planned.comment, "decision_id": planned.decision_id,
                "version": 1}
        deadline = time.monotonic() + GIVE_UP_AFTER
        pause = 0.1
        self.in_flight += 1
        try:
            while True:
                try:
                    response = await client.post(f"/api/v1/proposals/{planned.proposal_id}/decisions", json=body)
                except httpx.TransportError as error:  # refused, reset, timed out
                    outcome.attempts.append(type(error).__name__)
                else:
                    outcome.attempts.append(str(response.status_code))
                    if response.status_code < 500:  # 2xx kept; a 4xx is final, and the test says which
                        outcome.status, outcome.body = response.status_code, response.text
                        return
                    outcome.body = response.text
                if time.monotonic() > deadline:
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
        finally:
            self.in_flight -= 1
            self.done += 1

    def succeeded(self) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome.ok)

    def failures(self) -> list[str]:
        """Every decision that did not end with a 2xx, said plainly."""
        return [f"{o.planned.decision_id} ({o.planned.party} on proposal {o.planned.proposal_id}): "
                f"attempts {o.attempts}, last answer {o.body[:300]!r}"
                for o in self.outcomes.values() if not o.ok]


async def submit(url: str, token: str, count: int, title: str) -> list[int]:
    """`count` proposals touching every label, submitted by the lead; their ids."""
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        async def one(index: int) -> int:
            response = await http.post("/api/v1/proposals", json=factories.submission(title=f"{title} {index}"))
            assert response.status_code == 201, f"submitting proposal {index}: {response.status_code} {response.text}"
            return response.json()["id"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))
