"""What a file is, by its content, not its name, and whether it may be attached.

Binary formats are told by their magic numbers (`filetype`); what has none
must be UTF-8 text without control characters: plain text, or JSON if it
parses, or CSV when its name says so (the name only picks among text types).
Markup (HTML, SVG, XML) is refused: served back, it could run as a page.
"""

from __future__ import annotations

import hashlib
import json
import re

import filetype

from countersign.domain.errors import Refused
from countersign.domain.version_files import FileFacts

OFFICE = frozenset({
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
})
ALLOWED = "PDF, images, plain text, CSV, JSON, Office documents and audio"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"<\s*(!doctype|html|svg|script|\?xml|body|iframe)", re.IGNORECASE)


def detect(content: bytes, name: str) -> str:
    """The content type `content` is attached as, or Refused saying what is accepted."""
    kind = filetype.guess(content)
    if kind is not None:
        mime = kind.mime
        if mime == "application/pdf" or mime in OFFICE or mime.startswith(("image/", "audio/")):
            return mime
        raise Refused(f"files of type {mime} are not accepted; attach {ALLOWED}")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(f"this file's type is not recognised; attach {ALLOWED}") from None
    if _CONTROL.search(text):
        raise Refused(f"this file is neither text nor a recognised type; attach {ALLOWED}")
    if _MARKUP.search(text[:4096]):
        raise Refused("HTML, SVG and XML files are not accepted; attach a PDF or plain text instead")
    try:
        json.loads(text)
        if text.strip()[:1] in ("{", "["):
            return "application/json"
    except ValueError:
        pass
    return "text/csv" if name.lower().endswith(".csv") else "text/plain"


def safe_name(name: str) -> str:
    """A file name fit for a header and a disk listing: its last path part, printable ASCII, no quotes."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:120]
    return cleaned or "file"


def facts(name: str, content: bytes) -> FileFacts:
    """A file checked for attaching (Refused if empty or of a refused type), as the record keeps it."""
    if not content:
        raise Refused("the file is empty")
    name = safe_name(name)
    return FileFacts(name, len(content), detect(content, name), hashlib.sha256(content).hexdigest())
