"""Keyword checks that rule out a case-insensitive regular expression before it scans a text.

A pattern compiled with ``re.IGNORECASE`` that can only match where one of a few literal words
(its keys) appears cannot match a text that contains none of them. Looking for the keys, one
case-sensitive substring test each over a folded copy of the text (folded once per text), takes a
fraction of the time the engine needs to try a case-insensitive pattern at every position, and most
texts contain none of them. When one appears, the pattern runs as before: keys only ever skip work,
they never decide a match.

Folding must equate everything ``re.IGNORECASE`` equates. ``str.lower`` does, for letters, except
for three characters the regex engine treats specially: "İ" (whose lowercase is two characters)
and the dotless "ı" and long "ſ", which it equates with "i" and "s". Checked against every code
point for a-z and the accented letters keys use (äöüßéèêëàâçñãóíáúûôîïœøåæ); keys are lowercase.
"""

from __future__ import annotations

from functools import lru_cache

_REGEX_EQUIVALENTS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


@lru_cache(maxsize=32)
def fold(text: str) -> str:
    """`text` with every character re.IGNORECASE equates with a key's letter turned into it."""
    return text.lower() if text.isascii() else text.translate(_REGEX_EQUIVALENTS).lower()


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
