"""Who sees, writes and is mentioned in a proposal's messages (countersign.domain.messages): pure rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from countersign.domain import file_types, messages as rules
from countersign.domain.errors import Forbidden, NotFound, Refused
from countersign.domain.messages import Scope, Visibility


@dataclass
class Who:
    id: int
    role: str
    party: str | None = None


@dataclass
class Proposal:
    owner_id: int = 1
    parties: tuple = ("sony", "universal")
    pending: tuple = ()
    status: str = "in_review"


LEAD, OTHER_LEAD = Who(1, "lead"), Who(2, "lead")
SONY, UNIVERSAL, MERLIN = Who(3, "rep", "sony"), Who(4, "rep", "universal"), Who(5, "rep", "merlin")
COMPLIANCE, ADMIN = Who(6, "compliance"), Who(7, "admin")
PEOPLE = {"lead": LEAD, "other_lead": OTHER_LEAD, "sony": SONY, "universal": UNIVERSAL, "merlin": MERLIN,
          "compliance": COMPLIANCE, "admin": ADMIN}

# A Sony thread of each visibility, and who sees it (merlin's party is not on the proposal).
MATRIX = {
    Scope(Visibility.LABEL, "sony"): {"sony", "compliance", "admin"},
    Scope(Visibility.LABEL_LEAD, "sony"): {"sony", "lead", "compliance", "admin"},
    Scope(Visibility.ALL, "sony"): {"sony", "universal", "lead", "compliance", "admin"},
    Scope(Visibility.ALL, None): {"sony", "universal", "lead", "compliance", "admin"},
}


@pytest.mark.parametrize("scope", list(MATRIX), ids=lambda s: f"{s.visibility}-{s.party}")
def test_visibility_matrix(scope):
    seen = {name for name, who in PEOPLE.items() if rules.can_see(who, scope, Proposal())}
    assert seen == MATRIX[scope]


def test_a_rep_writes_for_their_own_party_label_lead_by_default():
    assert rules.scope_of_new(SONY, Proposal(), None, None, None, False) == Scope(Visibility.LABEL_LEAD, "sony")
    with pytest.raises(Refused, match="own party"):
        rules.scope_of_new(SONY, Proposal(), Visibility.LABEL, "universal", None, False)


def test_a_lead_names_the_label_of_a_label_lead_message_and_cannot_write_label_only():
    assert rules.scope_of_new(LEAD, Proposal(), Visibility.LABEL_LEAD, "universal", None, False) == Scope(
        Visibility.LABEL_LEAD, "universal")
    with pytest.raises(Refused, match="name the party"):
        rules.scope_of_new(LEAD, Proposal(), Visibility.LABEL_LEAD, None, None, False)
    with pytest.raises(Refused, match="not a party"):
        rules.scope_of_new(LEAD, Proposal(), Visibility.LABEL_LEAD, "merlin", None, False)
    with pytest.raises(Refused, match="label_lead"):
        rules.scope_of_new(LEAD, Proposal(), Visibility.LABEL, None, None, False)


@pytest.mark.parametrize("who", [OTHER_LEAD, MERLIN, COMPLIANCE, ADMIN])
def test_only_the_lead_and_the_proposals_reps_write(who):
    with pytest.raises(Forbidden):
        rules.scope_of_new(who, Proposal(), None, None, None, False)


def test_replies_keep_their_threads_scope():
    thread = Scope(Visibility.LABEL_LEAD, "sony")
    assert rules.scope_of_new(LEAD, Proposal(), None, None, thread, False) == thread
    with pytest.raises(Refused, match="stays in its thread"):
        rules.scope_of_new(LEAD, Proposal(), Visibility.ALL, None, thread, False)


def test_questions_are_a_reps_and_go_to_the_lead():
    assert rules.scope_of_new(SONY, Proposal(), None, None, None, True).visibility == Visibility.LABEL_LEAD
    with pytest.raises(Refused, match="only a party's rep"):
        rules.scope_of_new(LEAD, Proposal(), Visibility.ALL, None, None, True)
    with pytest.raises(Refused, match="not label"):
        rules.scope_of_new(SONY, Proposal(), Visibility.LABEL, None, None, True)
    assert rules.closes_question(LEAD, Proposal()) and not rules.closes_question(SONY, Proposal())


def test_mentions_of_people_who_cannot_see_are_refused_saying_why():
    text = "ask @rep.sony@example.com and @Rep.Universal@example.com, not mail@example.com"
    assert rules.mentions(text) == ["rep.sony@example.com", "rep.universal@example.com"]
    people = {"rep.sony@example.com": SONY, "rep.universal@example.com": UNIVERSAL}
    scope = Scope(Visibility.LABEL_LEAD, "sony")
    assert rules.check_mentions(["rep.sony@example.com"], people, scope, Proposal()) == ["rep.sony@example.com"]
    with pytest.raises(Refused, match="rep.universal@example.com cannot see a label_lead message of sony"):
        rules.check_mentions(rules.mentions(text), people, scope, Proposal())
    with pytest.raises(Refused, match="no account"):
        rules.check_mentions(["ghost@example.com"], people, scope, Proposal())


def test_version_files_are_the_leads_to_attach_and_everyones_on_the_proposal_to_read():
    rules.check_file_upload(LEAD, Proposal(), None)
    with pytest.raises(Forbidden):
        rules.check_file_upload(SONY, Proposal(), None)
    rules.check_file_access(UNIVERSAL, Proposal(), None)
    with pytest.raises(NotFound):
        rules.check_file_access(UNIVERSAL, Proposal(), Scope(Visibility.LABEL_LEAD, "sony"))
    with pytest.raises(NotFound):
        rules.check_file_access(MERLIN, Proposal(), None)


@pytest.mark.parametrize("content, name, expected", [
    (b"%PDF-1.7\n...", "a.txt", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "a.pdf", "image/png"),
    (b"plain words\n", "notes", "text/plain"),
    (b"a,b\n1,2\n", "data.csv", "text/csv"),
    (b'{"a": 1}', "x.bin", "application/json"),
])
def test_types_by_content(content, name, expected):
    assert file_types.detect(content, name) == expected


@pytest.mark.parametrize("content", [b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>",
                                     b"<!DOCTYPE html><html></html>", b"MZ\x90\x00\x03" + b"\x00" * 60,
                                     b"PK\x03\x04" + b"\x00" * 40])
def test_markup_executables_and_unknown_binaries_are_refused(content):
    with pytest.raises(Refused):
        file_types.detect(content, "innocent.pdf")


def test_safe_names():
    assert file_types.safe_name('../../etc/"passwd"\r\n.pdf') == "_passwd___.pdf"
    assert file_types.safe_name("") == "file"
