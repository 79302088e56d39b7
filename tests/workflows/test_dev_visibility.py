"""The embedded dev server's visibility table keeps only the indexes queries
use (workflows/dev_visibility.py), and proposals stay searchable by every
attribute."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from tests.audit.test_visibility import listed
from tests.e2e.test_up import free_temporal_port
from workflows import dev_server, dev_visibility
from workflows import search_attributes as sa


def indexes(database: Path) -> set[str]:
    with closing(sqlite3.connect(database)) as connection:
        return set(dev_visibility.index_names(connection))


async def test_unused_indexes_go_those_of_our_attributes_stay_and_every_attribute_is_searchable(tmp_path):
    port = free_temporal_port()
    async with dev_server.running(tmp_path, port) as server:
        client = await Client.connect(server.address)
        mapped = await dev_visibility.mapped_columns(client, "default")
        assert set(mapped.values()) == {key.name for key in sa.ALL}
        ours = {dev_visibility.slot_index(column) for column in dev_visibility.indexed_slots(mapped)}
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
            assert await listed(client, f"WorkflowId = '{workflow_id}' AND {query}", {workflow_id}) \
                == {workflow_id}, query
        assert await listed(client, f"WorkflowId = '{workflow_id}' AND CountersignStatus = 'approved'", set()) \
            == set()

    # An index of one of our slots that is missing (an attribute a later
    # release registers, on an old data dir) is created at the next start.
    with closing(sqlite3.connect(server.database)) as connection:
        connection.execute(f"DROP INDEX {sorted(ours)[0]}")
    async with dev_server.running(tmp_path, port) as server:
        assert ours <= indexes(server.database)
        client = await Client.connect(server.address)
        assert await listed(client, f"WorkflowId = '{workflow_id}' AND CountersignPendingParties = 'sony'",
                            {workflow_id}) == {workflow_id}
