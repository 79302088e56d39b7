"""Re-authentication at a decision (21 CFR Part 11 §11.200): a decision is a
signature, so the signer proves it is them as they sign, not only at sign-in.

On the decision form: the account's password again, or, for accounts that
sign in through their organisation's provider, a sign-in there in the last
five minutes (`GET /login/oidc/reauth`, api.oidc.recent_provider_sign_in).
Through the API: a token created with the `decide` scope, and the password
too where the policy says `reauthenticate = "password"`; the policy's
`reauthenticate = "web"` refuses API decisions.

A wrong password counts towards the sign-in throttle (countersign.storage.throttle)
and is recorded on the audit log's access chain, as a failed sign-in is.
Each function returns how the signer re-authenticated, kept with the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from api.oidc import recent_provider_sign_in
from countersign.domain.errors import Forbidden
from countersign.domain.policy import Policy
from countersign.storage import audit, throttle
from countersign.storage.accounts import DECIDE, authenticate
from countersign.storage.db import transaction
from countersign.storage.identity import identity_of
from countersign.storage.tables import ApiToken, User, utcnow


class ReauthenticationFailed(Forbidden):
    """The signer's re-authentication was wrong or missing."""


class ProviderSignInNeeded(ReauthenticationFailed):
    """A single sign-on account must sign in again at its provider before deciding."""


def signs_in_at_provider(session: Session, user: User) -> bool:
    """Whether the account signs in through its organisation's provider (its password is unknown to anyone)."""
    link = identity_of(session, user)
    return link is not None and link.issuer is not None


def on_form(session: Session, web_session: Mapping[str, Any], user: User, password: str, address: str,
            proposal_id: int) -> str:
    """For the decision form: raises ReauthenticationFailed, or Throttled, unless the signer re-authenticated."""
    if signs_in_at_provider(session, user):
        if not recent_provider_sign_in(user, web_session):
            raise ProviderSignInNeeded("sign in again at your organisation's provider to decide: "
                                       "a decision needs a sign-in from the last five minutes")
        return "provider"
    check_password(session, user, password, address, proposal_id, via="web")
    return "password"


def on_api(session: Session, policy: Policy, user: User, token: ApiToken, password: str | None, address: str,
           proposal_id: int) -> str:
    """For an API decision: raises ReauthenticationFailed (403), or Throttled, unless the token may decide."""
    if policy.reauthenticate == "web":
        raise ReauthenticationFailed(
            "this service's policy asks every decision to be made on the web form, with the signer "
            f"re-authenticating; decide at /proposals/{proposal_id}/decide"
        )
    if DECIDE not in (token.scopes or []):
        raise ReauthenticationFailed(
            "this API token may not decide: create a token with the decide scope "
            "(POST /api/v1/tokens with {\"scopes\": [\"decide\"]}, or on the API tokens page)"
        )
    if policy.reauthenticate == "password":
        if not password:
            raise ReauthenticationFailed("this service's policy asks for the signer's password with every "
                                         "decision: send it as \"password\"")
        check_password(session, user, password, address, proposal_id, via="api")
        return "token+password"
    return "token"


def check_password(session: Session, user: User, password: str, address: str, proposal_id: int,
                   via: str) -> None:
    now = utcnow()
    try:
        throttle.check(session, user.email, address, now)
    except throttle.Throttled:
        _record(session, user, address, proposal_id, via, "throttled", now)
        raise
    if password:
        with Session(session.get_bind()) as checking:  # a hash it upgrades waits for the next sign-in
            if authenticate(checking, user.email, password) is not None:
                return
    _record(session, user, address, proposal_id, via, "bad_password" if password else "missing_password", now)
    raise ReauthenticationFailed("that is not your password; enter the password you sign in with"
                                 if password else "enter your password to sign this decision")


def _record(session: Session, user: User, address: str, proposal_id: int, via: str, reason: str, now) -> None:
    """On the access chain; a wrong or missing password also counts towards the throttle (a throttled try does not)."""
    with transaction(session.get_bind()) as write:
        if reason != "throttled":
            throttle.record_failure(write, user.email, address, now)
        audit.append(write, None, "reauthentication_failed", now, actor=user.email, party=user.party,
                     detail={"address": address, "proposal_id": str(proposal_id), "via": via, "reason": reason})
    session.commit()  # what `session` reads next, it reads after the entry
