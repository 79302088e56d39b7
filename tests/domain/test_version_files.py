"""A version's files: carried forward, less those removed; what each version added and removed."""

from __future__ import annotations

import pytest

from countersign.domain.errors import Refused
from countersign.domain.version_files import Placed, by_version, check_removals


def test_files_carry_forward_until_removed_and_each_version_names_its_changes():
    placed = [Placed("licence", 1, 1), Placed("stems", 2, 1, removed_in=3), Placed("card", 3, 2),
              Placed("report", 4, 3)]
    versions = by_version(placed, 3)
    assert [versions[n].files for n in (1, 2, 3)] == [["licence", "stems"], ["licence", "stems", "card"],
                                                      ["licence", "card", "report"]]
    assert (versions[2].added, versions[2].removed) == (["card"], [])
    assert (versions[3].added, versions[3].removed) == (["report"], ["stems"])
    assert check_removals([2, 2], [1, 2], 2) == [2]
    with pytest.raises(Refused, match="remove_files: 5, 6 are not files of version 2"):
        check_removals([5, 1, 6], [1, 2], 2)
