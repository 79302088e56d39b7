"""Values that go into mail headers and display names, made safe where built.

A title or name typed with a line break would, put into a Subject header,
start a header of the sender's choosing (header injection), or make the mail
library raise while sending. Every header value is built through `one_line`:
each run of whitespace (CR, LF, Unicode line and paragraph separators, tabs)
becomes one space, other control characters are dropped, and the result is
cut to a length a mail client shows; the stdlib `email` package then encodes
and folds it (RFC 2047/5322).
"""

from __future__ import annotations

import re
import unicodedata

SUBJECT_LENGTH = 200
_WHITESPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[<>\"]")  # what could open a tag, or close a quoted display name


def one_line(text: str, limit: int = SUBJECT_LENGTH) -> str:
    flat = _WHITESPACE.sub(" ", text)
    flat = "".join(ch for ch in flat if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    flat = flat.strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def display_name_problem(name: str) -> str | None:
    """Why `name` cannot be a person's display name (it goes into mail and pages), or None."""
    if not name.strip():
        return "enter a name"
    if one_line(name, 10_000) != name.strip():
        return "a name must be one line of text without control characters"
    if _MARKUP.search(name):
        return 'a name may not contain <, > or "'
    if len(name) > 200:
        return "a name can be at most 200 characters"
    return None
