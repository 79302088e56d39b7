"""The word index of proposals' titles and summaries (tables.ProposalWord):
written with each version by the step that stores it, read by the lists'
text search (queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert
from sqlmodel import Session, col, func, select

from countersign.domain import search
from countersign.storage.tables import Proposal, ProposalWord

DELETE = delete(ProposalWord).where(col(ProposalWord.proposal_id) == bindparam("proposal_id"))
INSERT = insert(ProposalWord)
# A term that begins words of this many proposals or more is broad: the list is read in its own order and
# each proposal checked for it (a seek in the primary key), up to the page's end. A narrower term's few
# proposals are read from the word index instead, then sorted.
BROAD = 2000


def rows(proposal_id: int, content: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"proposal_id": proposal_id, "word": word}
            for word in sorted(search.words(content.get("title") or "", content.get("summary") or ""))]


def rewrite(db: Connection, proposal_id: int, content: dict[str, Any]) -> None:
    """The proposal's words, from the version's `content` (the submit body)."""
    db.execute(DELETE, {"proposal_id": proposal_id})
    if found := rows(proposal_id, content):
        db.execute(INSERT, found)


def _begins(term: str) -> list:
    """The words beginning with `term`: a range of ix_proposal_word_word_proposal_id."""
    return [ProposalWord.word >= term, ProposalWord.word < term + search.END]


def _proposals(session: Session, term: str) -> int:
    """How many proposals `term` finds, counted up to BROAD."""
    capped = select(ProposalWord.proposal_id).where(*_begins(term)).limit(BROAD).subquery()
    return session.exec(select(func.count()).select_from(capped)).one()


def matching(session: Session, terms: tuple[str, ...]) -> list:
    """Conditions on Proposal: each term begins a word of its title or summary. The narrowest term,
    unless it too is broad, gives the proposals to read; every other term is checked on each."""
    if not terms:
        return []
    sized = sorted((_proposals(session, term), term) for term in terms)
    checked = [select(ProposalWord.proposal_id).where(ProposalWord.proposal_id == Proposal.id, *_begins(term))
               .exists() for _, term in sized]
    if sized[0][0] >= BROAD:
        return checked
    return [col(Proposal.id).in_(select(ProposalWord.proposal_id).where(*_begins(sized[0][1]))), *checked[1:]]
