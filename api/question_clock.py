"""After a question or its answer is stored: tell the proposal's workflow, which stops or restarts
the asking party's clock where the policy says so (countersign.domain.routing, question_opened).

The message is stored first and stays stored: a workflow that cannot be told (Temporal down, the
proposal concluded) leaves the clock running, logged, as it runs under a policy without the key.
"""

from __future__ import annotations

import logging

from temporalio.client import Client

from countersign.domain.errors import DomainError
from countersign.storage.message_tables import Message
from workflows import client as wf
from workflows.messages import QuestionSignal

log = logging.getLogger("countersign")


async def tell_workflow(temporal: Client, message: Message) -> None:
    if message.question:
        signal = QuestionSignal(message.id, message.party, open=True)
    elif message.answers:
        signal = QuestionSignal(message.thread_id, message.party, open=False)
    else:
        return
    try:
        await wf.question(temporal, message.proposal_id, signal)
    except DomainError as error:
        log.warning("proposal %s: question %s not told to its workflow: %s", message.proposal_id,
                    signal.question_id, error)
