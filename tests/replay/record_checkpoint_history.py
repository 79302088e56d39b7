"""Record the history of one CheckpointWorkflow run, replayed by
tests/replay/test_checkpoint_replay.py (as record_histories does for proposals):

    .venv/bin/python -m tests.replay.record_checkpoint_history --out tests/replay/checkpoint_histories/GENERATION-sign.json

Do not re-record to make a failing replay pass: branch on `workflow.patched`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from countersign.domain.checkpoint import Signer, new_private_key_pem
from countersign.storage import audit
from countersign.storage.db import make_engine, migrate, transaction
from tests import factories
from tests.replay.record_histories import TEST_SERVER
from workflows.checkpoint import CheckpointInput, CheckpointWorkflow
from workflows.worker import build_worker


async def record(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'record.sqlite3'}")
        migrate(engine)
        with transaction(engine) as session:
            audit.append(session, None, "sign_in", datetime.now(UTC), actor="lead@example.com")
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
        task_queue = f"record-{uuid.uuid4().hex[:6]}"
        try:
            async with build_worker(env.client, engine, task_queue, factories.policy(),
                                    checkpoint_signer=Signer(new_private_key_pem())):
                handle = await env.client.start_workflow(CheckpointWorkflow.run, CheckpointInput(),
                                                         id="checkpoint-replay-sign", task_queue=task_queue)
                await handle.result()
                history = await handle.fetch_history()
        finally:
            await env.shutdown()
            engine.dispose()
    out.write_text(history.to_json() + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    asyncio.run(record(parser.parse_args().out))
