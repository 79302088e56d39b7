"""Builders for test data: users, proposal bodies and small policies."""

from __future__ import annotations

from pathlib import Path

from api.schemas import ProposalSubmit
from countersign.domain.policy import PARTY_KEYS, Policy, load_policy, parse_policy
from countersign.storage.accounts import create_user
from countersign.storage.db import transaction
from countersign.storage.tables import User

PASSWORD = "correct horse battery"
# argon2id at its lowest cost, for every process the tests start (tests/conftest.py): at the
# default cost a hash takes ~0.1 s of CPU, and the suite hashes thousands of passwords.
CHEAP_PASSWORD_HASHING = {"COUNTERSIGN_PASSWORD_MEMORY_COST": "8", "COUNTERSIGN_PASSWORD_TIME_COST": "1",
                          "COUNTERSIGN_PASSWORD_PARALLELISM": "1"}


def submission(**overrides) -> dict:
    body = {
        "title": "AI remix studio",
        "summary": "Fans remix licensed stems inside the app.",
        "capability": "remix",
        "parties": list(PARTY_KEYS),
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
    return ProposalSubmit.model_validate(body).model_dump(mode="json")


def user(engine, role: str, party: str | None = None, email: str | None = None) -> User:
    email = email or (f"rep.{party}@example.com" if party else f"{role}@example.com")
    with transaction(engine) as session:
        return create_user(session, email, role, PASSWORD, party=party)


def all_users(engine) -> dict[str, User]:
    users = {"lead": user(engine, "lead"), "compliance": user(engine, "compliance"), "admin": user(engine, "admin")}
    for party in PARTY_KEYS:
        users[party] = user(engine, "rep", party)
    return users


POLICIES = Path(__file__).parent / "policies"
ONE_STAGE = POLICIES / "one_stage.toml"


def policy(*stages: dict, allow_partial: bool = False) -> Policy:
    """The shipped parties with the given stages (default: one all-approve stage)."""
    if not stages and not allow_partial:
        return load_policy(ONE_STAGE)
    base = load_policy()
    raw = {
        "allow_partial": allow_partial,
        "parties": {
            key: {"name": p.name, "timezone": p.timezone, "holidays": p.holidays, "escalation": p.escalation}
            for key, p in base.parties.items()
        },
        "stages": list(stages) or [{"name": "Review", "rule": "all", "due": "10 business days"}],
    }
    return parse_policy(raw, "test policy")
