"""Property-based API test: schemathesis drives every operation of the app's
own OpenAPI document against the live server, as a lead, a rep and
compliance, with every check, in every phase (examples, coverage, fuzzing;
stateful sequences in the second test), and finds no server error and no
answer outside the documented schema."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from countersign.storage.accounts import create_token
from tests import factories
from countersign.storage.db import transaction

ROLES = ("lead", "rep.sony", "compliance")
TURNS = itertools.count()

# The one exclusion, and only where the schema cannot say what the service
# rightly refuses, so "schema-valid" data gets a 422 there:
# - a date that must be today or later (a proposal's requested decision date,
#   a token's expiry, a delegation's end): JSON Schema has no bound relative
#   to the current date;
# - an e-mail address (a delegate, `on_behalf_of`): email-validator checks
#   RFC 5321/5322 syntax and refuses special-use domains, beyond what a
#   schema pattern or `format: email` states.
# - a witness's public key: a PEM-encoded Ed25519 key, which no pattern states;
# - a cosignature, which must verify against the organisation's registered key;
# - a consistency proof's `from`, at most its `to`: JSON Schema cannot relate two parameters;
# - an attached file, accepted by its content's type (PDF, images, text...), which no schema states;
# - a message, whose visibility and party must fit its author's role and party, and whose
#   @mentions must name people who can see it.
# Every other operation runs every check, positive_data_acceptance included.
SCHEMA_LIMITS = {
    ("POST", "/api/v1/checkpoints/witnesses"): "public_key must be a PEM Ed25519 public key",
    ("GET", "/api/v1/checkpoints/proof/consistency"): "from must not exceed to",
    ("POST", "/api/v1/checkpoints/{size}/cosignatures"): "signature must verify with the organisation's key",
    ("POST", "/api/v1/proposals"): "requested_decision_date must be today or later",
    ("POST", "/api/v1/proposals/preview"): "requested_decision_date must be today or later",
    ("POST", "/api/v1/proposals/{proposal_id}/resubmit"): "requested_decision_date must be today or later",
    ("POST", "/api/v1/proposals/{proposal_id}/decisions"): "on_behalf_of must be a deliverable-syntax address",
    ("POST", "/api/v1/tokens"): "expires_at must be in the future",
    ("POST", "/api/v1/delegations"): "ends_at in the future; delegate an address",
    ("POST", "/api/v1/delegations/{delegation_id}/reassign"): "delegate must be an address",
    ("POST", "/api/v1/proposals/{proposal_id}/files"): "the file's content must be of an accepted type",
    ("POST", "/api/v1/proposals/{proposal_id}/messages"): "visibility and party must fit the author",
}


@pytest.fixture(scope="session")
def api_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


@pytest.fixture(scope="session")
def tokens(live_server) -> dict[str, str]:
    with transaction(live_server.engine) as session:
        return {who: create_token(session, f"{who}@example.com",
                                  scopes=factories.token_scopes(session, f"{who}@example.com")) for who in ROLES}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors_and_keeps_its_schema(case, live_server, tokens):
    # The roles take turns, case by case: every operation's examples run as each
    # of them, at the cost of one call per case (the suite's time budget).
    who = ROLES[next(TURNS) % len(ROLES)]
    case.call_and_validate(base_url=live_server.url, headers={"Authorization": f"Bearer {tokens[who]}"},
                           excluded_checks=excluded_for(case))


def excluded_for(case) -> list:
    return [positive_data_acceptance] if (case.method.upper(), case.path) in SCHEMA_LIMITS else []


def test_stateful_sequences_keep_the_schema(api_schema, live_server, tokens):
    """The stateful phase: sequences of calls that feed one answer into the
    next (links schemathesis infers: a proposal's id into its reads and
    decisions, a delegation's into its reassignment), as each role."""
    for who in ROLES:
        class AsRole(api_schema.as_state_machine()):
            token = tokens[who]

            def get_call_kwargs(self, case):
                return {"base_url": live_server.url, "headers": {"Authorization": f"Bearer {self.token}"}}

            def validate_response(self, response, case, additional_checks=None, **kwargs):
                case.validate_response(response, additional_checks=additional_checks,
                                       excluded_checks=excluded_for(case), transport_kwargs=kwargs or None)

        AsRole.run(settings=settings(max_examples=10, stateful_step_count=5, deadline=None,
                                     suppress_health_check=list(HealthCheck)))
