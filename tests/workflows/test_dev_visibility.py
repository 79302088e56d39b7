"""The embedded dev server's visibility table keeps only the indexes queries
use (workflows/dev_visibility.py), and proposals stay searchable by every
attribute."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from tests.e2e.test_up import free_temporal_port
from workflows import dev_server, dev_visibility
from workflows import search_attributes as sa


def indexes(database: Path) -> set[str]:
    with closing(sqlite3.connect(database)) as connection:
        return {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (dev_visibility.TABLE,))}


async def listed(client: Client, query: str, timeout: float = 20.0) -> set[str]:
    """Workflow ids the query returns, polled until there is one (visibility is eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = {w.id async for w in client.list_workflows(query)}
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_unused_indexes_go_those_of_our_attributes_stay_and_every_attribute_is_searchable(tmp_path):
    port = free_temporal_port()
    async with dev_server.running(tmp_path, port) as server:
        client = await Client.connect(server.address)
        mapped = await dev_visibility.mapped_columns(client, "default")
        assert set(mapped.values()) == {key.name for key in sa.ALL}
        ours = {dev_visibility.slot_index(c) for c in mapped if dev_visibility.CUSTOM_SLOT.fullmatch(c)}
        assert len(ours) == 3  # two keywords and a datetime; the keyword list has no index of this kind
        left = indexes(server.database)
        assert ours <= left
        assert {"default_idx", "by_status", "by_workflow_id", "by_workflow_type", "by_execution_time"} <= left
        assert not [name for name in left if name.startswith("by_temporal_")]
        assert not [name for name in left if dev_visibility.CUSTOM_SLOT_INDEX.fullmatch(name) and name not in ours]
        assert len(left) < 20  # of Temporal's 58

        # No worker needed: a run's attributes are written when it starts.
        workflow_id = f"probe-{uuid.uuid4().hex[:8]}"
        await client.start_workflow("Probe", id=workflow_id, task_queue=f"no-worker-{workflow_id}",
                                    search_attributes=TypedSearchAttributes([
                                        SearchAttributePair(sa.STATUS, "in_review"),
                                        SearchAttributePair(sa.STAGE, "Review"),
                                        SearchAttributePair(sa.PENDING, ["sony", "warner"]),
                                        SearchAttributePair(sa.NEXT_DUE, datetime(2030, 1, 2, tzinfo=timezone.utc)),
                                    ]))
        for query in ("CountersignStatus = 'in_review'", "CountersignStage = 'Review'",
                      "CountersignPendingParties = 'warner'", "CountersignNextDue > '2029-12-31T00:00:00Z'",
                      "ExecutionStatus = 'Running' AND CountersignStatus = 'in_review'"):
            assert await listed(client, f"WorkflowId = '{workflow_id}' AND {query}") == {workflow_id}, query
        assert await listed(client, f"WorkflowId = '{workflow_id}' AND CountersignStatus = 'approved'",
                            timeout=0) == set()

    # An index of one of our slots that is missing (an attribute a later
    # release registers, on an old data dir) is created at the next start.
    with closing(sqlite3.connect(server.database)) as connection:
        connection.execute(f"DROP INDEX {sorted(ours)[0]}")
    async with dev_server.running(tmp_path, port) as server:
        assert ours <= indexes(server.database)
        client = await Client.connect(server.address)
        assert await listed(client, f"WorkflowId = '{workflow_id}' AND CountersignPendingParties = 'sony'") \
            == {workflow_id}
