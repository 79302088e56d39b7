"""After a question or its answer is stored: tell the proposal's workflow, which stops or restarts
the asking party's clock where the policy says so (countersign.domain.routing, question_opened).

The message is stored first and stays stored. Each one told is marked (`question_told`); one that
Temporal missed (unreachable for a moment) is told by the minute sweep (workflows.webhook_sweep), so
the clock stops a minute late at worst instead of not at all. A proposal that has concluded has no
clock left to stop: that counts as told.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from countersign.domain.errors import DomainError
from countersign.storage import questions_told
from countersign.storage.db import transaction
from countersign.storage.message_tables import Message
from countersign.storage.tables import utcnow
from workflows import client as wf
from workflows.messages import QuestionSignal

log = logging.getLogger("countersign")


def signal_for(message: Message) -> QuestionSignal | None:
    if message.question:
        return QuestionSignal(message.id, message.party, open=True)
    if message.answers:
        return QuestionSignal(message.thread_id, message.party, open=False)
    return None


async def tell(temporal: Client, engine: Engine, message: Message) -> bool:
    """Tell the workflow of `message` if it is a question or an answer; whether it was told."""
    signal = signal_for(message)
    if signal is None:
        return True
    try:
        await wf.question(temporal, message.proposal_id, signal)
    except wf.WorkflowUnavailable as error:
        log.warning("proposal %s: message %s not told to its workflow yet (the sweep tells it): %s",
                    message.proposal_id, message.id, error)
        return False
    except DomainError as error:  # concluded: no clock to stop
        log.info("proposal %s: message %s not told to its workflow: %s", message.proposal_id, message.id, error)
    await asyncio.to_thread(_mark, engine, message.id)
    return True


async def tell_untold(temporal: Client, engine: Engine) -> int:
    """The sweep's part: tell every question and answer not told yet; how many were told now."""
    pending = await asyncio.to_thread(_untold, engine)  # off the worker's event loop, as its other reads
    told = 0
    for message in pending:
        if not await tell(temporal, engine, message):
            break  # Temporal missed this one too: the next sweep goes on from it
        told += 1
    return told


def _untold(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return questions_told.untold(session)


def _mark(engine: Engine, message_id: int) -> None:
    with transaction(engine) as session:
        questions_told.mark_told(session, [message_id], utcnow())
