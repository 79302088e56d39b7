"""Builders for test data: users, proposal bodies and small policies."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from sqlmodel import Session, select

from api.schemas import proposal_submit
from countersign.domain.policy import Policy, load_policy, parse_policy
from countersign.storage import audit
from countersign.storage.accounts import create_user
from countersign.storage.db import transaction
from countersign.storage.tables import AuditEntry, User

PASSWORD = "correct horse battery"
POLICIES = Path(__file__).parent / "policies"
ONE_STAGE = POLICIES / "one_stage.toml"
THREE_LABELS = POLICIES / "three_labels.toml"
# The parties of the policy most tests run under (ONE_STAGE's: the shipped five), in its order.
PARTIES = tuple(load_policy(ONE_STAGE).parties)
# argon2id at its lowest cost, for every process the tests start (tests/conftest.py): at the
# default cost a hash takes ~0.1 s of CPU, and the suite hashes thousands of passwords.
CHEAP_PASSWORD_HASHING = {"COUNTERSIGN_PASSWORD_MEMORY_COST": "8", "COUNTERSIGN_PASSWORD_TIME_COST": "1",
                          "COUNTERSIGN_PASSWORD_PARALLELISM": "1"}


def submission(policy: Policy | None = None, **overrides) -> dict:
    """A valid submit body under `policy` (default: ONE_STAGE's), touching every party."""
    policy = policy or load_policy(ONE_STAGE)
    body = {
        "title": "AI remix studio",
        "summary": "Fans remix licensed stems inside the app.",
        "capability": "remix",
        "parties": list(policy.parties),
        "data_sources": "Licensed stems supplied by each label; no user uploads.",
        "launch_scope": "pilot",
        "checklist": {
            "agreements": "Covered by the 2026 stem licence.",
            "artist_choice": "Artists opt in per release.",
            "compensation": "Pro-rata share of remix revenue.",
            "attribution": "Original artists credited; output labelled AI-assisted.",
            "safeguards": "No voice models; watermarking of every export.",
        },
    }
    body.update(overrides)
    return proposal_submit(policy).model_validate(body).model_dump(mode="json")


def user(engine, role: str, party: str | None = None, email: str | None = None,
         parties: tuple[str, ...] = PARTIES) -> User:
    email = email or (f"rep.{party}@example.com" if party else f"{role}@example.com")
    with transaction(engine) as session:
        return create_user(session, email, role, PASSWORD, party=party, parties=parties)


def all_users(engine, policy: Policy | None = None) -> dict[str, User]:
    """A lead, compliance, an admin and a rep of each of the policy's parties (default: ONE_STAGE's)."""
    parties = tuple(policy.parties) if policy else PARTIES
    users = {"lead": user(engine, "lead"), "compliance": user(engine, "compliance"), "admin": user(engine, "admin")}
    for party in parties:
        users[party] = user(engine, "rep", party, parties=parties)
    return users


def policy(*stages: dict, allow_partial: bool = False) -> Policy:
    """The shipped parties with the given stages (default: one all-approve stage)."""
    if not stages and not allow_partial:
        return load_policy(ONE_STAGE)
    base = load_policy()
    raw = {
        "allow_partial": allow_partial,
        "parties": {key: dataclasses.asdict(party) for key, party in base.parties.items()},
        "stages": list(stages) or [{"name": "Review", "rule": "all", "due": "10 business days"}],
    }
    return parse_policy(raw, "test policy")


def log_reads_at_once(engines: list, writers: int, each: int) -> list[AuditEntry]:
    """`writers` threads, each appending `each` access-chain entries at the same
    time (writer n through `engines[n % len(engines)]`); the access chain after."""
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with transaction(engines[n % len(engines)]) as session:
                    audit.log_read(session, f"auditor{n}@example.com", "api", [i])
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engines[0]) as session:
        return audit.chain(session, None)


def access_chain(engine, kind: str) -> list[AuditEntry]:
    """The access chain's entries of one kind, in seq order."""
    with Session(engine) as session:
        return [e for e in audit.chain(session, None) if e.kind == kind]


def token_scopes(session, email: str) -> tuple[str, ...]:
    """A rep's token in the tests may decide (api.reauth); others' cannot have the scope."""
    user = session.exec(select(User).where(User.email == email)).first()
    return ("decide",) if user is not None and user.role == "rep" else ()
