"""Who may see, write and be told of a proposal's messages and files: pure rules.

A message's visibility is chosen by its author and fixed for its thread:

- `label`: the reps of one party (the author's) and compliance;
- `label_lead`: the reps of one party, the proposal's lead and compliance;
- `all`: everyone who may see the proposal.

Admins see everything. A message someone may not see is absent for them
everywhere (list, pages, exports, mail), never shown redacted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from countersign.domain.access import Proposal, Role, visible
from countersign.domain.errors import Forbidden, NotFound, Refused


class Visibility(StrEnum):
    LABEL = "label"
    LABEL_LEAD = "label_lead"
    ALL = "all"


# Audit event kinds of the conversation: written on the proposal's chain by the web app (a new
# version's files: by its step), beside the workflow's own (reconciliation with the Temporal
# history leaves them out).
MESSAGE = "message"
FILE = "file"
FILE_REMOVED = "file_removed"  # left out of a new version (written with the version, by its step)
REDACTED = "redacted"
CONVERSATION_KINDS = frozenset({MESSAGE, FILE, FILE_REMOVED, REDACTED})

# "@someone@example.com" in a message's text; not the middle of an address.
MENTION = re.compile(r"(?<![\w.@])@([\w.%+-]+@[\w-]+(?:\.[\w-]+)+)")


class Viewer(Protocol):
    id: int | None
    role: str
    party: str | None


@dataclass(frozen=True)
class Scope:
    """Who a thread is for: its visibility and, unless `all`, its one party."""

    visibility: Visibility
    party: str | None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def can_see(viewer: Viewer, scope: Scope, proposal: Proposal) -> bool:
    """Whether `viewer` may see a message (or a file on it) of `scope` on `proposal`."""
    if not visible(viewer, proposal):
        return False
    if viewer.role in (Role.ADMIN, Role.COMPLIANCE):
        return True
    if scope.visibility == Visibility.ALL:
        return True
    if viewer.role == Role.REP:
        return viewer.party == scope.party
    if viewer.role == Role.LEAD:
        return scope.visibility == Visibility.LABEL_LEAD and proposal.owner_id == viewer.id
    return False


def may_write(author: Viewer, proposal: Proposal) -> bool:
    """The proposal's lead and the reps of the parties it touches write messages."""
    if author.role == Role.LEAD:
        return proposal.owner_id == author.id
    return author.role == Role.REP and author.party in proposal.parties


def scope_of_new(author: Viewer, proposal: Proposal, visibility: Visibility | None, party: str | None,
                 parent: Scope | None, question: bool) -> Scope:
    """The scope of a message `author` writes, or why not (Forbidden, Refused).

    A reply (`parent`: its thread's scope) keeps its thread's; a visibility or
    party given with a reply must agree with it.
    """
    if not may_write(author, proposal):
        raise Forbidden(f"a {author.role} cannot write on this proposal: only its lead and the reps of its parties")
    if parent is not None:
        if (visibility and visibility != parent.visibility) or (party and parent.party and party != parent.party):
            raise Refused(f"a reply stays in its thread's visibility ({parent.visibility}"
                          + (f", {parent.party}" if parent.party else "") + ")")
        if question:
            raise Refused("a reply cannot be a question: start a new message to ask one")
        return parent
    visibility = visibility or (Visibility.LABEL_LEAD if author.role == Role.REP else Visibility.ALL)
    if author.role == Role.REP:
        if party and party != author.party:
            raise Refused(f"a rep writes for their own party ({author.party}), not {party}")
        party = author.party
    elif visibility == Visibility.LABEL:
        raise Refused("label-only messages are for a party's reps: a lead writing to one label "
                      "chooses label_lead and names the party")
    elif visibility == Visibility.LABEL_LEAD:
        if not party:
            raise Refused("name the party (party) a label_lead message is for")
        if party not in proposal.parties:
            raise Refused(f"{party} is not a party of this proposal")
    if visibility == Visibility.ALL:
        party = author.party if author.role == Role.REP else None
    if question:
        if author.role != Role.REP:
            raise Refused("only a party's rep asks the lead a question")
        if visibility == Visibility.LABEL:
            raise Refused("a question goes to the lead: choose label_lead or all, not label")
    return Scope(Visibility(visibility), party)


def closes_question(author: Viewer, proposal: Proposal) -> bool:
    """A reply by the proposal's lead answers (closes) its thread's question."""
    return author.role == Role.LEAD and proposal.owner_id == author.id


def mentions(text: str) -> list[str]:
    """The addresses mentioned in `text` (`@name@example.com`), lower-cased, each once, in order."""
    return list(dict.fromkeys(m.lower().rstrip(".") for m in MENTION.findall(text)))


def check_mentions(mentioned: Iterable[str], people: dict[str, Viewer], scope: Scope,
                   proposal: Proposal) -> list[str]:
    """The mentioned who may see the message; Refused naming anyone who may not, and why."""
    refused = []
    for email in mentioned:
        person = people.get(email)
        if person is None:
            refused.append(f"{email} has no account here")
        elif not can_see(person, scope, proposal):
            refused.append(f"{email} cannot see a {scope.visibility} message"
                           + (f" of {scope.party}" if scope.party else ""))
    if refused:
        raise Refused("mentions refused: " + "; ".join(refused)
                      + ". Mention only people who can see the message, or change its visibility")
    return list(mentioned)


def check_file_access(viewer: Viewer, proposal: Proposal, scope: Scope | None) -> None:
    """A file on a version (`scope` None) is seen by everyone who sees the proposal, as the version
    is; a file on a message by those who see the message. NotFound otherwise: a file one may not
    see does not exist for them."""
    if not (visible(viewer, proposal) if scope is None else can_see(viewer, scope, proposal)):
        raise NotFound("no such file")


def check_file_upload(uploader: Viewer, proposal: Proposal, scope: Scope | None) -> None:
    """Files on a version are attached by the proposal's lead; files on a message by its writers
    who can see it."""
    if scope is None:
        if not (uploader.role == Role.LEAD and proposal.owner_id == uploader.id):
            raise Forbidden("only the proposal's lead attaches files to a version; "
                            "reps attach files to a message (message_id)")
        return
    check_file_access(uploader, proposal, scope)
    if not may_write(uploader, proposal):
        raise Forbidden(f"a {uploader.role} cannot attach files: only the lead and the reps of its parties")
