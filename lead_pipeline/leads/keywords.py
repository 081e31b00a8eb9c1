"""Keyword checks that rule out a case-insensitive regular expression before it scans a text.

A pattern compiled with ``re.IGNORECASE`` that can only match where one of a few literal words
(its keys) appears cannot match a text that contains none of them. Looking for the keys, one
case-sensitive substring test each over a folded copy of the text (folded once per text), takes a
fraction of the time the engine needs to try a case-insensitive pattern at every position, and most
texts contain none of them. When one appears, the pattern runs as before: keys only ever skip work,
they never decide a match. `Caseless` makes that run cheaper on ASCII text, on the same folded copy.

Folding must equate everything ``re.IGNORECASE`` equates. ``str.lower`` does, for letters, except
for three characters the regex engine treats specially: "İ" (whose lowercase is two characters)
and the dotless "ı" and long "ſ", which it equates with "i" and "s". Checked against every code
point for a-z and the accented letters keys use (äöüßéèêëàâçñãóíáúûôîïœøåæ); keys are lowercase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache


@lru_cache(maxsize=32)
def fold(text: str) -> str:
    """`text` with every character re.IGNORECASE equates with a key's letter turned into it."""
    if text.isascii():
        return text.lower()
    # Three replacements, not str.translate, which looks up every character (~10x the time).
    return text.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


class Keys:
    """A pattern's keys, looked for in the folded text."""

    def __init__(self, *keys: str):
        if any(key != fold(key) for key in keys):
            raise ValueError("keys are written in lowercase")
        self.keys = keys

    def any_in(self, text: str) -> bool:
        """Whether one of the keys appears in `text`, ignoring case as re.IGNORECASE does."""
        # A substring test per key (a fast search in C) costs less than one alternation of them
        # all, which the regex engine tries key by key at each position.
        folded = fold(text)
        for key in self.keys:
            if key in folded:
                return True
        return False


# The characters other than the ASCII letters that re.IGNORECASE equates with an ASCII letter.
_EQUAL_TO_ASCII_LETTERS = frozenset("\u0130\u0131\u017f\u212a")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")


class Caseless:
    """A pattern written in lowercase and matched ignoring case, in less time on ASCII text.

    On ASCII text, the pattern matched case-sensitively against the folded (lower-cased) text
    matches where the pattern with re.IGNORECASE matches in the text: among ASCII characters a
    letter equals only its other case, and the pattern holds none of the four other characters that
    equal an ASCII letter. The regex engine compares case-sensitive literals in about a third of the
    time. It tells whether and where the pattern matches; what it matches is folded text.
    """

    def __init__(self, pattern: str):
        written = _UNICODE_ESCAPE.sub(lambda escape: chr(int(escape.group(1), 16)), pattern)
        if pattern != pattern.lower() or not _EQUAL_TO_ASCII_LETTERS.isdisjoint(written):
            raise ValueError("patterns are written in lowercase, without İ, ı, ſ or the Kelvin sign")
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self._case_sensitive = re.compile(pattern)

    def found_in(self, text: str) -> bool:
        if text.isascii():
            return self._case_sensitive.search(fold(text)) is not None
        return self.pattern.search(text) is not None

    def count_in(self, text: str) -> int:
        if text.isascii():
            return len(self._case_sensitive.findall(fold(text)))
        return len(self.pattern.findall(text))

    def starts_in(self, text: str) -> list[int]:
        return [match.start() for match in self.matches_in(text)]

    def matches_in(self, text: str) -> Iterator[re.Match[str]]:
        """The matches, in the folded text when it is ASCII: for groups that case does not change."""
        return self._case_sensitive.finditer(fold(text)) if text.isascii() else self.pattern.finditer(text)
