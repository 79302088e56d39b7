"""`countersign up` keeps its parts running: a worker process or embedded
Temporal server that dies is started again, with back-off, while the web
app stays up and answers 503 (with Retry-After) for what needs the dead part.

A part is anything with `run()` (returns or raises when the part ends) and
`shutdown()`. `Supervisor` has the same two methods, so `up` treats a
supervised part as it treats the part. Each restart is logged and kept in
`Health`, which `/readyz` and the admin health page (/admin/health) read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from countersign.storage.tables import utcnow

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the first restart; doubled after each failed one
MAX_DELAY = 60.0
STABLE_AFTER = 60.0  # a part that ran this long before dying starts again from FIRST_DELAY
HISTORY = 20  # restarts kept for the health page


class Part(Protocol):
    async def run(self) -> None: ...

    async def shutdown(self) -> None: ...


@dataclass
class Restart:
    at: datetime
    reason: str


@dataclass
class PartHealth:
    name: str
    state: str = "starting"  # running | restarting | stopped
    since: datetime = field(default_factory=utcnow)
    restarts: int = 0
    last_error: str | None = None
    next_try_at: datetime | None = None
    history: list[Restart] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass
class Health:
    """What this process supervises; empty where nothing is (a web-only process)."""

    parts: dict[str, PartHealth] = field(default_factory=dict)

    def part(self, name: str) -> PartHealth:
        return self.parts.setdefault(name, PartHealth(name))


class Supervisor:
    def __init__(self, name: str, start: Callable[[], Awaitable[Part]], health: Health,
                 first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY,
                 on_restart: Callable[[Part], Awaitable[None]] | None = None) -> None:
        self.name = name
        self._start = start
        self._health = health.part(name)
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._on_restart = on_restart
        self._stop = asyncio.Event()
        self._part: Part | None = None

    @property
    def part(self) -> Part | None:
        return self._part

    async def start(self) -> Supervisor:
        """The first start: its failure is the caller's (`up` then stops with the reason)."""
        self._part = await self._start()
        self._set("running")
        return self

    async def run(self) -> None:
        delay = self._first_delay
        while not self._stop.is_set():
            began = time.monotonic()
            reason = "it exited"
            if self._part is not None:
                try:
                    await self._part.run()
                except Exception as error:  # noqa: BLE001 - any death of the part is restarted
                    reason = str(error) or type(error).__name__
            if self._stop.is_set():
                break
            if time.monotonic() - began >= STABLE_AFTER:
                delay = self._first_delay
            self._part = None
            log.error("the %s stopped (%s); starting it again in %.0f s", self.name, reason, delay)
            self._health.last_error = reason
            self._health.history = [Restart(utcnow(), reason), *self._health.history][:HISTORY]
            self._set("restarting", next_try_in=delay)
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                break  # asked to stop while waiting
            except TimeoutError:
                pass
            delay = min(delay * 2, self._max_delay)
            try:
                self._part = await self._start()
            except Exception as error:  # noqa: BLE001 - tried again after the next delay
                log.error("the %s did not start again: %s", self.name, error)
                self._health.last_error = f"did not start again: {error}"
                continue
            self._health.restarts += 1
            log.warning("the %s is running again (restart %d)", self.name, self._health.restarts)
            self._set("running")
            if self._on_restart is not None:
                await self._on_restart(self._part)
        self._set("stopped")

    async def shutdown(self) -> None:
        self._stop.set()
        if self._part is not None:
            await self._part.shutdown()

    def _set(self, state: str, next_try_in: float | None = None) -> None:
        self._health.state = state
        self._health.since = utcnow()
        self._health.next_try_at = (datetime.fromtimestamp(time.time() + next_try_in, utcnow().tzinfo)
                                    if next_try_in is not None else None)
