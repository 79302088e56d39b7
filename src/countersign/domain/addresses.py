"""E-mail addresses as people type them, checked with `email-validator`.

Every address that can become an account, a recipient or a stored actor
passes here: `users add`, sign-in, delegation forms and API fields. Syntax
only (no DNS lookup): an address is checked when typed, often offline.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from countersign.domain.errors import DomainError

MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets


class InvalidAddress(DomainError):
    """Not an e-mail address; the message says why, in email-validator's words."""


def normalize(address: str) -> str:
    """The address in the one form it is stored and compared in (lower case), or InvalidAddress."""
    text = address.strip()
    if not text:
        raise InvalidAddress("enter an e-mail address")
    if len(text) > MAX_LENGTH:
        raise InvalidAddress(f"an e-mail address is at most {MAX_LENGTH} characters")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        shown = text if len(text) <= 60 else text[:60] + "…"
        raise InvalidAddress(f"{shown!r} is not a valid e-mail address: {error}") from None
    return checked.normalized.lower()


def is_valid(address: str) -> bool:
    try:
        normalize(address)
    except InvalidAddress:
        return False
    return True


def checked(address: str) -> str:
    """For pydantic's AfterValidator: a ValueError carries the message to the 422."""
    try:
        return normalize(address)
    except InvalidAddress as error:
        raise ValueError(str(error)) from None
