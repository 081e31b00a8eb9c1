"""The MIME part model both parsers produce, and the standard-library parser that is the reference.

Plain Python, no Dagster. :mod:`lead_pipeline.mail.mime` reads messages only through this model,
so the fast path (:mod:`lead_pipeline.mail.fastpath`) and the stdlib parser can only disagree on
*structure* and *bytes*, never on how a part's headers are interpreted:

* :func:`part_meta` interprets a part's Content-Type / Content-Disposition values with the stdlib's
  own accessors (on a header-only stub message, memoised by value) for both parsers;
* :func:`transfer_encoding` and :func:`decode_payload` reproduce
  ``email.message.Message.get_payload(decode=True)`` on raw bytes for the fast path;
* :func:`limit_structure` trims hostile structures before the stdlib parser sees them;
* :func:`parse_stdlib` is the reference parser: the stdlib's, wrapped as :class:`StdPart`.
"""

from __future__ import annotations

import functools
import quopri
import re
from email._encoded_words import decode_b  # the stdlib's base64 body decoder (defects included)
from email.message import EmailMessage, _decode_uu  # the stdlib's uudecoder
from email.parser import BytesParser
from email.policy import EmailPolicy

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "Part",
    "StdPart",
    "decode_payload",
    "limit_structure",
    "parse_stdlib",
    "part_meta",
    "transfer_encoding",
]

MAX_DEPTH = 10  # MIME nesting walked (multipart and message/rfc822 levels)
MAX_PARTS = 2000  # MIME parts walked per message
# Safety limits applied to the raw bytes *before* the stdlib parser sees them: its
# recursive-descent parser overflows the recursion limit at a few hundred nesting levels, and
# it spends ~0.1 ms per part, so pathological inputs are trimmed first.
_PARSE_MAX_MULTIPART_DEPTH = 40
_PARSE_MAX_MESSAGE_PARTS = 200


# --------------------------------------------------------------------------------------------
# The part model
# --------------------------------------------------------------------------------------------


class Part:
    """One MIME node: what :mod:`mime` needs to know about it, nothing parser-specific.

    ``children`` is None for a leaf, a (possibly empty) list for a multipart or message/rfc822
    node. ``defects`` are stdlib defect class names; decoding the payload may add some.
    ``header_items`` are the raw header items of an attached message's root (else None).
    """

    __slots__ = ("ctype", "disposition", "filename", "charset", "start", "content_id", "children",
                 "defects", "header_items", "_raw", "_cte", "_payload")

    def __init__(self, meta: tuple, content_id: str | None, children: list | None,
                 raw: bytes = b"", cte: str = "", payload: bytes | None = None) -> None:
        self.ctype, self.disposition, self.filename, self.charset, self.start, _ = meta
        self.content_id = content_id
        self.children = children
        self.defects: list[str] = []
        self.header_items: list | None = None
        self._raw = raw
        self._cte = cte
        self._payload = payload

    def payload(self) -> bytes:
        """The transfer-decoded bytes (decoded once, on first use)."""
        if self._payload is None:
            self._payload, defects = decode_payload(self._raw, self._cte)
            self.defects.extend(defects)
        return self._payload


class StdPart:
    """A :class:`Part` backed by a stdlib ``email.message.Message`` (children wrapped lazily)."""

    __slots__ = ("ctype", "disposition", "filename", "charset", "start", "content_id", "_msg",
                 "_children", "_payload")

    def __init__(self, msg) -> None:
        self._msg = msg
        content_type = disposition = content_id = None
        for name, value in msg.raw_items():
            key = name.lower()  # like Message.get: the name exactly as written, case-folded
            if key == "content-type":
                content_type = value if content_type is None else content_type
            elif key == "content-disposition":
                disposition = value if disposition is None else disposition
            elif key == "content-id":
                content_id = value if content_id is None else content_id
        meta = part_meta(content_type, disposition, msg.get_default_type())
        self.ctype, self.disposition, self.filename, self.charset, self.start, _ = meta
        self.content_id = content_id
        self._children: list | None | bool = False
        self._payload: bytes | None = None

    @property
    def children(self) -> list | None:
        if self._children is False:
            self._children = [StdPart(m) for m in self._msg.get_payload()] if self._msg.is_multipart() else None
        return self._children  # type: ignore[return-value]

    @property
    def defects(self) -> list[str]:
        return [type(d).__name__ for d in self._msg.defects]

    @property
    def header_items(self) -> list[tuple[str, str]]:
        return list(self._msg.raw_items())

    def payload(self) -> bytes:
        if self._payload is None:
            payload = self._msg.get_payload(decode=True)
            if payload is None:
                payload = b""
            elif isinstance(payload, str):
                payload = payload.encode("utf-8", "surrogateescape")
            self._payload = bytes(payload)
        return self._payload


# --------------------------------------------------------------------------------------------
# Header interpretation, shared by both parsers
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _cached_header(factory, name: str, value: str):
    return factory(name, value)


class _MemoisingPolicy(EmailPolicy):
    """``email.policy.default`` with memoised header parsing.

    The stdlib parser re-parses each part's Content-Type header five or more times through the
    (slow) header registry; parsed header objects are immutable, so they can be shared. This
    makes many-part messages ~8x faster to parse without changing any result.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        if "\n" in value or "\r" in value:
            value = value.replace("\r", "").replace("\n", "")
        try:
            if len(value) > 2048:  # keep the cache's memory bounded
                return self.header_factory(name, value)
            return _cached_header(self.header_factory, name, value)
        except Exception:  # noqa: BLE001 - CPython's header parser has crash bugs on malformed input
            return _salvage_header(self.header_factory, name, value)


_UNPARSABLE = "x-lead-pipeline-unparsable"  # unknown name -> the registry's unstructured class


def _salvage_header(factory, name: str, value: str):
    """A header object for a value the structured parser chokes on.

    For Content-Type/-Disposition, the parameters that parse are kept (so a malformed
    ``title*0*`` does not cost us the ``boundary``); anything else becomes unstructured text.
    """
    if name.lower() in ("content-type", "content-disposition") and ";" in value:
        segments = value.split(";")
        kept = segments[0]
        for segment in segments[1:]:
            candidate = f"{kept};{segment}"
            try:
                factory(name, candidate)
            except Exception:  # noqa: BLE001
                continue
            kept = candidate
        try:
            return factory(name, kept)
        except Exception:  # noqa: BLE001
            pass
    try:
        return factory[_UNPARSABLE](name, value)
    except Exception:  # noqa: BLE001
        return factory[_UNPARSABLE](name, "")


_POLICY = _MemoisingPolicy()


def _param(stub: EmailMessage, header: str, param: str) -> str | None:
    try:
        value = stub.get_param(param, header=header)
    except Exception:  # noqa: BLE001 - malformed header objects
        return None
    if isinstance(value, tuple):  # RFC 2231 encoded parameter
        value = value[2]
    return value if isinstance(value, str) else None


# Parameter values the stdlib returns as written: a token of plain characters, or a quoted string
# without quotes, backslashes, semicolons, angle brackets, encoded words or outer spaces.
_PLACEHOLDER = "lpmask"
_MASKABLE_PARAM_RE = re.compile(
    r'(;[ \t]*(?:boundary|name|filename)[ \t]*=[ \t]*)'
    r'(?:"((?![ ])(?:(?!=\?)[ !#-:=?-\[\]-~]){1,200}(?<![ ]))"|([A-Za-z0-9._+-]{1,200}))'
    r'(?=[ \t]*(?:;|$))',
    re.IGNORECASE,
)
_QUOTED_RE = re.compile(r'"[^"]*"')


def part_meta(content_type: str | None, disposition: str | None, default_type: str = "text/plain") -> tuple:
    """(content type, disposition, raw filename, declared charset, related ``start``, boundary).

    Computed by the stdlib's accessors on a stub message carrying just these two raw header
    values, so both parsers interpret a part exactly as ``email.message`` does, and memoised.
    Boundaries and file names make most values unique, and a stdlib parse costs ~0.2 ms, so
    plain ``boundary``/``name``/``filename`` values are masked out of the memo key and put
    back into the result: for them the stdlib returns the value as written.
    """
    # header_fetch_parse unfolds before parsing, so unfolded values are the same input
    if content_type is not None and ("\n" in content_type or "\r" in content_type):
        content_type = content_type.replace("\r", "").replace("\n", "")
    if disposition is not None and ("\n" in disposition or "\r" in disposition):
        disposition = disposition.replace("\r", "").replace("\n", "")
    return _part_meta(content_type, disposition, default_type)


@functools.lru_cache(maxsize=4096)  # 'text/plain; charset="utf-8"' and the like, part after part
def _part_meta(content_type: str | None, disposition: str | None, default_type: str) -> tuple:
    values: list[str] = []
    masked_type = _mask_params(content_type, values)
    masked_disposition = _mask_params(disposition, values)
    meta = _stub_meta(masked_type, masked_disposition, default_type)
    if not values:
        return meta
    ctype, disp, filename, charset, start, boundary = meta
    return ctype, disp, _unmask(filename, values), charset, start, _unmask(boundary, values)


def _mask_params(value: str | None, values: list[str]) -> str | None:
    """``value`` with each maskable parameter value replaced by a placeholder naming its index
    in ``values`` (where the value goes)."""
    if value is None or ";" not in value or _PLACEHOLDER in value or "\\" in value:
        return value  # (no parameter without a ";")
    unquoted = _QUOTED_RE.sub("", value) if '"' in value else value
    if '"' in unquoted or "(" in unquoted:  # an open quote or a comment can swallow parameters
        return value
    matches = list(_MASKABLE_PARAM_RE.finditer(value))
    if not matches:
        return value
    if len(matches) > 1:
        names = [m.group(1).split("=", 1)[0].strip(" \t;").lower() for m in matches]
        if len(set(names)) != len(names):  # a repeated parameter: the stdlib picks one, keep it exact
            return value
    out = []
    pos = 0
    for m in matches:
        prefix, quoted, token = m.groups()
        values.append(quoted if quoted is not None else token)
        placeholder = f"{_PLACEHOLDER}{len(values) - 1}"
        out.append(value[pos : m.start()])
        out.append(prefix)
        out.append(f'"{placeholder}"' if quoted is not None else placeholder)
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


def _unmask(value: str | None, values: list[str]) -> str | None:
    if value is not None and value.startswith(_PLACEHOLDER):
        index = value[len(_PLACEHOLDER):]
        if index.isdigit() and int(index) < len(values):
            return values[int(index)]
    return value


@functools.lru_cache(maxsize=4096)
def _stub_meta(content_type: str | None, disposition: str | None, default_type: str) -> tuple:
    stub = EmailMessage(policy=_POLICY)
    if default_type != "text/plain":
        stub.set_default_type(default_type)
    if content_type is not None:
        stub.set_raw("Content-Type", content_type)
    if disposition is not None:
        stub.set_raw("Content-Disposition", disposition)
    try:
        ctype = stub.get_content_type()
    except Exception:  # noqa: BLE001 - malformed header objects
        ctype = "application/octet-stream"
    try:
        disp = stub.get_content_disposition()
    except Exception:  # noqa: BLE001
        disp = None
    try:
        filename = stub.get_filename()
    except Exception:  # noqa: BLE001
        filename = _param(stub, "content-type", "name")
    charset = _param(stub, "content-type", "charset")
    if charset is not None:
        charset = charset.strip().strip("\"'").strip().lower() or None
    try:
        boundary = stub.get_boundary()
    except Exception:  # noqa: BLE001 - the stdlib parser would fail on it too
        boundary = None
    return ctype, disp, filename, charset, _param(stub, "content-type", "start"), boundary


@functools.lru_cache(maxsize=256)
def transfer_encoding(value: str | None) -> str:
    """The Content-Transfer-Encoding as ``Message.get_payload`` compares it ('' when absent)."""
    if value is None:
        return ""
    return str(_POLICY.header_fetch_parse("Content-Transfer-Encoding", value)).lower()


_UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def decode_payload(raw: bytes, cte: str) -> tuple[bytes, list[str]]:
    """``Message.get_payload(decode=True)`` on a leaf's raw body: (bytes, defect names)."""
    if cte == "quoted-printable":
        return quopri.decodestring(raw), []
    if cte == "base64":
        value, defects = decode_b(b"".join(raw.splitlines()))
        return value, [type(d).__name__ for d in defects]
    if cte in _UU_ENCODINGS:
        try:
            return _decode_uu(raw), []
        except ValueError:
            return raw, []
    return raw, []


# --------------------------------------------------------------------------------------------
# The reference parser
# --------------------------------------------------------------------------------------------


def parse_stdlib(data: bytes) -> tuple[list[tuple[str, str]], StdPart]:
    """(top-level raw header items, root part) from the standard library's parser."""
    msg = BytesParser(policy=_POLICY).parsebytes(data)
    return list(msg.raw_items()), StdPart(msg)


# Matched against the lower-cased bytes (a literal prefix is found much faster than an
# IGNORECASE pattern); boundary values are then taken from the original bytes.
_BOUNDARY_DECL_RE = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_DELIMITER_LINE_RE = re.compile(rb"\n--([^\r\n]{1,300})")
_MESSAGE_DECL_RE = re.compile(rb"\ncontent-type:[ \t]*message/")


def limit_structure(data: bytes) -> tuple[bytes, list[str]]:
    """Trim pathological MIME structures so the recursive stdlib parser stays fast and safe.

    Simulates multipart nesting from the declared boundaries and their delimiter lines:
    regions nested deeper than ``_PARSE_MAX_MULTIPART_DEPTH`` are cut out, and the message is
    truncated after ``MAX_PARTS`` part delimiters or ``_PARSE_MAX_MESSAGE_PARTS`` embedded
    messages. Returns the bytes to parse (``data`` itself when nothing is trimmed) and the
    warning codes.
    """
    lowered = data.lower()
    if (
        lowered.count(b"\ncontent-type:") <= _PARSE_MAX_MESSAGE_PARTS  # bounds the message declarations
        and lowered.count(b"boundary") <= _PARSE_MAX_MULTIPART_DEPTH  # bounds the distinct boundaries
        # "\n--" occurrences cannot overlap: short data needs no count (a slow search, that one)
        and (len(data) < 3 * MAX_PARTS or data.count(b"\n--") + 1 <= MAX_PARTS)
    ):
        return data, []  # what the first check below would decide, without the two regex scans
    boundaries = {data[slice(*(m.span(1) if m.start(1) != -1 else m.span(2)))] for m in _BOUNDARY_DECL_RE.finditer(lowered)}
    message_decls = [m.start() + 1 for m in _MESSAGE_DECL_RE.finditer(lowered)]
    if len(message_decls) <= _PARSE_MAX_MESSAGE_PARTS and (
        not boundaries
        # no more delimiter-like lines than parts allowed: the check below would pass too
        or (len(boundaries) <= _PARSE_MAX_MULTIPART_DEPTH and data.count(b"\n--") + 1 <= MAX_PARTS)
    ):
        return data, []
    padded = b"\n" + data  # so a delimiter on the very first line is found too
    delims = []
    if boundaries:
        for m in _DELIMITER_LINE_RE.finditer(padded):
            rest = m.group(1).rstrip(b" \t")
            if rest in boundaries:
                delims.append((m.start(), rest, False))
            elif rest.endswith(b"--") and rest[:-2] in boundaries:
                delims.append((m.start(), rest[:-2], True))
    if (
        len(delims) <= MAX_PARTS
        and len(boundaries) <= _PARSE_MAX_MULTIPART_DEPTH
        and len(message_decls) <= _PARSE_MAX_MESSAGE_PARTS
    ):
        return data, []

    warnings: list[str] = []
    truncate_at = len(data)
    if len(message_decls) > _PARSE_MAX_MESSAGE_PARTS:
        truncate_at = message_decls[_PARSE_MAX_MESSAGE_PARTS]
    cuts: list[tuple[int, int]] = []
    stack: list[bytes] = []
    parts = 0
    excise_from: int | None = None
    for pos, bnd, closing in delims:  # pos: index in padded of "\n" == index in data of line
        if pos >= truncate_at:
            break
        if excise_from is not None:
            if bnd not in stack:
                continue  # still inside the too-deep region
            cuts.append((excise_from, pos))
            excise_from = None
        if bnd in stack:
            while stack and stack[-1] != bnd:
                stack.pop()
            if closing:
                stack.pop()
                continue
        elif closing:
            continue
        else:
            if len(stack) >= _PARSE_MAX_MULTIPART_DEPTH:
                excise_from = pos
                warnings += ["part_limit_exceeded", "depth_limit_exceeded"]
                continue
            stack.append(bnd)
        parts += 1
        if parts > MAX_PARTS:
            truncate_at = min(truncate_at, pos)
            break
    if excise_from is not None:
        cuts.append((excise_from, truncate_at))
    if truncate_at < len(data) or cuts:
        warnings.append("part_limit_exceeded")
    if not cuts and truncate_at >= len(data):
        return data, warnings
    pieces = []
    prev = 0
    for start, end in cuts:
        if start >= truncate_at:
            break
        pieces.append(data[prev:start])
        prev = max(prev, min(end, truncate_at))
    pieces.append(data[prev:truncate_at])
    return b"".join(pieces) + b"\n", warnings
