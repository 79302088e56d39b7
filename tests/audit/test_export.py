"""Search filters and exports in the database, on SQLite and PostgreSQL, and
the offline verification of export files."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from countersign.storage import audit, audit_export
from countersign.storage.audit_export import MATCHING, AuditFilter
from countersign.storage.db import transaction
from countersign.storage.tables import PartyReview, Proposal, ProposalVersion
from tests import factories

DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)


def seed_proposal(
    engine, owner, pid: int, parties: list[str], title: str, status: str, events: list[tuple]
) -> None:
    """A stored proposal and its chain, as the workflow's activities would leave them."""
    with transaction(engine) as session:
        session.add(
            Proposal(
                id=pid,
                owner_id=owner.id,
                title=title,
                capability="remix",
                parties=parties,
                status=status,
                version=1,
                stage="Review",
                pending=[],
                created_at=DAY1,
                updated_at=DAY1,
            )
        )
        session.flush()
        session.add(
            ProposalVersion(
                proposal_id=pid,
                number=1,
                content=factories.submission(title=title, parties=parties),
                submitted_by=owner.email,
                submitted_at=DAY1,
            )
        )
        for party in parties:
            session.add(
                PartyReview(
                    proposal_id=pid, stage_index=0, stage="Review", party=party, state="pending", current=True
                )
            )
        audit.append(session, pid, "submitted", DAY1, actor=owner.email, detail={"version": "1"})
        for kind, at, party, actor, detail in events:
            audit.append(session, pid, kind, at, actor=actor, party=party, detail=detail)


@pytest.fixture
def seeded(any_engine):
    owner = factories.user(any_engine, "lead")
    factories.user(any_engine, "rep", "sony")
    seed_proposal(
        any_engine,
        owner,
        1,
        ["sony", "warner"],
        "Stem remixer",
        "in_review",
        [
            (
                "decided",
                DAY2,
                "sony",
                "rep.sony@example.com",
                {
                    "decision": "approve",
                    "version": "1",
                    "stage": "Review",
                    "comment": "Clearé by rights 100%",
                },
            ),
        ],
    )
    seed_proposal(
        any_engine,
        owner,
        2,
        ["merlin"],
        "Voice feature",
        "rejected",
        [
            (
                "decided",
                DAY1,
                "merlin",
                "rep.merlin@example.com",
                {"decision": "reject", "version": "1", "stage": "Review", "comment": "Unclear provenance"},
            ),
            ("concluded", DAY1, None, None, {"status": "rejected"}),
        ],
    )
    with transaction(any_engine) as session:
        audit.log_read(session, "compliance@example.com", "api", [1], at=DAY2)
    return any_engine


def ids(engine, **filters) -> list[int]:
    with Session(engine) as session:
        return audit_export.matching_proposal_ids(session, AuditFilter(**filters))


def test_filters_pick_proposals(seeded):
    assert ids(seeded) == [1, 2]
    assert ids(seeded, party="warner") == [1]
    assert ids(seeded, status="rejected") == [2]
    assert ids(seeded, actor="REP.SONY") == [1]
    assert ids(seeded, kind="concluded") == [2]
    assert ids(seeded, since=DAY2.date()) == [1]
    assert ids(seeded, until=DAY1.date()) == [1, 2]  # both were submitted on day 1
    assert ids(seeded, since=DAY1.date() + timedelta(days=1), until=DAY2.date() - timedelta(days=1)) == []
    assert ids(seeded, actor="rep.merlin", since=DAY2.date()) == []  # one event must match both
    assert ids(seeded, text="PROVENANCE") == [2]  # a comment
    assert ids(seeded, text="stem remix") == [1]  # a title
    assert ids(seeded, text="100%") == [1]  # LIKE's wildcards are taken literally
    assert ids(seeded, text="1_0") == []
    assert ids(seeded, text="opt in per release") == [1, 2]  # proposal content (the checklist)
    assert ids(seeded, proposal_id=2, party="merlin") == [2]


def test_event_search_lists_matching_events_and_the_access_log_when_asked(seeded):
    with Session(seeded) as session:
        everything, total = audit_export.search_events(session, AuditFilter())
        assert total == 5 and all(e.proposal_id is not None for e in everything)
        decisions, total = audit_export.search_events(session, AuditFilter(kind="decided"))
        assert total == 2 and {e.kind for e in decisions} == {"decided"}
        with_access, total = audit_export.search_events(session, AuditFilter(access=True, actor="compliance"))
        assert [(e.proposal_id, e.kind) for e in with_access] == [(None, audit.AUDIT_READ)]


def export(engine, f: AuditFilter) -> list[str]:
    with Session(engine) as session:
        proposal_ids = audit_export.matching_proposal_ids(session, f)
    head = audit_export.header(f, "compliance@example.com", proposal_ids)
    return list(audit_export.jsonl(audit_export.export_entries(engine, f, proposal_ids), head))


def test_whole_chain_export_verifies_from_genesis(seeded):
    lines = export(seeded, AuditFilter(party="merlin", access=True))
    report = audit_export.verify_jsonl(lines)
    assert report.ok, report.problems
    assert report.scope == "whole" and set(report.chains) == {"2", "access"}
    with Session(seeded) as session:
        assert report.chains["2"]["head"] == audit.chain(session, 2)[-1].hash
    records = [json.loads(line) for line in lines]
    assert records[0]["filters"] == {"party": "merlin", "access": "true"} and records[0]["proposals"] == [2]
    assert records[-1] == {
        "record": "end",
        "entries": 4,
        "chains": [
            {
                "proposal_id": 2,
                "entries": 3,
                "first_seq": 1,
                "last_seq": 3,
                "head": report.chains["2"]["head"],
            },
            {
                "proposal_id": None,
                "entries": 1,
                "first_seq": 1,
                "last_seq": 1,
                "head": report.chains["access"]["head"],
            },
        ],
    }
    decided = next(r for r in records if r.get("kind") == "decided")
    assert set(decided) == {"record", *audit.CANONICAL_FIELDS, "prev_hash", "hash"}


def test_matching_export_verifies_what_it_holds(seeded):
    lines = export(seeded, AuditFilter(kind="decided", scope=MATCHING))
    report = audit_export.verify_jsonl(lines)
    assert report.ok, report.problems
    assert report.scope == MATCHING
    assert {k: (c["first_seq"], c["entries"]) for k, c in report.chains.items()} == {"1": (2, 1), "2": (2, 1)}
    # The same entries, declared whole, are refused: they do not start at seq 1.
    whole = [lines[0].replace('"scope": "matching"', '"scope": "whole"'), *lines[1:]]
    refused = audit_export.verify_jsonl(whole)
    assert not refused.ok and "entry 1 missing before it" in refused.problems[0]


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (
            lambda lines: [
                *lines[:2],
                lines[2].replace("Clear\\u00e9", "Refus\\u00e9").replace("Clearé", "Refusé"),
                *lines[3:],
            ],
            "its content does not match its hash",
        ),
        (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "out of order"),
        (lambda lines: [lines[0], *lines[2:]], "entry 1 missing before it"),
        (lambda lines: lines[:-1], "cut off"),
        (
            lambda lines: [*lines[:-1], lines[-1].replace('"entries": 2', '"entries": 3', 1)],
            "the end record counts",
        ),
        (lambda lines: ["{}", *lines[1:]], "not a Countersign audit export"),
        (lambda lines: [*lines[:2], "{not json", *lines[2:]], "not JSON"),
    ],
)
def test_tampered_files_are_refused(seeded, tamper, problem):
    lines = export(seeded, AuditFilter(proposal_id=1))
    assert audit_export.verify_jsonl(lines).ok
    report = audit_export.verify_jsonl(tamper(lines))
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_csv_round_trip(seeded):
    f = AuditFilter(access=True)
    with Session(seeded) as session:
        proposal_ids = audit_export.matching_proposal_ids(session, f)
    text = "".join(audit_export.csv_rows(audit_export.export_entries(seeded, f, proposal_ids)))
    report = audit_export.verify_csv(text.splitlines(keepends=True))
    assert report.ok, report.problems
    assert report.entries == 6 and set(report.chains) == {"1", "2", "access"}
    assert not audit_export.verify_csv(
        text.replace("Unclear provenance", "Clear provenance").splitlines(True)
    ).ok
    assert not audit_export.verify_csv(["a,b\n"]).ok


def test_filter_as_dict_names_only_what_is_set():
    f = AuditFilter(party="sony", since=date(2026, 11, 1), scope=MATCHING, access=True)
    assert f.as_dict() == {"party": "sony", "since": "2026-11-01", "scope": "matching", "access": "true"}
    assert AuditFilter().as_dict() == {}
    assert f.has_event_conditions and not AuditFilter(party="sony", text="x").has_event_conditions
