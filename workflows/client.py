"""Client helpers: connect to Temporal, start proposals and send them updates.

Failures come back as the core's domain errors, so the API maps one kind of
error to HTTP, whether the workflow refused a call or the database did.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from countersign.domain import errors
from countersign.domain.routing import Status
from countersign.storage.queries import workflow_id
from workflows import search_attributes as sa
from workflows.messages import (
    AcknowledgeRequest,
    DecisionRequest,
    EvidenceRequest,
    EvidenceReview,
    GrantActionRequest,
    ProposalInput,
    QuestionSignal,
    ResubmitRequest,
    UpdateResult,
    WithdrawRequest,
)
from workflows.proposal import ProposalWorkflow


class WorkflowUnavailable(errors.DomainError):
    """Temporal could not be reached or refused the call for a reason of its own."""


DEFAULT_NAMESPACE = "default"


class TemporalConfigError(Exception):
    """The Temporal connection settings cannot be read or name no server; `str()` says why."""


def connect_config(address: str | None = None, namespace: str | None = None) -> ClientConnectConfig:
    """How to reach Temporal, through `temporalio.envconfig`: the profile
    TEMPORAL_PROFILE ("default" unless set) of the TOML file TEMPORAL_CONFIG_FILE
    (else ~/.config/temporalio/temporal.toml, if there), each setting overridden
    by its environment variable (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
    TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH, ...), then by `address` and
    `namespace` when given (Countersign's settings, which read `.env` too).
    No "target_host" in the answer: no server is configured."""
    named = os.environ.get("TEMPORAL_CONFIG_FILE")
    if named and not Path(named).is_file():  # envconfig would go on without it
        raise TemporalConfigError(f"TEMPORAL_CONFIG_FILE={named}: no such file")
    try:
        # Strict: a misspelt key (say, TLS settings) is refused, not silently left out.
        config = ClientConfigProfile.load(config_file_strict=True).to_client_connect_config()
    except (RuntimeError, OSError) as error:  # a bad file or profile; a certificate or key not readable
        raise TemporalConfigError(f"the Temporal connection settings cannot be read: {error}") from None
    if address:
        config["target_host"] = address
    config["namespace"] = namespace or config.get("namespace") or DEFAULT_NAMESPACE
    return config


async def connect(address: str | None = None, namespace: str | None = None, lazy: bool = False) -> Client:
    """The client of the web app, the worker and the CLI (see `connect_config`)."""
    config = connect_config(address, namespace)
    if "target_host" not in config:
        raise TemporalConfigError("no Temporal server is configured: set TEMPORAL_ADDRESS (host:port), or an "
                                  "address in a profile of the file TEMPORAL_CONFIG_FILE")
    return await Client.connect(**config, lazy=lazy)


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


async def question(client: Client, proposal_id: int, signal: QuestionSignal) -> None:
    """Tell the proposal's workflow a question opened or closed (it may stop or restart a clock)."""
    await _call(_handle(client, proposal_id).signal(ProposalWorkflow.question, signal))


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
    except RuntimeError as failure:  # the client's connection itself failed (Temporal down or restarting)
        raise WorkflowUnavailable(f"the workflow service cannot be reached: {failure}") from failure


def _domain_error(cause: BaseException | None) -> errors.DomainError:
    if isinstance(cause, ApplicationError):
        kind = getattr(errors, cause.type or "", None)
        if isinstance(kind, type) and issubclass(kind, errors.DomainError):
            return kind(cause.message)
        return WorkflowUnavailable(cause.message)
    return WorkflowUnavailable(str(cause) or "the workflow failed to apply the change")


async def grant_action(client: Client, proposal_id: int, request: GrantActionRequest) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.grant_action, request))


async def submit_evidence(client: Client, proposal_id: int, request: EvidenceRequest) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.submit_evidence, request))


async def review_evidence(client: Client, proposal_id: int, request: EvidenceReview) -> UpdateResult:
    return await _call(_handle(client, proposal_id).execute_update(ProposalWorkflow.review_evidence, request))
