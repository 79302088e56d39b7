"""The embedded dev server's visibility table: the indexes no query of ours uses are dropped.

Temporal's SQLite visibility store keeps a run's search attributes in one
JSON column, with a generated column and an index for each pre-allocated
slot: with the built-in columns' indexes, 58 on one table. Every upsert of
the attributes (here, every decision but a proposal's last) changes that
column, so SQLite rewrites the entries of all of them, slots in use or not.

So at every start the dev server's file loses the indexes that serve no
query of ours, which halves an upsert's SQLite work (bench.visibility_indexes;
README, "Durability and speed"):
- custom slots no search attribute is mapped to. A query can name only
  registered attributes, so nothing can ever use them;
- the slots of Temporal's own features, which Countersign does not use:
  schedules, batch jobs, worker deployments, paused activities, and those
  Temporal keeps for its system workflows (all `by_temporal_*`). Its Web UI
  and CLI still answer queries on them, by scanning the table (a row per
  run this one machine keeps).

The indexes Temporal's own lists sort and filter by (start and close time,
status, workflow id and type, ...) stay, as do those of the slots our
attributes are mapped to. One missing there (an attribute a later release
registered) is created in Temporal's own form, at the next start at the
latest: the server reports a new attribute's slot once it has refreshed its
namespaces. Only the embedded server's file is touched: a Temporal cluster
keeps its schema as its operators made it.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

TABLE = "executions_visibility"
CUSTOM_SLOT = re.compile(r"(Bool|Datetime|Double|Int|Keyword)(\d\d)")  # the custom slot columns with an index
CUSTOM_SLOT_INDEX = re.compile(r"by_(bool|datetime|double|int|keyword)_\d\d")
UNUSED_FEATURE_INDEX = re.compile(r"by_temporal_\w+|by_batcher_user")
BUSY_TIMEOUT_SECONDS = 30  # the server holds the write lock for a transaction at a time


def slot_index(column: str) -> str:
    """Temporal's name for a custom slot's index: Keyword03 -> by_keyword_03."""
    kind, number = CUSTOM_SLOT.fullmatch(column).groups()
    return f"by_{kind.lower()}_{number}"


def slot_index_sql(column: str) -> str:
    """A custom slot's index as Temporal's SQLite schema creates it."""
    return (f"CREATE INDEX IF NOT EXISTS {slot_index(column)} ON {TABLE} (namespace_id, {column}, "
            "(COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)")


def indexed_slots(mapped: Iterable[str]) -> list[str]:
    """Those of the mapped slot columns that have an index of their own (a keyword list has none)."""
    return sorted(column for column in mapped if CUSTOM_SLOT.fullmatch(column))


def index_names(connection: sqlite3.Connection) -> list[str]:
    """The visibility table's indexes (not SQLite's own, for the primary key)."""
    return [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (TABLE,))]


def unused(index_names: Iterable[str], mapped: set[str]) -> list[str]:
    """The indexes of `index_names` that no query of ours uses, given the
    slot columns our attributes are mapped to."""
    used_slots = {slot_index(column) for column in indexed_slots(mapped)}
    return [name for name in index_names if UNUSED_FEATURE_INDEX.fullmatch(name)
            or (CUSTOM_SLOT_INDEX.fullmatch(name) and name not in used_slots)]


async def mapped_columns(client: Client, namespace: str) -> dict[str, str]:
    """The slot columns the namespace's custom search attributes are mapped
    to: column -> attribute, e.g. "Keyword01" -> "CountersignStatus"."""
    described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    return dict(described.config.custom_search_attribute_aliases)


async def drop_unused_indexes(client: Client, namespace: str, database: Path) -> list[str]:
    """Drop the visibility indexes no query of ours uses from the dev server's
    `database` and create missing ones of mapped slots, while the server runs
    (SQLite lets its statements re-prepare). Returns the names dropped."""
    return await asyncio.to_thread(drop_unused, database, set(await mapped_columns(client, namespace)))


def drop_unused(database: Path, mapped: set[str]) -> list[str]:
    """`drop_unused_indexes` on the file alone, given the mapped slot columns."""
    with closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        dropped = unused(index_names(connection), mapped)
        for name in dropped:
            connection.execute(f'DROP INDEX "{name}"')
        for column in indexed_slots(mapped):
            connection.execute(slot_index_sql(column))
        connection.execute("COMMIT")
    return dropped
