"""A search and a proposal's text are cut into words the same way (issue 25)."""

from __future__ import annotations

import pytest

from countersign.domain import search
from countersign.domain.errors import Refused


def test_a_search_is_cut_and_folded_as_the_text_it_looks_in():
    assert search.words("AI Remix-Studio: remix ÉTUDE Nº5", "") == {"ai", "remix", "studio", "étude", "no5"}
    assert search.terms("  Studio remix REMIX ") == ("remix", "studio")
    assert search.terms("x" * 60) == ("x" * search.WORD_LENGTH,)  # as a long word is indexed
    with pytest.raises(Refused, match="“% !” has no letters or digits to search for"):
        search.terms(" % ! ")
