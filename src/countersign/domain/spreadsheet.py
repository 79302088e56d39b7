"""CSV cells that a spreadsheet cannot run as formulas (CSV injection).

OWASP's rule: a cell that begins with `=`, `+`, `-`, `@`, a tab or a
carriage return is read by Excel, LibreOffice and Google Sheets as a formula
(or the start of one), so it is written with a single quote in front, which
those programs show as text. So that the mapping can be undone exactly (the
audit export's hashes cover the original values), a cell that begins with a
quote is quoted too. Reading a cell back, `restore` removes one leading quote
from a cell whose next character is one of those six or a quote; no other
cell changes. Every CSV the service produces is written through `writer`;
`countersign.storage.audit_export.verify_csv` reads cells back through `restore`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith((*TRIGGERS, QUOTE)):
        return QUOTE + value
    return value


def restore(cell: str) -> str:
    if cell.startswith(QUOTE) and cell[1:].startswith((*TRIGGERS, QUOTE)):
        return cell[1:]
    return cell


class SafeWriter:
    """`csv.writer` whose rows' text cells are neutralised."""

    def __init__(self, stream, **kwargs) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])


def writer(stream, **kwargs) -> SafeWriter:
    return SafeWriter(stream, **kwargs)
