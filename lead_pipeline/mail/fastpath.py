"""The fast path: the stdlib's parsing rules on raw bytes, with fast-mail-parser (Rust) for base64.

Plain Python, no Dagster. :func:`parse_fast` returns what :func:`parts.parse_stdlib` would (the
top-level raw header items and a :class:`parts.Part` tree) or None, and then the caller falls
back to the stdlib parser. It declines every message on which the two could disagree:

* every byte is accounted for with the stdlib's rules: each part's raw header block (anything
  the stdlib would flag as a defect declines), each leaf ending at the first delimiter line of
  any enclosing boundary (as the stdlib's eof matchers end it), every multipart opening and
  closing with its own boundary, no other boundary's delimiter hiding in a preamble, epilogue
  or text body;
* a message with a base64 body is mapped onto fast-mail-parser's tree instead, which must
  agree: each leaf ends exactly at such a delimiter line (``body start + encoded_size``), with
  as many parts as delimiters; base64 bodies are taken from the Rust decoder only when their
  text is canonical (alphabet and line breaks, padding only at the end), which is exactly
  where the stdlib decodes the same bytes without a defect;
* every other body is decoded here from its raw bytes, with the stdlib's decoders
  (:func:`parts.decode_payload`);
* a message the stdlib parser would see trimmed by :func:`parts.limit_structure` declines, and
  so does one beyond ``MAX_PARTS`` parts or ``MAX_DEPTH`` levels, or one whose tree
  fast-mail-parser rejects, or with message/* parts other than message/rfc822,
  multipart/digest, duplicate MIME headers or bare CR line breaks.

Part headers are interpreted by :func:`parts.part_meta` in both paths, so the result is the
same as the stdlib path's by construction where the structure agrees; a test runs both paths
over the sample inbox, the fixtures, CPython's email test data and mutations of them to hold
it to that.
"""

from __future__ import annotations

import functools
import itertools

import fast_mail_parser

from lead_pipeline.mail.header_block import header_items, split_header_block
from lead_pipeline.mail.parts import MAX_DEPTH, MAX_PARTS, Part, limit_structure, part_meta, transfer_encoding

__all__ = ["header_value", "parse_fast"]

_UNENCODED = frozenset({"", "7bit", "8bit", "binary"})
_NO_NODE = object()  # past a tree node's last child
_B64_KEEP_TAIL = 100  # bytes of each base64 body kept for the limit check (see _Layout.check_limits)


_MIME_HEADERS = frozenset({"content-type", "content-disposition", "content-transfer-encoding", "content-id"})
# Header names as written -> their lower-case form when a MIME header, else None: a message's
# few dozen names are the same few hundred from message to message.
_MIME_KEYS: dict[str, str | None] = {}
_UNSEEN = object()  # a name not in _MIME_KEYS yet


def _mime_key(name: str) -> str | None:
    if len(_MIME_KEYS) >= 4096:
        _MIME_KEYS.clear()
    key = name.lower()
    key = _MIME_KEYS[name] = key if key in _MIME_HEADERS else None
    return key


def _mentions_base64(data: bytes) -> bool:
    """``b"base64" in data or b"Base64" in data or b"BASE64" in data``, in one scan for the
    rarer "64" (a needle of common letters makes the byte search step one byte at a time)."""
    at = data.find(b"64", 4)
    while at != -1:
        if data[at - 4 : at] in (b"base", b"Base", b"BASE"):
            return True
        at = data.find(b"64", at + 1)
    return False


def header_value(raw: bytes) -> str:
    """A header value as the stdlib keeps it (policy.header_source_parse): left-stripped, 8-bit
    bytes as surrogate escapes, folding line breaks included."""
    return raw.decode("ascii", "surrogateescape").lstrip(" \t")


_MEMO_BLOCK_BYTES = 512  # part header blocks up to this size are memoised


@functools.lru_cache(maxsize=1024)  # "Content-Type: text/plain; charset=utf-8" and the like, message after message
def _part_header_items(block: bytes) -> list[tuple[str, str]] | None:
    """:func:`header_items` of a part's header block (the list is shared: read it, do not change it)."""
    return header_items(block)


class _Decline(Exception):
    """The message needs the stdlib parser."""


def parse_fast(data: bytes) -> tuple[list[tuple[str, bytes]], Part] | None:
    """(top-level raw header items, root part), or None when the stdlib parser must decide.

    Header items are (name, value) as the stdlib's ``raw_items()`` gives them: values as
    :func:`header_value` makes them (8-bit bytes surrogate-escaped, folds kept).
    """
    layout = _Layout(data)
    try:
        block = layout.header_block(0)
        try:
            if _mentions_base64(data):
                raise _NeedsTree  # a base64 body is decoded by Rust, from the tree
            items, root, end = layout.node(None, 0, 0, (), "text/plain", block)
        except _NeedsTree:
            try:
                tree = fast_mail_parser.parse_email_tree(data, mode="lazy")
            except Exception:  # noqa: BLE001 - any refusal (ParseError, limits) just means the slow path
                return None
            layout.parts = 0
            items, root, end = layout.node(tree, 0, 0, (), "text/plain", block)
        if end != len(data):
            raise _Decline
        layout.check_limits()
    except _Decline:
        return None
    return items, root


class _NeedsTree(Exception):
    """A base64 body: the structure was read without the Rust tree, but its decoder is needed."""


class _Layout:
    """Reads ``data``'s MIME structure with the stdlib's parsing rules (checking the Rust tree
    against them, when there is one)."""

    __slots__ = ("data", "parts", "base64_spans")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.parts = 0
        self.base64_spans: list[tuple[int, int]] = []

    # -- nodes ----------------------------------------------------------------------------
    def node(self, node, start: int, depth: int, enclosing: tuple[bytes, ...], default_type: str,
             block: tuple[list[tuple[str, str]], int] | None = None):
        """(header items, Part, end) for the node whose header block starts at ``start``
        (``block``: that header block, already read).

        ``end`` is where the node's content ends: before the line break that precedes the
        enclosing multipart's next delimiter line, or the end of the data.

        Without a tree (``node`` None), the structure is read on the stdlib's rules alone - a
        leaf ends at the first delimiter line of any enclosing boundary, as the stdlib's eof
        matchers end it - and every body is decoded from its raw bytes with the stdlib's
        decoders. A base64 body raises :class:`_NeedsTree` (Rust decodes it much faster).
        """
        self.parts += 1
        if depth > MAX_DEPTH or self.parts > MAX_PARTS:
            raise _Decline
        items, body_start = block or self.header_block(start)
        content_type = disposition = content_id = cte_raw = None
        mime_keys = _MIME_KEYS
        for name, value in items:
            key = mime_keys.get(name, _UNSEEN)
            if key is _UNSEEN:
                key = _mime_key(name)
            if key is None:
                continue
            if key == "content-type":
                if content_type is not None:
                    raise _Decline  # duplicates: the stdlib reads the first, Rust may not
                content_type = value
            elif key == "content-disposition":
                if disposition is not None:
                    raise _Decline
                disposition = value
            elif key == "content-transfer-encoding":
                if cte_raw is not None:
                    raise _Decline
                cte_raw = value
            elif key == "content-id" and content_id is None:
                content_id = value
        meta = part_meta(content_type, disposition, default_type)
        ctype = meta[0]
        cte = transfer_encoding(cte_raw)
        maintype = ctype.partition("/")[0]
        if maintype == "multipart":
            part, end = self.multipart(node, meta, content_id, body_start, depth, enclosing, cte_raw, cte)
            return items, part, end
        if maintype == "message":
            # the stdlib parses any message/* body as a message, undecoded; Rust only rfc822, decoded
            if ctype != "message/rfc822" or cte not in _UNENCODED:
                raise _Decline
            if node is not None and (not node.is_message or len(node.children) != 1):
                raise _Decline
            inner_node = None if node is None else node.children[0]
            inner_items, inner, end = self.node(inner_node, body_start, depth + 1, enclosing, "text/plain")
            inner.header_items = inner_items
            return items, Part(meta, content_id, [inner]), end
        if node is None:
            if cte == "base64":
                raise _NeedsTree
            end, checked = self.leaf_end(body_start, enclosing)
        else:
            if node.children or node.is_message or node.encoded_size is None:
                raise _Decline
            end = body_start + node.encoded_size
            if end > len(self.data):
                raise _Decline
            if cte == "base64":
                self.check_base64(body_start, end)
                try:
                    payload = node.content
                except Exception:  # noqa: BLE001 - DecodeError: the stdlib decodes leniently
                    raise _Decline from None
                self.base64_spans.append((body_start, end))
                return items, Part(meta, content_id, None, payload=payload), end
            checked = False
        raw = self.data[body_start:end]
        if not checked:
            self.check_text(raw, enclosing)
        return items, Part(meta, content_id, None, raw=raw, cte=cte), end

    def leaf_end(self, body_start: int, enclosing: tuple[bytes, ...]) -> tuple[int, bool]:
        """Where a leaf starting at ``body_start`` ends without a tree: before the line break in
        front of the next delimiter line of any enclosing boundary, or at the end of the data.

        Also whether :meth:`check_text` would pass the leaf's body for sure: when that delimiter
        line is the first "--" line after ``body_start``, the body holds no "\\n--" and no bare
        CR (checked on the way) and does not start with "--" (else the line would be its first).
        """
        if not enclosing:
            return len(self.data), False
        found = self.next_delimiter(body_start, enclosing)
        if found is None or found[0] == body_start:
            raise _Decline  # no delimiter follows (the stdlib's defect), or no line break before it
        line_start = found[0]
        return line_start - (2 if self.data.startswith(b"\r\n", line_start - 2) else 1), found[4]

    def multipart(self, node, meta, content_id, body_start, depth, enclosing, cte_raw, cte):
        boundary = meta[5]
        if (
            boundary is None
            or (node is not None and not node.children)
            or (cte_raw is not None and cte not in ("7bit", "8bit", "binary"))
            or meta[0] == "multipart/digest"  # its parts default to message/rfc822
            or not boundary.isascii()
        ):
            raise _Decline
        own = boundary.encode("ascii")
        if not own or own in enclosing:
            raise _Decline
        boundaries = enclosing + (own,)
        found = self.next_delimiter(body_start, boundaries)
        if found is None or found[1] != own or found[2]:
            raise _Decline  # no start boundary, or the parent's comes first
        pos = found[3]
        children = []
        nodes = itertools.repeat(None) if node is None else iter(node.children)
        closing = False
        while not closing:
            child = next(nodes, _NO_NODE)
            if child is _NO_NODE:
                raise _Decline  # more parts between the delimiters than in the tree
            _, part, end = self.node(child, pos, depth + 1, boundaries, "text/plain")
            children.append(part)
            closing, pos = self.delimiter_after(end, own)
        if node is not None and next(nodes, _NO_NODE) is not _NO_NODE:
            raise _Decline  # fewer
        # the epilogue runs to the enclosing multipart's next delimiter line, or to the end
        if not enclosing:
            self.check_line_breaks(pos, len(self.data))
            return Part(meta, content_id, children), len(self.data)
        found = self.next_delimiter(pos, enclosing)
        if found is None:
            raise _Decline
        line_start = found[0]
        return Part(meta, content_id, children), line_start - (2 if self.data.startswith(b"\r\n", line_start - 2) else 1)

    # -- raw-byte rules -------------------------------------------------------------------
    def header_block(self, start: int) -> tuple[list[tuple[str, bytes]], int]:
        """(raw header items, body start) with the stdlib feedparser's rules; declines on defects
        (see :func:`header_block.header_items`)."""
        block, body_start = split_header_block(self.data, start)
        if not block and body_start == start:
            raise _Decline  # no header block at all: the data ends here
        items = header_items(block) if start == 0 or len(block) > _MEMO_BLOCK_BYTES else _part_header_items(block)
        if items is None:
            raise _Decline
        return items, body_start

    def next_delimiter(self, pos: int, boundaries: tuple[bytes, ...]):
        """The first delimiter line at or after ``pos`` (a line start) of any of ``boundaries``.

        Returns (line start, boundary, is close, start of the next line, whether it is the first
        line starting with "--" at or after ``pos``) or None. Declines on a bare CR in the text
        passed over.
        """
        data = self.data
        at = first = pos if data.startswith(b"--", pos) else data.find(b"\n--", pos) + 1
        while at > 0:
            for boundary in boundaries:
                kind = self.delimiter_line(at, boundary)
                if kind is not None:
                    self.check_line_breaks(pos, at)
                    return at, boundary, kind[0], kind[1], at == first
            at = data.find(b"\n--", at) + 1
        self.check_line_breaks(pos, len(data))
        return None

    def delimiter_line(self, at: int, boundary: bytes) -> tuple[bool, int] | None:
        """(is close, start of the next line) when the line at ``at`` is a delimiter of ``boundary``.

        The stdlib's rule: ``--boundary``, optionally ``--``, then only spaces/tabs to the EOL.
        """
        data = self.data
        if not data.startswith(b"--" + boundary, at):
            return None
        q = at + 2 + len(boundary)
        closing = data.startswith(b"--", q)
        if closing:
            q += 2
        nl = data.find(b"\n", q)
        line_end = len(data) if nl == -1 else nl + 1
        rest = data[q:line_end].rstrip(b"\n")
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        if rest.strip(b" \t"):
            return None
        return closing, line_end

    def delimiter_after(self, end: int, boundary: bytes) -> tuple[bool, int]:
        """The delimiter line that must follow a part ending at ``end`` (after one line break)."""
        data = self.data
        if data.startswith(b"\r\n", end):
            at = end + 2
        elif data.startswith(b"\n", end):
            at = end + 1
        else:
            raise _Decline
        kind = self.delimiter_line(at, boundary)
        if kind is None:
            raise _Decline
        return kind

    def check_base64(self, start: int, end: int) -> None:
        """Canonical base64 only: both decoders agree on it and the stdlib records no defect."""
        data = self.data
        if data.find(b" ", start, end) != -1 or data.find(b"\t", start, end) != -1 or data.find(b"\x0c", start, end) != -1:
            raise _Decline  # the stdlib flags embedded whitespace as a defect, Rust skips it
        pad = data.find(b"=", start, end)
        if pad != -1 and data[pad:end].translate(None, b"=\r\n"):
            raise _Decline  # padding before the end: Rust decodes on, the stdlib stops

    def check_line_breaks(self, start: int, end: int) -> None:
        """:meth:`check_text` of ``data[start:end]`` without enclosing boundaries, in place."""
        data = self.data
        if data.find(b"\r", start, end) != -1 and data.count(b"\r", start, end) != data.count(b"\r\n", start, end):
            raise _Decline

    @staticmethod
    def check_text(raw: bytes, enclosing: tuple[bytes, ...]) -> None:
        """No line break or delimiter in a body that the stdlib would see and Rust might not."""
        if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
            raise _Decline
        for boundary in enclosing:
            if b"\n--" + boundary in raw or raw.startswith(b"--" + boundary):
                raise _Decline

    def check_limits(self) -> None:
        """Decline what the stdlib path would trim: :func:`limit_structure` on the same bytes.

        Canonical base64 text holds no delimiter line and no declaration (no "-", no ":", "="
        only at its end), so all of it but its tail is left out of the check.
        """
        data = self.data
        if self.base64_spans:
            pieces, prev = [], 0
            for start, end in self.base64_spans:
                if end - start > 2 * _B64_KEEP_TAIL:
                    pieces.append(data[prev:start])
                    prev = end - _B64_KEEP_TAIL
            pieces.append(data[prev:])
            data = b"".join(pieces)
        trimmed, codes = limit_structure(data)
        if codes or trimmed is not data:
            raise _Decline
