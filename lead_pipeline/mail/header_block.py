"""The raw header block of a message or MIME part, read with the stdlib feedparser's rules on bytes.

Plain Python, no Dagster, nothing heavy to import: the landing sweep uses it as well as the
parser's fast path. :func:`header_items` reads only blocks the stdlib would read without a
defect and returns None for the rest, so that each caller can hand those to the stdlib.
"""

from __future__ import annotations

import re

__all__ = ["BLANK_LINE_RE", "header_items", "split_header_block"]

# The blank line that ends a header block, CRLF or LF; a literal first byte: searched at memchr speed.
BLANK_LINE_RE = re.compile(rb"\n\r?\n")
# One field of a header block, found after the line break before it: the name, then the value
# after the colon and its leading blanks, folds included, up to a line break that does not fold.
_FIELD_RE = re.compile(r"\n([\x21-\x39\x3b-\x7e]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")
# A line that neither starts a field nor folds one ("From ...", no colon, a "--" line), found
# after the line break before it; the end of the block is no line.
_BAD_LINE_RE = re.compile(r"\n(?:--|(?![ \t]|[\x21-\x39\x3b-\x7e]+:|\Z))")


def split_header_block(data: bytes, start: int = 0) -> tuple[bytes, int]:
    """(the header block starting at ``start``, with its last line break; where the body starts).

    A block that opens with a blank line is empty; one with no blank line runs to the end.
    """
    if data.startswith(b"\n", start) or data.startswith(b"\r\n", start):
        return b"", start + (1 if data[start] == 0x0A else 2)
    blank = BLANK_LINE_RE.search(data, start)
    if blank is None:
        return data[start:], len(data)
    return data[start : blank.start() + 1], blank.end()


def header_items(block: bytes) -> list[tuple[str, str]] | None:
    """The (name, value) items of a header block as the stdlib's ``raw_items()`` gives them, or
    None where the stdlib would see a defect or split the block differently.

    Every line must start a field (a name and a colon) or continue one (a space or tab); a bare
    CR, a line without a colon, a leading continuation, an mbox "From " line or a "--" line
    returns None. Values are as ``policy.header_source_parse`` keeps them: after the colon and
    its leading blanks, folds included, minus the line end; 8-bit bytes as surrogate escapes.
    """
    text = block.decode("ascii", "surrogateescape")
    if not text:
        return []
    if text[0] in " \t" or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    padded = "\n" + text
    if _BAD_LINE_RE.search(padded) is not None:
        return None
    items = _FIELD_RE.findall(padded)
    if "\r" in text:
        items = [(name, value.rstrip("\r\n")) for name, value in items]
    return items
