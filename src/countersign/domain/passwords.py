"""New passwords, checked against what guessers try first.

zxcvbn (the `zxcvbn` package, a port of Dropbox's estimator) ships
frequency lists of passwords seen in breaches, names, and common words, and
estimates how many guesses a password takes. A new password must score at
least `MIN_SCORE` (its authors' own threshold for "safely unguessable"), and
may not be built from the account's own e-mail address or name.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 1000  # the login form's limit; zxcvbn's time grows with length, so only a prefix is scored
MIN_SCORE = 3  # of 0-4: "safely unguessable: moderate protection from offline slow-hash scenario"
SCORED_PREFIX = 100


def _own_words(email: str, name: str | None) -> list[str]:
    """The parts of the e-mail and name a person might build a password from."""
    local, _, domain = email.lower().partition("@")
    words = [local, *re.split(r"[^a-z0-9]+", local), *domain.split(".")[:-1]]
    if name:
        words += [name.lower(), *re.split(r"\W+", name.lower())]
    return sorted({w for w in words if len(w) >= 3})


def problem(password: str, email: str, name: str | None = None) -> str | None:
    """Why `password` may not be used by this account, or None."""
    if len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password can be at most {MAX_LENGTH} characters"
    own = _own_words(email, name)
    lowered = password.lower()
    if any(len(word) >= 4 and word in lowered for word in own):
        return "the password may not contain your e-mail address or name"
    result = zxcvbn(password[:SCORED_PREFIX], user_inputs=own)
    if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        return "the password may not contain your e-mail address or name"
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        why = feedback.get("warning") or "it is too easy to guess"
        hint = " ".join(feedback.get("suggestions") or ["Use a few uncommon words together."])
        return f"choose a stronger password: {why.rstrip('.')}. {hint}"
    return None
