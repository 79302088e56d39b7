"""`countersign up`'s worker, as a child process of its own.

Python runs one thread at a time per process. With the web app and the
worker in one process, the web requests, workflow tasks and step records of
every decision queue for the same core while the machine's other core idles;
as two processes they run side by side (see the README's benchmarks). It is
the production topology too, where web and worker are separate services.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import suppress

from countersign.settings import Settings
from workflows.child import die_with_parent


class WorkerProcess:
    """Started and stopped by `up` like an in-process worker (`run`,
    `shutdown`), so `serve` treats both alike."""

    def __init__(self, process: asyncio.subprocess.Process, grace: float) -> None:
        self._process = process
        self._grace = grace
        self._stopping = False

    @classmethod
    async def start(cls, settings: Settings, temporal_address: str, grace: float) -> WorkerProcess:
        settings.session_secret  # noqa: B018  (created, if need be, before the child reads it)
        settings.checkpoint_signer  # noqa: B018  (the same: one checkpoint key for the web app and the worker)
        env = dict(
            os.environ,
            TEMPORAL_ADDRESS=temporal_address,  # the rest of the Temporal profile: from the same environment
            COUNTERSIGN_DATA_DIR=str(settings.data_dir),
            COUNTERSIGN_DATABASE_URL=settings.db_url,
            COUNTERSIGN_BASE_URL=settings.base_url,
            COUNTERSIGN_TASK_QUEUE=settings.task_queue,
        )
        # A session of its own: Ctrl-C reaches `up`, which stops the web app
        # first and then this worker, so that requests in flight can finish.
        # If `up` is killed, the worker is sent SIGTERM and stops as asked.
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "api.cli", "worker", env=env,
                                                       start_new_session=True,
                                                       preexec_fn=die_with_parent(signal.SIGTERM))
        return cls(process, grace)

    @property
    def is_running(self) -> bool:
        return self._process.returncode is None

    async def run(self) -> None:
        code = await self._process.wait()
        # Asked to stop before it had installed its signal handlers (a stop
        # right after `up` started): SIGTERM's default action ended it, with
        # nothing in flight since it had not connected yet. Stopped as asked.
        if self._stopping and code == -signal.SIGTERM:
            return
        if code != 0:
            raise RuntimeError(f"the worker process exited with code {code}")

    async def shutdown(self) -> None:
        if not self.is_running:
            return
        self._stopping = True
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), self._grace + 5)
        except TimeoutError:
            with suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
