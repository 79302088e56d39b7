"""Which files a proposal's version holds, and what changed between versions: pure rules.

A file attached to a version (on submit, on resubmit, or later to the current
version) stays in every later version: a resubmission carries the previous
version's files forward, except those its lead removes (unticked on the resubmit
form, `remove_files` in the API body). A removal is a fact of its own, from a
version on; nothing already recorded changes.
"""

# No `from __future__ import annotations`: FileFacts crosses the workflow boundary, and the SDK's
# converter resolves its field types on every decode (docs/performance.md).

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from countersign.domain.errors import Refused

F = TypeVar("F")


@dataclass(frozen=True)
class FileFacts:
    """What the record keeps of a file attached with a new version: travels with it through the
    workflow (its bytes are in the file store already)."""

    name: str
    size: int
    content_type: str
    sha256: str


@dataclass(frozen=True)
class Placed(Generic[F]):
    """A version's file: the version it was added with, and the first one without it (if any)."""

    file: F
    id: int
    added_in: int
    removed_in: int | None = None

    def in_version(self, number: int) -> bool:
        return self.added_in <= number and (self.removed_in is None or number < self.removed_in)


@dataclass
class VersionFiles(Generic[F]):
    """One version's files, and what its files differ by from the version before it."""

    number: int
    files: list[F] = field(default_factory=list)
    added: list[F] = field(default_factory=list)
    removed: list[F] = field(default_factory=list)


def by_version(placed: Iterable[Placed[F]], last: int) -> dict[int, VersionFiles[F]]:
    """Versions 1 to `last`, each with its files and the files added and removed since the one before."""
    placed = list(placed)
    found = {}
    for number in range(1, last + 1):
        now = [p for p in placed if p.in_version(number)]
        before = {p.id for p in placed if p.in_version(number - 1)}
        found[number] = VersionFiles(
            number, [p.file for p in now], [p.file for p in now if p.id not in before],
            [p.file for p in placed if p.id in before and not p.in_version(number)])
    return found


def check_removals(asked: Iterable[int], current: Iterable[int], version: int) -> list[int]:
    """The files to leave out of the next version: each one of the current version's (`current`),
    or Refused naming those that are not."""
    asked, current = list(dict.fromkeys(asked)), set(current)
    unknown = [i for i in asked if i not in current]
    if unknown:
        raise Refused(f"remove_files: {', '.join(map(str, unknown))} "
                      f"{'is not a file' if len(unknown) == 1 else 'are not files'} of version {version}")
    return asked
