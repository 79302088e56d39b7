"""`up`'s worker child process (api/worker_process.py), as a real process."""

from __future__ import annotations

import signal

import pytest

from api.worker_process import WorkerProcess
from tests.ports import free_port


async def test_a_worker_stopped_before_it_got_going_has_stopped_as_asked(settings):
    """Ctrl-C right after `up` started: the SIGTERM reaches the worker before
    it has installed its handlers and ends it; `up` must not call that a
    failure (it exited 1 for it)."""
    worker = await WorkerProcess.start(settings, f"127.0.0.1:{free_port()}", grace=1)
    await worker.shutdown()
    assert worker._process.returncode == -signal.SIGTERM  # ended by the signal, not by a handler
    await worker.run()  # returns: no "exited with code -15"


async def test_a_worker_that_fails_on_its_own_is_reported(settings):
    """Nothing listens at its Temporal address: it exits 1 by itself, and
    `run` says so."""
    worker = await WorkerProcess.start(settings, f"127.0.0.1:{free_port()}", grace=1)
    with pytest.raises(RuntimeError, match="exited with code 1"):
        await worker.run()
