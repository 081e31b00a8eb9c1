"""Raw RFC 5322 / MIME bytes -> the §1 message dict (see /work/shared/mailparse-api.md).

Plain Python, no Dagster. Two steps, each a public function: ``parse_mime`` parses the bytes
into the §1 message, ``add_derived_fields`` adds what is derived from its bodies (reply text,
signature, language, content hash, sanitised HTML, signature fields); ``parse_message`` (and
``parse_many``, for many messages) does both. None raises anything but ``MessageRejected``.

Layout:

* ``_check_rfc5322`` works on raw bytes before parsing;
* two parsers produce the same part model (:mod:`lead_pipeline.mail.parts`): the fast path
  (:mod:`lead_pipeline.mail.fastpath`, fast-mail-parser checked against the raw bytes) and,
  for every message the fast path declines, the standard library's parser after
  ``limit_structure`` has trimmed hostile structures;
* everything below works on that model and on plain strings/bytes from the raw header list
  (headers, addresses, dates, charsets, the output dict), never on a parser's objects.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import collections
import functools
import hashlib
import itertools
import math
import mimetypes
import os
import re
from concurrent.futures import Executor, Future
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Generator, Iterable, Iterator

import filetype
from filetype.types.document import ZippedDocumentBase
from filetype.types.video import Mkv, Webm

from lead_pipeline.mail.clean import (
    CleanedBody,
    clean_body,
    content_hash,
    detect_language,
    sanitize_html,
    signature_fields,
)
from lead_pipeline.mail.fastpath import header_value, parse_fast
from lead_pipeline.mail.header_block import BLANK_LINE_RE
from lead_pipeline.mail.parts import MAX_DEPTH, MAX_PARTS, limit_structure, parse_stdlib

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "MessageRejected",
    "add_derived_fields",
    "parse_many",
    "parse_message",
    "parse_mime",
    "synthetic_message_id",
]

_SYNTHETIC_DOMAIN = "lead-pipeline.invalid"


class MessageRejected(Exception):
    """Input that cannot become a message; `reason` is a short machine-readable code plus detail."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self):  # picklable across process pools
        return (type(self), (self.reason,))


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def parse_message(raw: bytes, *, source: str | None = None) -> dict:
    """Parse one raw RFC 5322 message into the §1 dict plus derived fields: what
    :func:`parse_mime` gives, then what :func:`add_derived_fields` adds to it.

    Raises :class:`MessageRejected` (and nothing else) for input that cannot become a message.
    """
    return _run(_parse_and_derive(_checked_bytes(raw), source))


def parse_mime(raw: bytes, *, source: str | None = None) -> dict:
    """Parse one raw RFC 5322 message into the §1 message, without derived fields.

    The parser's whole job: the headers (unfolded, 8-bit bytes and RFC 2047 words decoded),
    sender, recipients and envelope, the receive date, subject, the text and HTML bodies
    decoded to str, every attachment with its size, sha256 and the type its bytes show, the
    thread ids and the DKIM/SPF/DMARC verdicts; plus ``warnings`` (defects met), ``source``
    and ``attachedMessages`` (forwarded message/rfc822 parts). Every string is valid UTF-8.

    Raises :class:`MessageRejected` (and nothing else) for input that cannot become a message.
    """
    return _run(_parse(_checked_bytes(raw), source))


def add_derived_fields(message: dict) -> dict:
    """A :func:`parse_mime` message with the derived fields, as :func:`parse_message` gives it:
    ``replyText`` (the new text: quoted history and signature removed), ``signature``,
    ``language``, ``contentHash`` (of the normalised reply text), ``htmlSanitized`` and
    ``signatureFields`` (title, company, phone, URLs of the signature); ``warnings`` gains
    the codes of derived fields that could not be computed (the message is never lost to them).
    """
    return _run(_derive(message))


def _run(stages: Generator[None, None, dict]) -> dict:
    while (message := _advance(stages)) is None:
        pass
    return message


def parse_many(
    raws: Iterable[bytes],
    *,
    sources: Iterable[str | None] | None = None,
    batch_size: int = 32,
    executor: Executor | None = None,
) -> Iterator[dict | MessageRejected]:
    """:func:`parse_message` over many messages, in input order: each one's dict, or the
    :class:`MessageRejected` it raised (returned, not raised, so one bad message costs nothing
    else).

    The same results, ~10% less CPU: messages go through in batches of ``batch_size``, stage by
    stage (parsing and hashing, headers, bodies and attachments, cleaning, language,
    sanitising, signature fields), so that each stage's code and data stay in the CPU caches
    for the whole batch instead of being evicted by every message's bytes and the other stages.

    With an ``executor`` (e.g. a ``ProcessPoolExecutor``, one process per core), batches are
    parsed on it, at most two per core at a time. Memory is bounded by the batches in flight.
    """
    pairs = zip(raws, itertools.repeat(None) if sources is None else sources)
    batches = iter(lambda: list(itertools.islice(pairs, batch_size)), [])
    if executor is None:
        for batch in batches:
            yield from _parse_batch(batch)
        return
    in_flight: collections.deque[Future] = collections.deque()
    limit = 2 * (os.cpu_count() or 1)
    for batch in batches:
        # memoryviews do not pickle; the bytes they show are what parse_message would parse
        batch = [(bytes(raw) if isinstance(raw, memoryview) else raw, source) for raw, source in batch]
        in_flight.append(executor.submit(_parse_batch, batch))
        if len(in_flight) >= limit:
            yield from in_flight.popleft().result()
    while in_flight:
        yield from in_flight.popleft().result()


def _parse_batch(batch: list[tuple[bytes, str | None]]) -> list[dict | MessageRejected]:
    """One batch of :func:`parse_many`, stage by stage across its messages."""
    outcomes: list[dict | MessageRejected | None] = [None] * len(batch)
    running = []
    for index, (raw, source) in enumerate(batch):
        try:
            running.append((index, _parse_and_derive(_checked_bytes(raw), source)))
        except MessageRejected as exc:
            outcomes[index] = exc
    while running:
        still_running = []
        for index, stages in running:
            try:
                message = _advance(stages)
            except MessageRejected as exc:
                outcomes[index] = exc
                continue
            if message is None:
                still_running.append((index, stages))
            else:
                outcomes[index] = message
        running = still_running
    return outcomes  # type: ignore[return-value]


def _checked_bytes(raw: bytes) -> bytes:
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MessageRejected(f"invalid_input: expected bytes, got {type(raw).__name__}")
    return bytes(raw)


def _parse_and_derive(raw: bytes, source: str | None) -> Generator[None, None, dict]:
    message = yield from _parse(raw, source)
    yield
    return (yield from _derive(message))


def _advance(stages: Generator[None, None, dict]) -> dict | None:
    """Run the next stage of a parse: None while stages remain, then the message dict.

    Raises :class:`MessageRejected` (and nothing else), like :func:`parse_message`.
    """
    try:
        next(stages)
    except StopIteration as done:
        return done.value
    except MessageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: nothing but MessageRejected escapes
        detail = str(exc).replace("\n", " ")[:200]
        raise MessageRejected(f"parse_error: {type(exc).__name__}: {detail}") from exc
    return None


def attachment_payloads(raw: bytes, wanted: set[str]) -> dict[str, bytes]:
    """The decoded bytes of the leaf parts whose sha256 is in `wanted` (the `sha256` of a parsed
    message's attachments), walked as `parse_message` walks them; uuencoded blocks are not searched."""
    found: dict[str, bytes] = {}
    if not wanted:
        return found
    data = _check_rfc5322(bytes(raw))
    parsed = parse_fast(data)
    if parsed is None:
        data, _codes = limit_structure(data)
        parsed = parse_stdlib(data)
    leaves, _messages = _walk(parsed[1], _Warnings())
    for part in leaves:
        try:
            payload = part.payload()
        except Exception:  # noqa: BLE001 - a part parse_message could not decode has no bytes to give
            continue
        digest = hashlib.sha256(payload).hexdigest()
        if digest in wanted:
            found[digest] = payload
            if len(found) == len(wanted):
                break
    return found


def sniff_content_type(payload: bytes) -> str | None:
    """The type the bytes show (magic numbers), or None."""
    return _sniff(hashlib.sha256(payload).hexdigest(), payload)


def content_type_mismatch(declared: str | None, filename: str | None, sniffed: str | None) -> bool:
    """The bytes are of a known type that neither the declared type nor the file name claim."""
    return _type_mismatch((declared or "application/octet-stream").lower(), filename, sniffed)


def synthetic_message_id(sender: str | None, received_at: str | None, body: str | None) -> str:
    """Deterministic stand-in for a missing Message-ID: hash of sender, receivedAt and body."""
    material = (sender or "") + (received_at or "") + (body or "")
    digest = hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"<synthetic-{digest}@{_SYNTHETIC_DOMAIN}>"


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


class _Warnings:
    """Ordered, de-duplicated list of warning codes."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, code: str) -> None:
        self._items.setdefault(code, None)

    def extend(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.add(code)

    def __contains__(self, code: str) -> bool:
        return code in self._items

    def as_list(self) -> list[str]:
        return list(self._items)


def _parse(raw: bytes, source: str | None) -> Generator[None, None, dict]:
    """:func:`parse_mime`, stage by stage: each ``yield`` ends one (see :func:`parse_many`)."""
    if not raw or raw.isspace():
        raise MessageRejected("empty: no bytes" if not raw else "empty: whitespace only")
    warnings = _Warnings()
    data = _check_rfc5322(raw)
    parsed = parse_fast(data)
    if parsed is None:
        data, codes = limit_structure(data)
        warnings.extend(codes)
        parsed = parse_stdlib(data)
    items, root = parsed
    message_hash = hashlib.sha256(raw).hexdigest()
    yield

    headers = _HeaderView(items, root, warnings)
    sender = _resolve_sender(headers, warnings)  # may reject: do it before the expensive work
    yield

    # --- bodies and attachments ------------------------------------------------------------
    text_part, html_part = _body_parts(root)
    text = _decode_text_part(text_part, warnings) if text_part is not None else None
    html = _decode_text_part(html_part, warnings) if html_part is not None else None
    attachments = []
    leaves, messages = _walk(root, warnings)
    for part in leaves:
        if part is text_part or part is html_part:
            continue
        att = _attachment(part, headers, warnings)
        if att is not None:
            attachments.append(att)
    if text and "begin " in text:
        text = _extract_uuencoded(text, attachments, warnings)
    # forwarded as attachments: who wrote them and what (a forwarded lead is its sender's)
    attached_messages = [_attached_message(message, warnings) for message in messages[:_MAX_ATTACHED_MESSAGES]]
    yield

    # --- envelope / addresses --------------------------------------------------------------
    to = headers.addresses("to")
    cc = headers.addresses("cc")
    reply_to = headers.addresses("reply-to")
    alias = None
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        found = headers.addresses(name, first_only=True)
        if found:
            alias = found[0]["email"]
            break
    if alias is None and to:
        alias = to[0]["email"]
    return_path = headers.addresses("return-path", first_only=True)
    mail_from = return_path[0]["email"] if return_path else None

    received_at = _received_at(headers, warnings)

    message_id = _safe(_collapse_ws(headers.first("message-id") or ""))
    if not message_id:
        body_for_id = text if text else (html or "")
        message_id = synthetic_message_id(sender["email"], received_at or "", body_for_id)
        warnings.add("synthetic_message_id")

    subject_raw = headers.first("subject")
    subject = _collapse_ws(headers.decode_text(subject_raw)) if subject_raw is not None else None

    # Every string below is valid UTF-8 (JSON and PostgreSQL safe) as it is made: header text
    # and addresses by their decoders (8-bit bytes decoded, encoded words through _safe), part
    # parameters by the stdlib's header parser (U+FFFD for 8-bit bytes), bodies by
    # _decode_text_part, and the raw header values passed on by _safe here.
    auto_submitted = headers.first("auto-submitted")
    if auto_submitted:
        auto_submitted = _safe(auto_submitted)
    return {
        "id": "mime_" + message_hash[:32],
        "messageId": message_id,
        "receivedAt": received_at,
        "alias": alias,
        "envelope": {"mailFrom": mail_from, "rcptTo": [alias] if alias else []},
        "from": sender,
        "to": to,
        "cc": cc,
        "replyTo": reply_to,
        "subject": subject,
        "text": text,
        "html": html,
        # RFC 3834: lets lead logic tell an out-of-office from a person writing.
        "headers": {**_auth_results(headers), "autoSubmitted": auto_submitted},
        "spamScore": _spam_score(headers),
        "attachments": attachments,
        "thread": _thread(headers),
        "rawUrl": None,
        "warnings": warnings.as_list(),
        "source": _safe(source) if isinstance(source, str) else source,
        "attachedMessages": attached_messages,
    }


def _derive(message: dict) -> Generator[None, None, dict]:
    """The derived fields of a :func:`parse_mime` message, stage by stage (see :func:`parse_many`);
    returns the message with them, laid out as :func:`parse_message` gives it.

    They are computed from the message's own (JSON-safe) values, so what they hold is safe too.
    """
    warnings = _Warnings()
    warnings.extend(message["warnings"])
    text, html, subject = message["text"], message["html"], message["subject"]
    cleaned = _clean(text, html, warnings)
    yield
    language = _language(cleaned.reply_text, subject, warnings)
    reply_hash = content_hash(cleaned.reply_text)
    yield
    sanitized = _sanitized(html, warnings)
    yield
    contact_fields = _signature_fields(cleaned.signature, message["from"]["email"], warnings)
    return {
        "id": message["id"],
        "messageId": message["messageId"],
        "receivedAt": message["receivedAt"],
        "alias": message["alias"],
        "envelope": message["envelope"],
        "from": message["from"],
        "to": message["to"],
        "cc": message["cc"],
        "replyTo": message["replyTo"],
        "subject": subject,
        "text": text,
        "html": html,
        "headers": message["headers"],
        "spamScore": message["spamScore"],
        "attachments": message["attachments"],
        "thread": message["thread"],
        "rawUrl": message["rawUrl"],
        "replyText": cleaned.reply_text,
        "signature": cleaned.signature,
        "language": language,
        "contentHash": reply_hash,
        "warnings": warnings.as_list(),
        "source": message["source"],
        # derived, for display and enrichment
        "htmlSanitized": sanitized,
        "attachedMessages": message["attachedMessages"],
        "signatureFields": contact_fields,
    }


# Cleaning and sanitising are linear but Python/HTML-parser heavy: megabytes of body would cost
# seconds. What a sender wrote sits at the top, so only the head of a huge body is processed.
_CLEAN_MAX_CHARS = 500_000
_SANITIZE_MAX_CHARS = 1_000_000


def _clean(text: str | None, html: str | None, warnings: _Warnings) -> CleanedBody:
    if (text and len(text) > _CLEAN_MAX_CHARS) or (html and len(html) > _CLEAN_MAX_CHARS):
        warnings.add("clean_truncated")
        text = text[:_CLEAN_MAX_CHARS] if text else text
        html = html[:_CLEAN_MAX_CHARS] if html else html
    # Derived fields must never cost us the message itself.
    try:
        return clean_body(text, html)
    except Exception as exc:  # noqa: BLE001
        warnings.add(f"clean_error:{type(exc).__name__}")
        return CleanedBody(reply_text=(text or "").strip(), signature=None, quoted=None)


def _language(reply_text: str, subject: str | None, warnings: _Warnings) -> str | None:
    try:
        language = detect_language(reply_text)
        if language is None and subject:
            language = detect_language(f"{subject}\n{reply_text}")
        return language
    except Exception as exc:  # noqa: BLE001
        warnings.add(f"language_error:{type(exc).__name__}")
        return None


def _sanitized(html: str | None, warnings: _Warnings) -> str | None:
    if html is None:
        return None
    if len(html) > _SANITIZE_MAX_CHARS:
        warnings.add("sanitize_truncated")
        html = html[:_SANITIZE_MAX_CHARS]
    try:
        return sanitize_html(html)
    except Exception as exc:  # noqa: BLE001 - a derived field: never worth the message
        warnings.add(f"sanitize_error:{type(exc).__name__}")
        return None


def _signature_fields(signature: str | None, sender: str, warnings: _Warnings) -> dict:
    try:
        return signature_fields(signature, sender)
    except Exception as exc:  # noqa: BLE001 - a derived field: never worth the message
        warnings.add(f"signature_fields_error:{type(exc).__name__}")
        return signature_fields(None, sender)


# --------------------------------------------------------------------------------------------
# Raw-bytes checks (before parsing)
# --------------------------------------------------------------------------------------------

_HEADER_LINE_RE = re.compile(rb"(?m)^[\x21-\x39\x3b-\x7e]{1,200}[ \t]*:")


def _check_rfc5322(raw: bytes) -> bytes:
    """Reject bytes that cannot be a message; return the bytes to parse (without a UTF-8 BOM)."""
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # UTF-8 BOM from some exporters
    # the header block ends at the first blank line (CRLF or LF)
    blank = BLANK_LINE_RE.search(data)
    end = len(data) if blank is None else blank.start() - (blank.start() > 0 and data[blank.start() - 1] == 0x0D)
    if data.find(b"\x00", 0, end) != -1:
        raise MessageRejected("not_rfc5322: NUL byte in header block")
    if _HEADER_LINE_RE.search(data, 0, end) is None:
        raise MessageRejected("not_rfc5322: no 'Name: value' header line before the first blank line")
    return data


# --------------------------------------------------------------------------------------------
# MIME structure: body selection and the bounded walk (on the part model of parts.py)
# --------------------------------------------------------------------------------------------


def _is_attachment_like(part, allow_named: bool) -> bool:
    if part.disposition == "attachment":
        return True
    return not allow_named and bool(part.filename)


def _related_root(part, children: list):
    start = part.start
    if start:
        start = start.strip().strip("<>")
        for child in children:
            if (child.content_id or "").strip().strip("<>") == start:
                return child
    return children[0]


def _body_parts(root) -> tuple:
    """(text part, html part); a message whose only texts carry a filename reads those as its body."""
    found = _find_bodies(root)
    return found if found != (None, None) else _find_bodies(root, allow_named=True)


def _find_bodies(root, *, allow_named: bool = False) -> tuple:
    """The first text/plain and text/html bodies, like ``EmailMessage.get_body`` but in one bounded,
    iterative walk. Only the top-level message's multipart tree is searched (never inside attached
    messages); attachments (and, unless ``allow_named``, parts carrying a filename) are skipped."""
    stack = [(root, 0)]
    seen = 0
    plain = html = None
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            break
        if part is not root and _is_attachment_like(part, allow_named):
            continue
        maintype, _, sub = part.ctype.partition("/")
        if maintype == "text":
            if sub == "plain":
                if plain is None:
                    plain = part
                    if html is not None:
                        break
            elif sub == "html" and html is None:
                html = part
                if plain is not None:
                    break
            continue
        if maintype != "multipart" or depth >= MAX_DEPTH:
            continue
        children = part.children
        if not children:
            continue
        if sub == "related":
            children = [_related_root(part, children)]
        for child in reversed(children):
            stack.append((child, depth + 1))
    return plain, html


def _walk(root, warnings: _Warnings) -> tuple[list, list]:
    """(leaf parts, roots of attached messages) in document order, descending into multiparts
    and attached messages.

    Stops after ``MAX_PARTS`` parts or below ``MAX_DEPTH`` levels (warning
    ``part_limit_exceeded``). Collects parser defects as warnings.
    """
    leaves = []
    messages = []
    stack = [(root, 0)]
    walked = 0
    while stack:
        part, depth = stack.pop()
        walked += 1
        if walked > MAX_PARTS:
            warnings.add("part_limit_exceeded")
            break
        warnings.extend(part.defects)
        children = part.children
        if children is None:
            leaves.append(part)
            continue
        if not children:
            continue
        if depth >= MAX_DEPTH:
            warnings.add("part_limit_exceeded")
            warnings.add("depth_limit_exceeded")
            continue
        if part.ctype == "message/rfc822":
            messages.append(children[0])
        for child in reversed(children):
            stack.append((child, depth + 1))
    return leaves, messages


_FILENAME_CTRL_RE = re.compile(r"[\x00-\x1f\x7f]")
_PATH_SEPARATOR_RE = re.compile(r"[\\/]")
_MAX_ATTACHED_MESSAGES = 20


def _attached_message(root, warnings: _Warnings) -> dict:
    """The sender, recipients, subject, date and bodies of an attached message (message/rfc822)."""
    headers = _HeaderView(root.header_items, root, warnings)
    sender = headers.addresses("from", first_only=True)
    text_part, html_part = _body_parts(root)
    subject = headers.first("subject")
    date = headers.first("date")
    sent_at = _parse_date(headers.fix_8bit(date)) if date is not None else None
    return {
        "messageId": _safe(_collapse_ws(headers.first("message-id") or "")) or None,
        "from": sender[0] if sender else None,
        "to": headers.addresses("to"),
        "cc": headers.addresses("cc"),
        "subject": _collapse_ws(headers.decode_text(subject)) if subject is not None else None,
        "sentAt": _rfc3339(sent_at) if sent_at is not None else None,
        "text": _decode_text_part(text_part, warnings) if text_part is not None else None,
        "html": _decode_text_part(html_part, warnings) if html_part is not None else None,
    }


def _attachment(part, headers: "_HeaderView", warnings: _Warnings) -> dict | None:
    ctype = part.ctype
    maintype = ctype.partition("/")[0]
    disposition = part.disposition
    filename = part.filename
    if filename:
        filename = headers.decode_text(filename)
        filename = _FILENAME_CTRL_RE.sub("", _PATH_SEPARATOR_RE.split(filename)[-1]).strip() or None
    content_id = part.content_id
    if content_id is not None:
        content_id = _collapse_ws(headers.fix_8bit(content_id)).strip("<> ") or None
    if not (
        filename
        or disposition in ("attachment", "inline")
        or content_id
        or maintype not in ("text", "multipart", "message")
    ):
        return None
    try:
        payload = part.payload()
    except Exception as exc:  # noqa: BLE001 - one broken part must not lose the message
        warnings.add(f"attachment_decode_error:{type(exc).__name__}")
        payload = b""
    return _attachment_dict(filename, ctype, payload, disposition, content_id, warnings)


def _attachment_dict(filename: str | None, ctype: str, payload: bytes, disposition: str | None,
                     content_id: str | None, warnings: _Warnings) -> dict:
    digest = hashlib.sha256(payload).hexdigest()
    sniffed = _sniff(digest, payload)
    mismatch = _type_mismatch(ctype, filename, sniffed)
    if mismatch:
        warnings.add("attachment_type_mismatch")
    return {
        "filename": filename,
        "contentType": ctype,
        "size": len(payload),
        "sha256": digest,
        "disposition": disposition,
        "contentId": content_id,
        "downloadUrl": None,
        "sniffedContentType": sniffed,
        "contentTypeMismatch": mismatch,
    }


_SNIFFED: dict[str, str | None] = {}  # by sha256: logos and templates come again and again


def _sniff(digest: str, payload: bytes) -> str | None:
    """The type the bytes show (filetype's magic numbers), or None when they show none."""
    if digest not in _SNIFFED:
        if len(_SNIFFED) >= 4096:
            _SNIFFED.clear()
        _SNIFFED[digest] = _guess_mime(payload) if payload else None
    return _SNIFFED[digest]


# filetype's matchers in its order, less those that cannot match bytes which do not start with a ZIP
# local file header (the ZIP-based documents: they look no further) or an EBML header (WebM,
# Matroska): by far its slowest ones, which every PDF, say, went through.
_MATCHERS = {
    (zip_header, ebml_header): tuple(
        matcher for matcher in filetype.types
        if (zip_header or not isinstance(matcher, ZippedDocumentBase))
        and (ebml_header or not isinstance(matcher, (Mkv, Webm)))
    )
    for zip_header in (False, True)
    for ebml_header in (False, True)
}


def _guess_mime(payload: bytes) -> str | None:
    """``filetype.guess_mime(payload)`` for non-empty bytes: the first of its matchers that matches."""
    matchers = _MATCHERS[payload.startswith(b"PK\x03\x04"), payload.startswith(b"\x1a\x45\xdf\xa3")]
    kind = filetype.match(payload, matchers)
    return kind.mime if kind is not None else None


# Declared types that claim nothing about the bytes.
_GENERIC_TYPES = frozenset({
    "application/octet-stream", "application/binary", "binary/octet-stream", "application/unknown",
    "application/x-unknown", "application/download", "application/x-download", "application/force-download",
})
# Other names senders use for what filetype reports.
_TYPE_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp", "image/vnd.microsoft.icon": "image/x-icon",
    "application/x-pdf": "application/pdf", "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip", "application/x-gzip": "application/gzip",
    "audio/mp3": "audio/mpeg", "audio/wav": "audio/x-wav", "audio/wave": "audio/x-wav",
    "application/x-rar": "application/x-rar-compressed", "application/vnd.rar": "application/x-rar-compressed",
    "application/x-7z": "application/x-7z-compressed", "text/rtf": "application/rtf",
}
# Formats stored in a ZIP or an OLE2 compound file, which filetype may report as the container.
_ZIP_BASED = ("application/vnd.openxmlformats-", "application/vnd.oasis.opendocument.", "application/vnd.ms-",
              "application/epub+zip", "application/java-archive", "application/vnd.android.package-archive")
_OLE_BASED = ("application/msword", "application/vnd.ms-", "application/vnd.visio", "application/x-msi")


def _type_mismatch(ctype: str, filename: str | None, sniffed: str | None) -> bool:
    """The bytes are of a known type that neither the Content-Type nor the file name claim."""
    if sniffed is None:
        return False
    claims = [ctype] if ctype not in _GENERIC_TYPES else []
    if filename and "." in filename:
        guessed = mimetypes.guess_type(filename, strict=False)[0]
        if guessed:
            claims.append(guessed)
    return any(not _compatible(claim, sniffed) for claim in claims)


def _compatible(claimed: str, sniffed: str) -> bool:
    claimed = _TYPE_ALIASES.get(claimed, claimed)
    if claimed == sniffed:
        return True
    if sniffed == "application/zip":
        return claimed.startswith(_ZIP_BASED)
    if sniffed in ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"):
        return claimed.startswith(_OLE_BASED)  # filetype tells OLE2 files apart by a guess
    return False


_UU_BEGIN_RE = re.compile(r"(?m)^begin [0-7]{3,4} ([^\n]*[^\s])[ \t]*$")
_UU_END_RE = re.compile(r"(?m)^end[ \t]*$")


def _extract_uuencoded(text: str, attachments: list, warnings: _Warnings) -> str:
    """Move uuencoded ``begin 644 name`` ... ``end`` blocks out of a text body into attachments."""
    kept: list[str] = []
    pos = 0
    for begin in _UU_BEGIN_RE.finditer(text):
        if begin.start() < pos:
            continue
        end = _UU_END_RE.search(text, begin.end())
        if end is None:
            break
        lines = [line for line in text[begin.end() + 1 : end.start()].split("\n") if line]
        # each line: a length character, then 4 characters per 3 bytes (a2b_uu pads short lines)
        if not lines or any(len(line) < 1 + 4 * ((((ord(line[0]) - 32) & 63) + 2) // 3) for line in lines):
            continue  # not uuencoded after all: leave the text alone
        try:
            data = b"".join(binascii.a2b_uu(line.encode("ascii")) for line in lines)
        except (binascii.Error, UnicodeEncodeError):
            continue
        filename = begin.group(1).rsplit("/", 1)[-1].strip() or None
        ctype = (mimetypes.guess_type(filename, strict=False)[0] if filename else None) or "application/octet-stream"
        attachments.append(_attachment_dict(filename, ctype, data, "attachment", None, warnings))
        kept.append(text[pos : begin.start()])
        pos = end.end() + 1
    if not kept:
        return text
    kept.append(text[pos:])
    return "".join(kept)


# --------------------------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------------------------

_CHARSET_ALIASES = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "euc-cn": ("gb18030",),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "iso-2022-jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "csiso2022jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "shift_jis": ("cp932", "shift_jis"),
    "shift-jis": ("cp932", "shift_jis"),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "windows-31j": ("cp932",),
    "euc-jp": ("euc_jp", "cp932"),
    "big5": ("big5hkscs", "cp950"),
    "iso-8859-1": ("cp1252", "latin-1"),
    "iso8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "latin-1": ("cp1252", "latin-1"),
    "l1": ("cp1252", "latin-1"),
    "us-ascii": ("ascii",),
    "ascii": ("ascii",),
    "ansi_x3.4-1968": ("ascii",),
    "iso-8859-8-i": ("iso8859_8",),
    "tis-620": ("cp874",),
    "iso-8859-11": ("cp874",),
    "windows-874": ("cp874",),
    "x-mac-roman": ("mac_roman",),
    "macintosh": ("mac_roman",),
    "utf8": ("utf-8",),
    "unicode-1-1-utf-7": ("utf-7",),
}
_NOT_CHARSETS = frozenset(
    {"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode", "unicode_internal",
     "charmap", "mbcs", "oem", "utf_8_sig"}
)


@functools.lru_cache(maxsize=256)
def _codecs_for(charset: str | None) -> tuple[str, ...]:
    """Python codec names to try for a declared charset, empty if unknown/unusable."""
    if not charset:
        return ()
    name = charset.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix
    if name in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return ()
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return ()
    return (info.name,)


def _try_decode(data: bytes, charset: str | None) -> str | None:
    for codec in _codecs_for(charset):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    return None


def _detect_decode(data: bytes) -> str:
    """charset-normalizer's best guess, else UTF-8 with replacement characters."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    except Exception:  # noqa: BLE001 - detection is best effort
        pass
    return data.decode("utf-8", errors="replace")


def _decode_bytes(data: bytes, declared: str | None, warnings: _Warnings) -> str:
    if not data:
        return ""
    if declared is None:
        if data.isascii():
            if b"\x1b$" in data or b"\x1b(" in data:  # undeclared ISO-2022-JP is 7-bit
                decoded = _try_decode(data, "iso-2022-jp")
                if decoded is not None:
                    warnings.add("undeclared_charset")
                    return decoded
            return data.decode("ascii")
        warnings.add("undeclared_charset")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return _detect_decode(data)
    candidates = _codecs_for(declared)
    if not candidates:
        warnings.add("undeclared_charset")
        warnings.add("unknown_charset")
        if data.isascii():
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return _detect_decode(data)
    decoded = _try_decode(data, declared)
    if decoded is not None:
        return decoded
    warnings.add("charset_mismatch")
    if "utf-8" not in candidates:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _detect_decode(data)


def _decode_text_part(part, warnings: _Warnings) -> str:
    try:
        data = part.payload()
    except Exception as exc:  # noqa: BLE001
        warnings.add(f"body_decode_error:{type(exc).__name__}")
        return ""
    text = _decode_bytes(data, part.charset, warnings)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        warnings.add("nul_in_body")
        text = text.replace("\x00", "")
    return _safe(text)  # e.g. UTF-7 can encode lone surrogates


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------

_UNFOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # what _has_surrogate answers, tested against it
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_WS_RE = re.compile(r"\s+")


def _collapse_ws(value: str) -> str:
    # \s in a str pattern, str.split() and str.strip() all use Py_UNICODE_ISSPACE: this is
    # _WS_RE.sub(" ", value).strip(), without the regex
    return " ".join(value.split())


def _unfold(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = header_value(value)
    if "\r" in value:
        value = _UNFOLD_RE.sub("", value).replace("\r", "").replace("\n", " ")
    elif "\n" in value:
        # without CRs, _UNFOLD_RE drops exactly the LFs followed by a space or a tab in the
        # original string, as these non-overlapping replacements do
        value = value.replace("\n ", " ").replace("\n\t", "\t").replace("\n", " ")
    return value


_HEADER_KEYS: dict[str, str] = {}  # header names as written -> _HeaderView keys: the same few dozen, mostly


def _header_key(name: str) -> str:
    if len(_HEADER_KEYS) >= 4096:
        _HEADER_KEYS.clear()
    key = _HEADER_KEYS[name] = name.strip().lower()
    return key


class _HeaderView:
    """Top-level headers as unfolded raw strings (topmost first), with robust decoding."""

    def __init__(self, items: list[tuple[str, str | bytes]], root, warnings: _Warnings) -> None:
        self._root = root
        self._warnings = warnings
        self._hint: str | None | bool = False  # lazily computed body charset hint
        # raw values by lower-case name, unfolded when asked for: most headers never are
        self._raw: dict[str, list[str]] = {}
        raw = self._raw
        keys = _HEADER_KEYS
        for name, value in items:
            key = keys.get(name)
            if key is None:
                key = _header_key(name)
            values = raw.get(key)
            if values is None:
                raw[key] = [value]
            else:
                values.append(value)

    def all(self, name: str) -> list[str]:
        raw = self._raw.get(name)
        return [_unfold(value) for value in raw] if raw else []

    def first(self, name: str) -> str | None:
        raw = self._raw.get(name)
        return _unfold(raw[0]) if raw else None  # e.g. the topmost of many Received headers

    # -- decoding -------------------------------------------------------------------------
    def _hint_charset(self) -> str | None:
        if self._hint is False:
            hint = None
            stack, seen = [self._root], 0
            while stack and seen < 50:
                part = stack.pop()
                seen += 1
                children = part.children
                if children:
                    stack.extend(reversed(children))
                    continue
                hint = part.charset
                if hint and hint not in ("us-ascii", "ascii", "utf-8", "utf8") and _codecs_for(hint):
                    break
                hint = None
            self._hint = hint
        return self._hint  # type: ignore[return-value]

    def fix_8bit(self, value: str) -> str:
        """Raw 8-bit header bytes (surrogate-escaped by the parser) -> text."""
        if value.isascii() or not _has_surrogate(value):
            return value
        data = value.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        self._warnings.add("raw_8bit_header")
        decoded = _try_decode(data, self._hint_charset())
        if decoded is not None:
            return decoded
        return data.decode("cp1252", errors="replace")

    def decode_text(self, value: str) -> str:
        """Unstructured header text: 8-bit fix-up, then RFC 2047 encoded words."""
        return _decode_encoded_words(self.fix_8bit(value), self._warnings)

    # -- addresses ------------------------------------------------------------------------
    def addresses(self, name: str, *, first_only: bool = False) -> list[dict]:
        raw = self._raw.get(name)
        if not raw:
            return []
        out = []
        for value in raw[:1] if first_only else raw:
            entries, codes = _address_entries(self.fix_8bit(_unfold(value)))
            if codes:
                self._warnings.extend(codes)
            for email, display in entries:
                out.append({"email": email, "name": display})
        return out


@functools.lru_cache(maxsize=4096)  # From/To/Delivered-To values repeat from message to message
def _address_entries(value: str) -> tuple[tuple[tuple[str, str | None], ...], tuple[str, ...]]:
    """((email, display name or None), ...) of an address header value, and the warning codes
    decoding it adds (in order), so that a repeated value costs a lookup."""
    codes = _Warnings()
    out = []
    for display, addr in _parse_address_list(value):
        email = _normalise_address(addr)
        if email is None:
            continue
        display = _decode_encoded_words(display, codes).strip() if display else ""
        out.append((email, display or None))
    return tuple(out), tuple(codes.as_list())


def _decode_encoded_words(value: str, warnings: _Warnings) -> str:
    """RFC 2047 decoding that never raises; adjacent words are joined before decoding."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent (charset, bytes) runs
    pos = 0

    def flush_pending() -> None:
        if not pending:
            return
        charset, data = pending[0][0], b""
        for cs, chunk in pending:
            if cs != charset:
                out.append(_decode_word_bytes(data, charset, warnings))
                charset, data = cs, b""
            data += chunk
        out.append(_decode_word_bytes(data, charset, warnings))
        pending.clear()

    for m in _ENCODED_WORD_RE.finditer(value):
        between = value[pos : m.start()]
        if not (pending and not between.strip()):
            flush_pending()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        encoding = m.group(2).upper()
        payload = m.group(3)
        try:
            if encoding == "B":
                payload = payload + "=" * (-len(payload) % 4)
                chunk = base64.b64decode(payload.encode("ascii", "replace"))
            else:
                chunk = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            warnings.add("bad_encoded_word")
            flush_pending()
            out.append(m.group(0))
            pos = m.end()
            continue
        pending.append((charset, chunk))
        pos = m.end()
    flush_pending()
    out.append(value[pos:])
    return "".join(out)


def _decode_word_bytes(data: bytes, charset: str, warnings: _Warnings) -> str:
    decoded = _try_decode(data, charset)
    if decoded is not None:
        return _safe(decoded)
    if not _codecs_for(charset):
        warnings.add("unknown_charset")
    else:
        warnings.add("charset_mismatch")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# --- address parsing ---------------------------------------------------------------------------

_ANGLE_ADDR_RE = re.compile(r"<\s*(?:mailto:)?([^<>\s@]*@[^<>\s]*?)\s*>")
_LOOSE_ANGLE_ADDR_RE = re.compile(r"<\s*([^<>]*@[^<>]*?)\s*>")  # e.g. <"john doe"@example.com>
_BARE_ADDR_RE = re.compile(r"[^\s<>(),;:\"\[\]]+@[^\s<>(),;:\"\[\]]+")
_COMMENT_RE = re.compile(r"\(([^()]*)\)")
_EMAILISH_RE = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


_ADDRESS_SPECIALS_RE = re.compile(r"[<>,;]")


def _split_address_list(value: str) -> list[str]:
    """Split at top-level commas/semicolons (outside quotes, <> and comments)."""
    if '"' not in value and "(" not in value and "\\" not in value:
        # The common case: only <> nesting matters, so only those characters need visiting.
        chunks = []
        start = angle = 0
        for m in _ADDRESS_SPECIALS_RE.finditer(value):
            ch = m.group()
            if ch == "<":
                angle += 1
            elif ch == ">":
                angle = max(0, angle - 1)
            elif not angle:
                chunks.append(value[start : m.start()])
                start = m.end()
        chunks.append(value[start:])
        return [c for c in (c.strip() for c in chunks) if c]
    return _split_address_list_quoted(value)


def _split_address_list_quoted(value: str) -> list[str]:
    """:func:`_split_address_list` character by character, for values with quotes or comments."""
    chunks: list[str] = []
    buf: list[str] = []
    in_quote = False
    angle = paren = 0
    escaped = False
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            buf.append(ch)
            continue
        if in_quote:
            if ch == '"':
                in_quote = False
            buf.append(ch)
            continue
        if ch == '"':
            in_quote = True
        elif ch == "<":
            angle += 1
        elif ch == ">":
            angle = max(0, angle - 1)
        elif ch == "(":
            paren += 1
        elif ch == ")":
            paren = max(0, paren - 1)
        elif ch in ",;" and not angle and not paren:
            chunks.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    chunks.append("".join(buf))
    return [c for c in (c.strip() for c in chunks) if c]


_QUOTED_PAIR_RE = re.compile(r"\\(.)")


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    if "\\" in name:
        name = _QUOTED_PAIR_RE.sub(r"\1", name)
    return _collapse_ws(name.replace('"', " ") if name.count('"') % 2 else name)


@functools.lru_cache(maxsize=4096)  # To/Delivered-To values repeat from message to message
def _parse_address_list(value: str) -> tuple[tuple[str, str], ...]:
    """(display name, address) pairs; tolerant of the usual real-world breakage."""
    out: list[tuple[str, str]] = []
    if len(value) > 20000:  # absurd header: bound the work
        value = value[:20000]
    for chunk in _split_address_list(value):
        # group syntax "Team: a@b.example, c@d.example;" -> drop the group name
        colon = chunk.find(":")
        if colon != -1 and not any(c in chunk[:colon] for c in '<"@('):
            chunk = chunk[colon + 1 :].strip()
            if not chunk:
                continue
        angles = list(_ANGLE_ADDR_RE.finditer(chunk)) or list(_LOOSE_ANGLE_ADDR_RE.finditer(chunk))
        if angles:
            m = angles[-1]
            addr = m.group(1)
            name = (chunk[: m.start()] + " " + chunk[m.end() :]).strip()
            if name.startswith("(") and name.endswith(")") and name.count("(") == 1:
                name = name[1:-1]  # "<bob@example.com> (Bob Smith)"
            else:
                name = _COMMENT_RE.sub(" ", name)
            out.append((_unquote(name), addr))
            continue
        m = _BARE_ADDR_RE.search(chunk)
        if m is None:
            continue
        addr = m.group(0)
        rest = chunk[: m.start()] + " " + chunk[m.end() :]
        comment = _COMMENT_RE.search(rest)
        name = comment.group(1) if comment else rest.strip("<> ")
        out.append((_unquote(name), addr))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _normalise_address(addr: str) -> str | None:
    addr = addr.strip().strip("<>").strip()
    if len(addr) > 1 and addr[0] == addr[-1] and addr[0] in "\"'":
        addr = addr[1:-1].strip()  # 'bob@example.com' / "bob@example.com"
    addr = addr.rstrip(".")
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    if "@" not in addr:
        return None
    local, _, domain = addr.rpartition("@")
    local = local.strip()
    domain = domain.strip().rstrip(".").lower()
    if not local or not domain or " " in domain:
        return None
    return f"{local}@{domain}"


def _resolve_sender(headers: _HeaderView, warnings: _Warnings) -> dict:
    for name in ("from", "sender", "return-path"):
        found = headers.addresses(name, first_only=True)
        if not found:
            continue
        sender = found[0]
        if name != "from":
            warnings.add(f"sender_from_{name.replace('-', '_')}")
        display = sender["name"] or ""
        for candidate in _EMAILISH_RE.findall(display) if "@" in display else ():
            if candidate.strip(".").lower() != sender["email"].lower():
                warnings.add("display_name_spoofing")
                break
        if not _valid_address(sender["email"]):
            warnings.add("invalid_sender_address")
        return sender
    raise MessageRejected("no_sender: no address in From, Sender or Return-Path")


# Plain ASCII addresses email-validator always accepts (dot-atom local part, LDH labels without
# "--", alphabetic TLD, within the length limits): they skip its ~0.1 ms of checks.
_PLAIN_ADDRESS_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64})*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})"
)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


@functools.lru_cache(maxsize=4096)
def _valid_address(addr: str) -> bool:
    plain = _PLAIN_ADDRESS_RE.fullmatch(addr)
    if (
        plain is not None
        and plain.group(1) not in _SPECIAL_USE_TLDS
        and "--" not in addr.rpartition("@")[2]
        and len(addr) <= 254
        and addr.index("@") <= 64
    ):
        return True
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(
            addr,
            check_deliverability=False,
            globally_deliverable=False,
            allow_quoted_local=True,
            allow_domain_literal=True,
        )
    except EmailNotValidError:
        return False
    except Exception:  # noqa: BLE001 - validator bugs must not break parsing
        return True
    return True


# --- dates --------------------------------------------------------------------------------------


# The date as RFC 5322 writes it (what nearly every Received and Date header holds), for which
# email.utils.parsedate_tz's result is read off directly (see _parsedate).
_RFC5322_DATE_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_MONTHS = {name: index for index, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def _parsedate(value: str) -> tuple | None:
    """``email.utils.parsedate_tz(value)`` (which is ~10x slower in Python); ``value`` stripped."""
    m = _RFC5322_DATE_RE.fullmatch(value)
    if m is None:
        return parsedate_tz(value)
    day, month, year, hour, minute, second, sign, tz_hours, tz_minutes = m.groups()
    year = int(year)
    if year < 100:  # parsedate_tz's two-digit-year rule, which "0026" meets too
        year += 1900 if year > 68 else 2000
    offset = int(tz_hours) * 3600 + int(tz_minutes) * 60  # -0000 is None there, i.e. 0 here
    return (year, _MONTHS[month], int(day), int(hour), int(minute), int(second), 0, 1, -1,
            -offset if sign == "-" else offset)


def _parse_date(value: str) -> datetime | None:
    value = (_COMMENT_RE.sub(" ", value) if "(" in value else value).strip()
    if not value:
        return None
    parsed = None
    try:
        parsed = _parsedate(value)
    except Exception:  # noqa: BLE001 - the stdlib date parser raises on some garbage
        parsed = None
    if parsed:
        year, month, day, hour, minute, second = parsed[:6]
        offset = parsed[9] or 0
        if not -86400 < offset < 86400:
            return None  # what datetime.timezone refuses
        try:
            # the wall-clock time minus its offset: what astimezone(timezone.utc) gives, without
            # a timezone object per message
            dt = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone.utc)
            if offset:
                dt -= timedelta(seconds=offset)
        except (ValueError, OverflowError):
            return None
    else:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        try:
            dt = dt.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            return None
    if not 1970 <= dt.year <= 2100:
        return None
    return dt


def _rfc3339(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a UTC datetime of years 1970-2100 (no fraction of a second)."""
    return dt.isoformat()[:19] + "Z"  # the fraction of a second, if any, comes after these 19


def _received_at(headers: _HeaderView, warnings: _Warnings) -> str | None:
    received = headers.first("received")
    if received is not None:
        _, sep, date_part = received.rpartition(";")
        dt = _parse_date(date_part) if sep else None
        if dt is not None:
            return _rfc3339(dt)
        warnings.add("bad_received_date")
    date = headers.first("date")
    if date is not None:
        dt = _parse_date(headers.fix_8bit(date))
        if dt is not None:
            return _rfc3339(dt)
        warnings.add("bad_date")
    warnings.add("no_received_date")
    return None


# --- other headers ------------------------------------------------------------------------------

_AUTH_RESULT_RE = re.compile(r"(?:^|[\s;(])(dkim|spf|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)  # the rule
# _AUTH_RESULT_RE split at its alternation: at the start, then after a separator. Starting with a
# character class lets the regex engine skip ahead to separators (~2x faster, same matches).
_AUTH_RESULT_AT_START_RE = re.compile(r"(dkim|spf|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
_AUTH_RESULT_AFTER_SEP_RE = re.compile(r"[\s;(](dkim|spf|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
# The same, case-sensitive, on the lower-cased value: on ASCII text (what raw header values are,
# but for the surrogate escapes of 8-bit bytes) the same matches, ~2x faster.
_AUTH_RESULT_LOWER_AT_START_RE = re.compile(r"(dkim|spf|dmarc)\s*=\s*([a-z]+)")
_AUTH_RESULT_LOWER_AFTER_SEP_RE = re.compile(r"[\s;(](dkim|spf|dmarc)\s*=\s*([a-z]+)")
_RECEIVED_SPF_RE = re.compile(r"^\s*([A-Za-z]+)")
_FLOAT_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_MSG_ID_RE = re.compile(r"<[^<>\s]+>")


def _auth_result_pairs(value: str) -> list[tuple[str, str]]:
    """``_AUTH_RESULT_RE.findall(value)``, lower-cased (method, result) pairs."""
    if value.isascii():
        value = value.lower()
        at_start, after_sep = _AUTH_RESULT_LOWER_AT_START_RE, _AUTH_RESULT_LOWER_AFTER_SEP_RE
    else:
        at_start, after_sep = _AUTH_RESULT_AT_START_RE, _AUTH_RESULT_AFTER_SEP_RE
    first = at_start.match(value)
    pairs = after_sep.findall(value, first.end()) if first is not None else after_sep.findall(value)
    if first is not None:
        pairs.insert(0, first.groups())
    if at_start is _AUTH_RESULT_AT_START_RE:
        pairs = [(method.lower(), result.lower()) for method, result in pairs]
    return pairs


def _auth_results(headers: _HeaderView) -> dict:
    verdicts: dict[str, str | None] = {"dkim": None, "spf": None, "dmarc": None}
    for value in headers.all("authentication-results"):
        found: dict[str, list[str]] = {}
        for method, result in _auth_result_pairs(value):
            found.setdefault(method, []).append(result)
        for method, results in found.items():
            if verdicts[method] is None:
                verdicts[method] = "pass" if "pass" in results else results[0]
        if all(verdicts.values()):
            break
    if verdicts["spf"] is None:
        received_spf = headers.first("received-spf")
        if received_spf:
            m = _RECEIVED_SPF_RE.match(received_spf)
            if m:
                verdicts["spf"] = m.group(1).lower()
    return verdicts


def _spam_score(headers: _HeaderView) -> float | None:
    value = headers.first("x-spam-score")
    if value is None:
        return None
    m = _FLOAT_RE.search(value)
    if m is None:
        return None
    try:
        score = float(m.group(0).replace(",", "."))
    except ValueError:
        return None
    return score if math.isfinite(score) else None


def _thread(headers: _HeaderView) -> dict:
    in_reply_to = None
    value = headers.first("in-reply-to")
    if value is not None:
        value = _safe(value)
        ids = _MSG_ID_RE.findall(value)
        in_reply_to = ids[0] if ids else (_collapse_ws(value) or None)
    references: list[str] = []
    for value in headers.all("references"):
        value = _safe(value)
        ids = _MSG_ID_RE.findall(value)
        references.extend(ids if ids else value.split())
    return {"inReplyTo": in_reply_to, "references": references}


# --------------------------------------------------------------------------------------------
# Output hygiene
# --------------------------------------------------------------------------------------------


def _safe(value: str) -> str:
    """``value`` with lone surrogates replaced ("?"), so that it is valid UTF-8 (JSON/Postgres safe).

    Raw header values hold the parser's surrogate escapes of 8-bit bytes, and some codecs (UTF-7)
    decode to lone surrogates: every string of the message passes through here where it is made.
    """
    return value if value.isascii() or not _has_surrogate(value) else _replace_surrogates(value)


def _has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (U+D800-U+DFFF), like ``_SURROGATE_RE.search``.

    Latin-1 text cannot (and encoding it is a copy); otherwise lone surrogates are the only
    code points strict UTF-16 (as UTF-8) cannot encode. Both are ~10x faster than a regex scan.
    """
    try:
        value.encode("latin-1")
        return False
    except UnicodeEncodeError:
        pass
    try:
        value.encode("utf-16-le")
    except UnicodeEncodeError:
        return True
    return False


def _replace_surrogates(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")
