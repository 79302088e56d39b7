"""Which questions and answers the proposal's workflow was told of, on SQLite and PostgreSQL: the
untold ones are listed for the minute sweep, each is marked once (a second marking keeps the first),
and the marks are append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from countersign.storage import messages, questions_told
from countersign.storage.db import transaction
from countersign.storage.message_tables import QuestionTold
from countersign.storage.tables import Proposal
from tests import factories

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
PROPOSAL = 4_343_433  # clear of the id blocks conftest reserves per test


@pytest.fixture
def posted(any_engine) -> tuple[int, int, int]:
    """A question, the lead's answer, and a plain message, on one proposal: their ids."""
    users = factories.all_users(any_engine)
    with transaction(any_engine) as session:
        session.add(Proposal(id=PROPOSAL, owner_id=users["lead"].id, title="t", capability="c", parties=["sony"],
                             status="in_review", version=1, stage="Rights", pending=["sony"], created_at=AT,
                             updated_at=AT))
        session.flush()
        post = dict(session=session, proposal_id=PROPOSAL, version=None, base_url="http://countersign.test")
        question = messages.post_message(author=users["sony"], text="Which stems?", visibility=None, party=None,
                                         reply_to=None, question=True, **post)
        answer = messages.post_message(author=users["lead"], text="All of them.", visibility=None, party=None,
                                       reply_to=question.id, question=False, **post)
        plain = messages.post_message(author=users["sony"], text="Thanks.", visibility=None, party=None,
                                      reply_to=question.id, question=False, **post)
        return question.id, answer.id, plain.id


def untold(engine) -> list[int]:
    with Session(engine) as session:
        return [m.id for m in questions_told.untold(session)]


def test_untold_questions_and_answers_are_listed_until_marked_once(any_engine, posted):
    question, answer, _plain = posted
    assert untold(any_engine) == [question, answer]  # oldest first; a plain reply is nothing to tell
    with transaction(any_engine) as session:
        questions_told.mark_told(session, [question], AT)
    with transaction(any_engine) as session:  # told again (the sweep and the web app at once): kept as first told
        questions_told.mark_told(session, [question, answer], AT + timedelta(minutes=1))
    assert untold(any_engine) == []
    with Session(any_engine) as session:
        marks = {m.message_id: m.told_at for m in session.exec(select(QuestionTold))}
    assert marks == {question: AT, answer: AT + timedelta(minutes=1)}


def test_a_mark_is_append_only(any_engine, posted):
    with transaction(any_engine) as session:
        questions_told.mark_told(session, [posted[0]], AT)
    for statement in ("UPDATE question_told SET told_at = told_at", "DELETE FROM question_told"):
        with pytest.raises(IntegrityError, match="question_told: entries are append-only"), any_engine.begin() as conn:
            conn.execute(text(statement))
