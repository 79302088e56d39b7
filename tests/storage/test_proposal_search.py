"""The lists' text and label search (issue 25), on SQLite and PostgreSQL: the
step that stores a version writes its words, a search finds the proposals
whose title or summary has a word beginning with each term, only among
those the user may see, and it reads the word index rather than every
proposal's text."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from countersign.domain import search
from countersign.storage import proposal_words, queries
from countersign.storage.db import transaction
from countersign.storage.tables import Proposal, ProposalWord
from tests import factories
from tests.storage.test_record_step import PROPOSAL, Run
from workflows.activities import ProposalActivities

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
LONG = "Zq" * 100  # a 200-character title without a space


def add(engine, pid: int, owner: int, title: str, summary: str, parties: list[str]) -> None:
    with transaction(engine) as session:
        session.add(Proposal(id=pid, owner_id=owner, title=title, capability="voice", parties=parties,
                             status="in_review", version=1, stage="Review", pending=[], created_at=NOW,
                             updated_at=NOW))
        session.flush()
        proposal_words.rewrite(session.connection(), pid, {"title": title, "summary": summary})


def test_proposals_are_found_by_their_words_and_labels(any_engine, monkeypatch):
    users = factories.all_users(any_engine)
    other = factories.user(any_engine, "lead", email="other.lead@example.com")
    # "AI remix studio" / "Fans remix licensed stems inside the app.", to every label, through the step's activity
    ProposalActivities(any_engine, factories.policy().parties, "http://countersign.test").record_step(Run().opening)
    add(any_engine, 7_000_001, users["lead"].id, "Voice clone for karaoke", "Sing along, ÉTUDE Nº5.", ["sony"])
    add(any_engine, 7_000_002, other.id, LONG, "A remix of_underscores", ["warner"])

    def found(user, text="", party=None) -> list[int]:
        terms = search.terms(text) if text else ()
        with Session(any_engine) as session:
            ids = [p.id for p in queries.list_visible(session, user, party=party, terms=terms)]
            assert queries.count_visible(session, user, party=party, terms=terms) == len(ids)
        return sorted(ids)

    compliance, lead, sony, warner = users["compliance"], users["lead"], users["sony"], users["warner"]
    assert found(compliance, "remix") == [PROPOSAL, 7_000_002]
    assert found(compliance, "REMIX stud") == [PROPOSAL]  # every term, each a word's beginning, any case
    assert found(compliance, "étude no5") == [7_000_001]  # folded alike: É and é, Nº and No
    assert found(compliance, LONG) == found(compliance, LONG[:7]) == [7_000_002]
    assert found(compliance, "of_und") == [7_000_002] and found(compliance, "emix") == []
    assert found(lead, "remix") == [PROPOSAL]  # a lead's own only
    assert found(sony, "karaoke") == [7_000_001] and found(warner, "karaoke") == []  # a rep's label's only
    assert found(warner, "remix") == [PROPOSAL, 7_000_002]
    assert found(compliance, party="warner") == [PROPOSAL, 7_000_002]
    assert found(lead, "voice", party="sony") == [7_000_001] and found(lead, "voice", party="warner") == []
    assert found(compliance, party="so_y") == found(compliance, party="%") == []  # no wildcard in a label

    with transaction(any_engine) as session:  # a new version's words replace the old ones
        proposal_words.rewrite(session.connection(), 7_000_001, {"title": "Duet maker", "summary": ""})
    assert found(compliance, "karaoke") == [] and found(compliance, "duet") == [7_000_001]
    with Session(any_engine) as session:
        words = session.exec(select(ProposalWord.word).where(ProposalWord.proposal_id == 7_000_002)).scalars()
        assert max(len(word) for word in words) == search.WORD_LENGTH

    def plan(user, terms) -> str:
        with Session(any_engine) as session:
            query = queries._visible_query(user, words=proposal_words.matching(session, terms))
        with any_engine.connect() as conn:
            return " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(query.compile(any_engine, compile_kwargs={"literal_binds": True}))))

    narrow = found(compliance, "remix stud"), found(sony, "karaoke"), found(lead, "voice", party="sony")
    monkeypatch.setattr(proposal_words, "BROAD", 1)  # every term broad: each proposal checked for it
    assert (found(compliance, "remix stud"), found(sony, "karaoke"), found(lead, "voice", party="sony")) == narrow
    if any_engine.dialect.name == "sqlite":  # a range of the word index, never a scan of every proposal's text
        assert "sqlite_autoindex_proposal_word_1 (proposal_id=? AND word>? AND word<?)" in plan(sony, ("remix",))
        monkeypatch.setattr(proposal_words, "BROAD", 2000)
        assert "ix_proposal_word_word_proposal_id (word>? AND word<?)" in plan(sony, ("remix",))
