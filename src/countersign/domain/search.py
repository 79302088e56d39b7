"""Finding proposals by their words: a proposal's title and summary cut into
words for the word index (storage.proposal_words), and a search cut the same
way. A search finds the proposals in which every word of it begins a word of
the title or summary ("remix stud" finds "AI remix studio"): a prefix of an
indexed word is a range of that index, so the search never reads every
proposal's text.
"""

from __future__ import annotations

import re
import unicodedata

from countersign.domain.errors import Refused

WORD = re.compile(r"\w+")
# A word is indexed by its first 40 characters: a longer one (a 200-character title without a space)
# is still found by any prefix of it, and by the whole of it, cut the same way.
WORD_LENGTH = 40
# Above every character a word holds: `term <= word < term + END` is every word that begins with `term`.
END = "\U0010ffff"


def words(*texts: str) -> set[str]:
    """The distinct words of `texts`, folded (case, compatibility forms) as a search is."""
    return {word[:WORD_LENGTH] for text in texts
            for word in WORD.findall(unicodedata.normalize("NFKC", text).casefold())}


def terms(query: str) -> tuple[str, ...]:
    """The words of a search, each to begin a word of the proposals found (as many as 200 characters,
    the most the pages and the API take, hold); refused, saying why, when there is none."""
    found = tuple(sorted(words(query)))
    if not found:
        raise Refused(f"“{query.strip()}” has no letters or digits to search for")
    return found
