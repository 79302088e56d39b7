"""The embedded dev server of `countersign up` declares each search attribute
with its own type, and proposals are searchable by every attribute."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from tests.audit.test_visibility import listed
from tests.e2e.test_up import free_temporal_port
from workflows import dev_server
from workflows import search_attributes as sa


def test_each_attribute_is_declared_with_the_type_named_as_the_cli_spells_it():
    assert [dev_server.search_attribute_option(key) for key in sa.ALL] == [
        "CountersignStatus=Keyword", "CountersignStage=Keyword",
        "CountersignPendingParties=KeywordList", "CountersignNextDue=Datetime"]
    assert dev_server.search_attribute_option(SearchAttributeKey.for_text("Notes")) == "Notes=Text"


async def test_the_server_knows_every_attribute_by_its_type_and_finds_runs_by_each(tmp_path):
    async with dev_server.running(tmp_path, free_temporal_port()) as server:
        client = await Client.connect(server.address)
        declared = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default"))
        assert {name: int(kind) for name, kind in declared.custom_attributes.items()} == {
            key.name: int(key.indexed_value_type) for key in sa.ALL}

        # No worker needed: a run's attributes are written when it starts.
        workflow_id = f"probe-{uuid.uuid4().hex[:8]}"
        await client.start_workflow("Probe", id=workflow_id, task_queue=f"no-worker-{workflow_id}",
                                    search_attributes=TypedSearchAttributes([
                                        SearchAttributePair(sa.STATUS, "in_review"),
                                        SearchAttributePair(sa.STAGE, "Review"),
                                        SearchAttributePair(sa.PENDING, ["sony", "warner"]),
                                        SearchAttributePair(sa.NEXT_DUE, datetime(2030, 1, 2, tzinfo=UTC)),
                                    ]))
        for query in ("CountersignStatus = 'in_review'", "CountersignStage = 'Review'",
                      "CountersignPendingParties = 'warner'", "CountersignNextDue > '2029-12-31T00:00:00Z'",
                      "ExecutionStatus = 'Running' AND CountersignStatus = 'in_review'"):
            assert await listed(client, f"WorkflowId = '{workflow_id}' AND {query}", {workflow_id}) \
                == {workflow_id}, query
        unmatched = f"WorkflowId = '{workflow_id}' AND CountersignStatus = 'approved'"
        assert await listed(client, unmatched, set()) == set()
