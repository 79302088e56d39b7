"""Which questions and answers the proposal's workflow has been told of (`question_told`, append-only).

A question is stored first and told after (workflows.question_signals): one Temporal missed has no
row, and the minute sweep tells it again. Telling twice does no harm: the workflow ignores a question
it holds already, or an answer to one it does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, or_, select

from countersign.storage.db import insert_new
from countersign.storage.message_tables import Message, QuestionTold


def untold(session: Session, limit: int = 100) -> list[Message]:
    """Questions and answers without a row, oldest first."""
    told = select(QuestionTold.message_id).where(QuestionTold.message_id == Message.id)
    return list(session.exec(select(Message).where(or_(col(Message.question), col(Message.answers)), ~told.exists())
                             .order_by(col(Message.id)).limit(limit)))


def mark_told(session: Session, message_ids: Iterable[int], at: datetime) -> None:
    """Each once: a message told again (by the sweep and the web app at once) keeps its first row."""
    rows = [{"message_id": message_id, "told_at": at} for message_id in message_ids]
    if rows:
        session.execute(insert_new(session.get_bind(), QuestionTold, rows))
