"""Custom search attributes: in-flight proposals, searchable with Temporal's
own tools, e.g. `temporal workflow list --query "CountersignStatus='in_review'"`."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

STATUS = SearchAttributeKey.for_keyword("CountersignStatus")
STAGE = SearchAttributeKey.for_keyword("CountersignStage")
PENDING = SearchAttributeKey.for_keyword_list("CountersignPendingParties")
NEXT_DUE = SearchAttributeKey.for_datetime("CountersignNextDue")

ALL = (STATUS, STAGE, PENDING, NEXT_DUE)


async def register(client: Client, namespace: str) -> None:
    """Register the attributes on the cluster; those that exist are left alone."""
    for key in ALL:
        request = AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value)},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS and "already" not in error.message.lower():
                raise
