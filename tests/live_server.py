"""The web app and a worker served for real on a local port, in a thread of
their own, for tests that need a live server (browser, schemathesis)."""

from __future__ import annotations

import asyncio
import threading

import uvicorn
from sqlalchemy import Engine
from temporalio.client import Client

from api.app import create_app
from api.cli import KEEP_ALIVE
from countersign.domain.policy import load_policy
from countersign.settings import Settings
from tests.ports import free_port
from workflows.worker import build_worker


class LiveServer:
    def __init__(self, temporal_address: str, engine: Engine, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._temporal_address = temporal_address
        self._engine = engine
        self._settings = settings.model_copy(update={"base_url": self.url})
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            raise RuntimeError(f"the live server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start() or at stop
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        client = await Client.connect(self._temporal_address)
        app = create_app(self._settings, temporal=client, engine=self._engine)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                   timeout_keep_alive=KEEP_ALIVE))
        policy = load_policy(self._settings.policy)
        async with build_worker(client, self._engine, self._settings.task_queue, policy, base_url=self.url):
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            self._ready.set()
            await self._stopping.wait()
            server.should_exit = True
            await serving
