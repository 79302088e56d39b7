"""E-mailed decision links: signed, expiring, naming the proposal and the party.

A link opens a confirmation page and nothing else (a mail scanner that
follows it changes nothing); the decision itself is the form's POST by a
signed-in rep of the party the link names. The signature (itsdangerous,
keyed with the app's secret) stops anyone from pointing a link at another
proposal or party; its timestamp makes it expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from countersign.domain.errors import DomainError

LINK_LIFETIME = timedelta(days=14)
_SALT = "countersign.decision-link.v1"


class LinkInvalid(DomainError):
    """The link was altered or is not one of ours."""


class LinkExpired(DomainError):
    """The link is genuine but older than LINK_LIFETIME."""


@dataclass(frozen=True)
class DecisionLink:
    proposal_id: int
    party: str


class LinkSigner:
    def __init__(self, secret: str, base_url: str = "", lifetime: timedelta = LINK_LIFETIME) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._base_url = base_url.rstrip("/")
        self.lifetime = lifetime

    def token(self, proposal_id: int, party: str) -> str:
        return self._serializer.dumps({"p": proposal_id, "party": party})

    def url(self, proposal_id: int, party: str) -> str:
        return f"{self._base_url}/links/{self.token(proposal_id, party)}"

    def read(self, token: str) -> DecisionLink:
        try:
            data = self._serializer.loads(token, max_age=int(self.lifetime.total_seconds()))
        except SignatureExpired:
            raise LinkExpired("this link has expired") from None
        except BadSignature:
            raise LinkInvalid("this link is not valid: it may have been altered or cut short") from None
        if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not isinstance(data.get("party"), str):
            raise LinkInvalid("this link is not valid")
        return DecisionLink(data["p"], data["party"])
