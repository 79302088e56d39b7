"""Organisations and their people: which organisation an account belongs to,
and which role an organisation's provider gives a person.

Six organisations share the service: the platform (the streaming service's
leads, compliance staff and admins) and each party (its reps). The
organisation an account belongs to follows from the account itself (a rep's
party, else the platform), so a sign-in through Sony's provider or a SCIM
call with Sony's token can only ever reach Sony's reps. Nothing a person or
their provider writes into a claim can change that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from countersign.domain.errors import DomainError
from countersign.domain.policy import PARTY_ROLES, PLATFORM_KEY, PLATFORM_ROLES, OidcConfig, Policy


class IdentityRefused(DomainError):
    """A sign-in or provisioning request the organisation's rules refuse (shown to the person)."""


class AlreadyExists(IdentityRefused):
    """Another account has this e-mail address already."""


class Account(Protocol):
    role: str
    party: str | None


def organisation_of(account: Account) -> str:
    """A rep's party, or the platform for everyone else."""
    return account.party if account.party else PLATFORM_KEY


def party_of(organisation: str) -> str | None:
    """The `User.party` an organisation's accounts have."""
    return None if organisation == PLATFORM_KEY else organisation


def organisations(policy: Policy) -> list[str]:
    return [PLATFORM_KEY, *policy.parties]


def display_name(policy: Policy, organisation: str) -> str:
    return policy.platform.name if organisation == PLATFORM_KEY else policy.parties[organisation].name


def provider(policy: Policy, organisation: str) -> OidcConfig | None:
    """The organisation's OpenID provider, if it has one configured."""
    if organisation == PLATFORM_KEY:
        return policy.platform.oidc
    party = policy.parties.get(organisation)
    return party.oidc if party else None


def providers(policy: Policy) -> dict[str, OidcConfig]:
    """Every configured provider by organisation, in the policy's order (platform first)."""
    found = {key: provider(policy, key) for key in organisations(policy)}
    return {key: oidc for key, oidc in found.items() if oidc is not None}


def role_for_claims(oidc: OidcConfig, claims: Mapping[str, Any]) -> str | None:
    """The role the mapping gives for the claim's value(s), first mapping entry first; None if none matches.

    The claim may be one string ("roles": "reviewer") or a list ("groups": [...]), as providers write it.
    """
    value = claims.get(oidc.role_claim)
    values = (
        {value}
        if isinstance(value, str)
        else {v for v in value if isinstance(v, str)}
        if isinstance(value, list)
        else set()
    )
    for claim_value, role in oidc.roles.items():
        if claim_value in values:
            return role
    return None


def groups(policy: Policy, organisation: str) -> dict[str, str]:
    """The organisation's groups (SCIM Groups) and the role each gives: its provider's role mapping
    (claim value -> role), or without a provider, one group per role it may give."""
    oidc = provider(policy, organisation)
    if oidc is not None:
        return dict(oidc.roles)
    return {role: role for role in (PLATFORM_ROLES if organisation == PLATFORM_KEY else PARTY_ROLES)}


def group_of(policy: Policy, organisation: str, role: str) -> str | None:
    """The group an account of `role` is a member of: the first one giving that role."""
    return next((name for name, given in groups(policy, organisation).items() if given == role), None)
