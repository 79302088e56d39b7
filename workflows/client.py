"""Client helpers for the web edge: start proposals and send them updates.

Failures come back as the core's domain errors, so the API maps one kind of
error to HTTP, whether the workflow refused a call or the database did.
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from countersign import errors
from countersign.queries import workflow_id
from countersign.routing import Status
from workflows import search_attributes as sa
from workflows.messages import (
    AcknowledgeRequest,
    DecisionRequest,
    ProposalInput,
    ResubmitRequest,
    UpdateResult,
    WithdrawRequest,
)
from workflows.proposal import ProposalWorkflow


class WorkflowUnavailable(errors.DomainError):
    """Temporal could not be reached or refused the call for a reason of its own."""


async def connect(address: str, namespace: str, lazy: bool = False) -> Client:
    return await Client.connect(address, namespace=namespace, lazy=lazy)


async def start_proposal(client: Client, task_queue: str, input: ProposalInput) -> UpdateResult:
    """Start the proposal's workflow and return once it has stored the proposal.

    Update-with-start: either the workflow starts and the proposal is stored,
    or the caller gets an error and nothing was started.
    """
    start = WithStartWorkflowOperation(
        ProposalWorkflow.run,
        input,
        id=workflow_id(input.proposal_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes([SearchAttributePair(sa.STATUS, Status.IN_REVIEW.value)]),
    )
    return await _call(client.execute_update_with_start_workflow(ProposalWorkflow.stored, start_workflow_operation=start))


async def decide(client: Client, proposal_id: int, request: DecisionRequest, decision_id: str) -> UpdateResult:
    # The decision id is the update id: Temporal applies a repeated one once.
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.decide, request, id=decision_id))


async def resubmit(client: Client, proposal_id: int, request: ResubmitRequest) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.resubmit, request))


async def withdraw(client: Client, proposal_id: int, request: WithdrawRequest) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.withdraw, request))


async def acknowledge(client: Client, proposal_id: int, request: AcknowledgeRequest) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.acknowledge, request))


def _handle(client: Client, proposal_id: int) -> WorkflowHandle:
    return client.get_workflow_handle(workflow_id(proposal_id))


async def _call(awaitable):
    try:
        return await awaitable
    except WorkflowUpdateFailedError as failure:
        raise _domain_error(failure.cause) from failure
    except RPCError as failure:
        if failure.status == RPCStatusCode.NOT_FOUND:
            raise errors.ProposalClosed("this proposal has concluded; it can no longer change") from failure
        raise WorkflowUnavailable(f"the workflow service refused the call: {failure.message}") from failure


def _domain_error(cause: BaseException | None) -> errors.DomainError:
    if isinstance(cause, ApplicationError):
        kind = getattr(errors, cause.type or "", None)
        if isinstance(kind, type) and issubclass(kind, errors.DomainError):
            return kind(cause.message)
        return WorkflowUnavailable(cause.message)
    return WorkflowUnavailable(str(cause) or "the workflow failed to apply the change")
