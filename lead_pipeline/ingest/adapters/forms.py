"""HTML form deliveries (SendGrid Inbound Parse, Mailgun routes) as canonical JSON bytes, and back.

A form POST cannot be landed as received and parsed later without its Content-Type (the multipart
boundary), and a retried POST may carry a new boundary. So the receiver lands the form's *content*:

```json
{"fields": [["from", "Alex <alex@example.com>"], ["text", {"base64": "..."}], ...],
 "files": [{"field": "attachment1", "filename": "a.pdf", "contentType": "application/pdf",
            "contentBase64": "..."}]}
```

in canonical JSON (sorted keys, compact, UTF-8). Fields keep their order and repeats; a field whose
bytes are not UTF-8 is kept as base64 so its declared charset (SendGrid's `charsets`) can decode it
later. Equal forms give equal bytes whatever the boundary, so the sha256 of these bytes is a stable
delivery key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from lead_pipeline.ingest.payloads import canonical_json
from lead_pipeline.mail.mime import MessageRejected

MAX_PARTS = 1000


class FormError(ValueError):
    """The body is not a well-formed form of its declared Content-Type."""


@dataclass
class FormFile:
    field: str
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Form:
    fields: list[tuple[str, bytes]] = field(default_factory=list)
    files: list[FormFile] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return canonical_json({
            "fields": [[name, _text_or_b64(value)] for name, value in self.fields],
            "files": [
                {"field": f.field, "filename": f.filename, "contentType": f.content_type,
                 "contentBase64": base64.b64encode(f.content).decode("ascii")}
                for f in self.files
            ],
        })

    def first(self, name: str) -> bytes | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def text(self, name: str) -> str | None:
        value = self.first(name)
        return None if value is None else value.decode("utf-8", "replace")


def parse_form(content_type: str | None, body: bytes) -> Form:
    """A `multipart/form-data` or `application/x-www-form-urlencoded` body as fields and files (raises FormError)."""
    ctype, params = parse_options_header(content_type or "")
    if ctype == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise FormError("multipart/form-data without a boundary")
        return _multipart(boundary, body)
    if ctype == b"application/x-www-form-urlencoded":
        return _urlencoded(body)
    raise FormError(f"expected a form, got Content-Type {content_type!r}")


def load_form(raw: bytes) -> Form:
    """The canonical bytes landed by the receiver, back to a `Form` (raises MessageRejected)."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise MessageRejected(f"invalid_json: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise MessageRejected("invalid_payload: not a landed form (no 'fields' list)")
    form = Form()
    try:
        for name, value in data["fields"]:
            if isinstance(value, dict):
                value = base64.b64decode(value["base64"], validate=True)
            elif isinstance(value, str):
                value = value.encode("utf-8", "surrogatepass")
            else:
                raise TypeError(f"field {name!r} holds {type(value).__name__}")
            form.fields.append((str(name), value))
        for item in data.get("files") or []:
            form.files.append(FormFile(
                field=str(item.get("field") or ""), filename=item.get("filename"),
                content_type=item.get("contentType"),
                content=base64.b64decode(item.get("contentBase64") or "", validate=True),
            ))
    except (TypeError, ValueError, KeyError, binascii.Error) as exc:
        raise MessageRejected(f"invalid_payload: malformed landed form: {exc}") from None
    return form


def _text_or_b64(value: bytes) -> str | dict[str, str]:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def _decode_param(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _multipart(boundary: bytes, body: bytes) -> Form:
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    header_name = bytearray()
    header_value = bytearray()
    ended = False

    def on_part_begin() -> None:
        nonlocal current
        if len(parts) >= MAX_PARTS:
            raise FormError(f"more than {MAX_PARTS} form parts")
        current = {"headers": {}, "data": bytearray()}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current["headers"][bytes(header_name).decode("latin-1").strip().lower()] = bytes(header_value).strip()
        header_name.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].extend(data[start:end])

    def on_part_end() -> None:
        parts.append(current)

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(boundary, callbacks={
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end, "on_end": on_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise FormError(f"malformed multipart body: {exc}") from None
    if not ended:
        raise FormError("incomplete multipart body (no closing boundary)")
    form = Form()
    for part in parts:
        disposition, params = parse_options_header(part["headers"].get("content-disposition", b"").decode("latin-1"))
        name = _decode_param(params.get(b"name"))
        if disposition != b"form-data" or name is None:
            continue
        data = bytes(part["data"])
        if b"filename" in params:
            ctype = part["headers"].get("content-type")
            form.files.append(FormFile(
                field=name, filename=_decode_param(params[b"filename"]) or None,
                content_type=ctype.decode("latin-1") if ctype else None, content=data,
            ))
        else:
            form.fields.append((name, data))
    return form


def _urlencoded(body: bytes) -> Form:
    form = Form()
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        name_text = _decode_param(unquote_to_bytes(name.replace(b"+", b" "))) or ""
        form.fields.append((name_text, unquote_to_bytes(value.replace(b"+", b" "))))
        if len(form.fields) > MAX_PARTS:
            raise FormError(f"more than {MAX_PARTS} form fields")
    return form
