"""countersign.storage.identity on both databases: just-in-time accounts from a provider's word,
the organisation fixed by the provider, deactivation ending what the account could act with."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from countersign.domain.identity import IdentityRefused
from countersign.storage import audit, delegation, identity
from countersign.storage.accounts import create_token, token_user
from countersign.storage.db import transaction
from countersign.storage.tables import AuditEntry, User, utcnow
from tests import factories

SONY_ISSUER, UNIVERSAL_ISSUER = "https://login.sony.example", "https://login.universal.example"


def sign_in(engine, organisation: str, issuer: str, **claims) -> User:
    with transaction(engine) as session:
        return identity.provider_sign_in(session, organisation, issuer, claims, "rep", factories.PARTIES,
                                         "10.0.0.1")


def access_kinds(engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.proposal_id).is_(None))
                            .order_by(col(AuditEntry.seq)))
        return [row.kind for row in rows]


def test_first_sign_in_creates_the_account_later_ones_find_it_by_subject(any_engine):
    first = sign_in(any_engine, "sony", SONY_ISSUER, sub="00u1", email="Dana@Sony.example", name="Dana")
    assert (first.email, first.role, first.party, first.name) == ("dana@sony.example", "rep", "sony", "Dana")
    # The provider changed her address: the subject still names her.
    again = sign_in(any_engine, "sony", SONY_ISSUER, sub="00u1", email="dana.new@sony.example")
    assert again.id == first.id
    assert access_kinds(any_engine) == ["account_created", "signed_in", "signed_in"]


def test_the_organisation_is_the_providers_never_the_claims(any_engine):
    factories.user(any_engine, "rep", "sony", "rep.sony@example.com")
    with pytest.raises(IdentityRefused, match="another organisation"):
        sign_in(any_engine, "universal", UNIVERSAL_ISSUER, sub="u-9", email="rep.sony@example.com")
    with pytest.raises(IdentityRefused, match="valid e-mail address"):
        sign_in(any_engine, "sony", SONY_ISSUER, sub="u-10", email="not an address")
    with pytest.raises(IdentityRefused, match="subject"):
        sign_in(any_engine, "sony", SONY_ISSUER, email="x@sony.example")
    with Session(any_engine) as session:
        assert session.exec(select(User).where(User.party == "universal")).first() is None  # nothing half-stored


def test_a_local_account_of_the_same_organisation_is_linked_once(any_engine):
    local = factories.user(any_engine, "rep", "sony", "rep.sony@example.com")
    linked = sign_in(any_engine, "sony", SONY_ISSUER, sub="s-1", email="rep.sony@example.com")
    assert linked.id == local.id
    with pytest.raises(IdentityRefused, match="another identity"):
        sign_in(any_engine, "sony", SONY_ISSUER, sub="s-2", email="rep.sony@example.com")


def test_deactivation_ends_tokens_and_delegations_and_refuses_the_next_sign_in(any_engine):
    rep = sign_in(any_engine, "sony", SONY_ISSUER, sub="s-1", email="rep@sony.example")
    colleague = factories.user(any_engine, "rep", "sony", "colleague@sony.example")
    with transaction(any_engine) as session:
        token = create_token(session, rep.email, scopes=factories.token_scopes(session, rep.email))
        delegation.create(session, colleague, rep.email, utcnow() + timedelta(days=2))
    with transaction(any_engine) as session:
        identity.deactivate(session, session.get(User, rep.id), "scim:sony", "scim")
    with Session(any_engine) as session:
        assert token_user(session, token) is None
        assert delegation.active_delegators(session, session.get(User, rep.id)) == []
        assert audit.verify(session).ok  # the access chain holds
    with pytest.raises(IdentityRefused, match="deactivated"):
        sign_in(any_engine, "sony", SONY_ISSUER, sub="s-1", email="rep@sony.example")
    kinds = access_kinds(any_engine)
    assert kinds[-3:] == ["token_revoked", "delegation_ended", "account_deactivated"]
