"""A MailParse stand-in: a real HTTP server on 127.0.0.1 implementing the REST polling contract
(`mailparse-api.md` §2) with a scripted fault plan. Reusable from any test (client, polling, Dagster sensors).

    messages, raw_mime, files = generate_messages(1000, ["demo@...", "sales@..."])
    with MailParseStandin(messages, raw_mime=raw_mime, files=files, token="t",
                          faults=[Fault.ok(2), Fault.http(429, retry_after="0"), Fault.slow(0.5)]) as api:
        client = MailParseClient(api.url, "t", timeout=0.3)
        ...
        api.requests_log  # every request: method, path, query, status, fault, authorised

Fault plan: a script consumed in order. Each request takes the first fault in the plan whose `path` matches it
(`"/v1/messages"` is the listing; a path ending in `/` matches by prefix) and uses up one of its `times`;
`Fault.ok(n)` lets n matching requests through untouched, so a plan reads as a timeline. When no fault matches,
the request is served normally. Kinds: `http` (status, optional Retry-After), `slow` (sleeps `delay` seconds,
then serves normally: the client has given up by then), `malformed` (200, body not JSON), `bad_shape` (200,
JSON without `data`), `reset` (closes the connection without answering).

Cursors are opaque (`c1.<base64>` of a position in the message list), so an alias-filtered stream skips other
aliases' messages; a message list can grow while the server runs (`add_messages`), like a live mailbox.
String values containing `{base_url}` (rawUrl, downloadUrl) are served with the server's URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lead_pipeline_tests.ingest.servers import FaultSchedule

LISTING = "/v1/messages"


@dataclass
class Fault:
    kind: str
    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    path: str = LISTING
    times: int = 1

    @classmethod
    def ok(cls, times: int = 1, path: str = LISTING) -> Fault:
        return cls("ok", times=times, path=path)

    @classmethod
    def http(cls, status: int, *, retry_after: str | None = None, times: int = 1, path: str = LISTING) -> Fault:
        return cls("http", status=status, retry_after=retry_after, times=times, path=path)

    @classmethod
    def slow(cls, delay: float, *, times: int = 1, path: str = LISTING) -> Fault:
        return cls("slow", delay=delay, times=times, path=path)

    @classmethod
    def malformed(cls, *, times: int = 1, path: str = LISTING) -> Fault:
        return cls("malformed", times=times, path=path)

    @classmethod
    def bad_shape(cls, *, times: int = 1, path: str = LISTING) -> Fault:
        return cls("bad_shape", times=times, path=path)

    @classmethod
    def reset(cls, *, times: int = 1, path: str = LISTING) -> Fault:
        return cls("reset", times=times, path=path)

    def matches(self, path: str) -> bool:
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int | None  # None: the connection was closed without an answer
    fault: str | None
    authorised: bool  # the request carried the right bearer token
    bearer_sent: bool  # the request carried any Authorization header
    at: float = field(default_factory=time.monotonic)


def encode_cursor(position: int) -> str:
    return "c1." + base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    if not cursor.startswith("c1."):
        raise ValueError(cursor)
    body = cursor[3:]
    text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    if not text.startswith("pos:"):
        raise ValueError(cursor)
    return int(text[4:])


class MailParseStandin:
    def __init__(
        self,
        messages: Sequence[Mapping[str, Any]] = (),
        *,
        faults: Iterable[Fault] = (),
        token: str = "t",
        raw_mime: Mapping[str, bytes] | None = None,
        files: Mapping[str, bytes] | None = None,
    ):
        self.token = token
        self._messages: list[Any] = [dict(m) if isinstance(m, Mapping) else m for m in messages]  # any JSON item
        self.raw_mime: dict[str, bytes] = dict(raw_mime or {})
        self.files: dict[str, bytes] = dict(files or {})
        self._faults = FaultSchedule(faults)
        self._lock = threading.Lock()
        self.requests_log: list[LoggedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._url: str | None = None  # kept after stop: a slow handler may still be answering
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._url is not None, "start the stand-in first (use it as a context manager)"
        return self._url

    def set_faults(self, faults: Iterable[Fault]) -> None:
        self._faults.replace(faults)

    @property
    def pending_faults(self) -> list[Fault]:
        return self._faults.pending()

    def add_messages(self, messages: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            self._messages.extend(dict(m) if isinstance(m, Mapping) else m for m in messages)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests_log if r.path == path]

    def start(self) -> MailParseStandin:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        host, port = server.server_address[:2]
        self._url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mailparse-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MailParseStandin:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- request handling (called from handler threads) ---------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        fault = self._faults.take(path)
        return None if fault is None or fault.kind == "ok" else fault

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests_log.append(entry)

    def _page(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            return 400, {"error": "invalid_limit"}
        if not 1 <= limit <= 500:
            return 400, {"error": "invalid_limit", "detail": "limit must be 1..500"}
        try:
            position = decode_cursor(query["cursor"]) if query.get("cursor") else 0
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "invalid_cursor"}
        alias = query.get("alias")
        with self._lock:
            messages = list(self._messages)
        data: list[dict[str, Any]] = []
        scan = position
        while scan < len(messages) and len(data) < limit:
            if alias is None or _alias_of(messages[scan]) == alias.lower():
                data.append(messages[scan])
            scan += 1
        has_more = any(alias is None or _alias_of(m) == alias.lower() for m in messages[scan:])
        return 200, {"data": data, "next_cursor": encode_cursor(scan), "has_more": has_more}


def _alias_of(message: Any) -> str | None:
    value = message.get("alias") if isinstance(message, Mapping) else None
    return value.lower() if isinstance(value, str) else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MailParseStandin/1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        standin: MailParseStandin = self.server.standin  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        auth = self.headers.get("Authorization")
        authorised = auth == f"Bearer {standin.token}"
        fault = standin._take_fault(path)

        def log(status: int | None) -> None:
            standin._log(LoggedRequest("GET", path, query, status, fault.kind if fault else None, authorised,
                                       auth is not None))

        if fault is not None:
            if fault.kind == "reset":
                log(None)
                self.close_connection = True
                return
            if fault.kind == "http":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                log(fault.status)
                self._send_json(fault.status, {"error": f"injected {fault.status}"}, headers)
                return
            if fault.kind == "malformed":
                log(200)
                self._send(200, b'{"data": [{"id": "msg_', "application/json")
                return
            if fault.kind == "bad_shape":
                log(200)
                self._send_json(200, {"items": [], "cursor": None})
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)  # then answer normally; the client has timed out by now

        is_file = path.startswith("/files/")
        if not is_file and not authorised:
            log(401)
            self._send_json(401, {"error": "unauthorized"})
            return
        if path == LISTING:
            status, body = standin._page(query)
            log(status)
            self._send_json(status, body, base_url=standin.url)
        elif path.startswith(LISTING + "/") and path.endswith("/raw"):
            message_id = unquote(path[len(LISTING) + 1 : -len("/raw")])
            raw = standin.raw_mime.get(message_id)
            log(200 if raw is not None else 404)
            if raw is None:
                self._send_json(404, {"error": "not_found"})
            else:
                self._send(200, raw, "message/rfc822")
        elif is_file:
            content = standin.files.get(path[len("/files/") :])
            log(200 if content is not None else 404)
            if content is None:
                self._send_json(404, {"error": "not_found"})
            else:
                self._send(200, content, "application/octet-stream")
        else:
            log(404)
            self._send_json(404, {"error": "not_found"})

    def _send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                   base_url: str | None = None) -> None:
        text = json.dumps(body)
        if base_url is not None:
            text = text.replace("{base_url}", base_url)
        self._send(status, text.encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True


# -- generated mailboxes --------------------------------------------------------------------


def generate_messages(
    n: int,
    aliases: Sequence[str],
    *,
    start: datetime = datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
    raw_every: int = 0,
    attachment_every: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, bytes], dict[str, bytes]]:
    """`n` distinct messages spread over `aliases`, in the payload variants the contract tolerates (camelCase and
    snake_case, string and object addresses, boolean or raw auth headers, some without messageId).

    Every `raw_every`-th message has a `rawUrl` (its MIME in the returned `raw_mime`); every
    `attachment_every`-th has an attachment whose `downloadUrl` is served from the returned `files`.
    Returns (messages, raw_mime by id, files by name).
    """
    messages: list[dict[str, Any]] = []
    raw_mime: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    for i in range(n):
        alias = aliases[i % len(aliases)]
        msg_id = f"msg_{i:06d}"
        received = start + timedelta(minutes=7 * i)
        stamp = received.strftime("%Y-%m-%dT%H:%M:%SZ")
        sender, name = f"person{i}@company{i % 37}.example", f"Person {i}"
        subject = f"Inquiry {i}: demo request"
        text = f"Hello, this is inquiry number {i}. We would like a demo for {10 + i % 90} seats.\n\nThanks,\n{name}"
        variant = i % 4
        if variant == 0:
            message: dict[str, Any] = {
                "id": msg_id, "messageId": f"<m{i}@company{i % 37}.example>", "receivedAt": stamp, "alias": alias,
                "envelope": {"mailFrom": sender, "rcptTo": [alias]},
                "from": {"email": sender, "name": name}, "to": [{"email": alias, "name": None}], "cc": [],
                "replyTo": [], "subject": subject, "text": text, "html": None,
                "headers": {"dkim": "pass", "spf": "pass", "dmarc": "pass"}, "spamScore": 0.4,
                "attachments": [], "thread": {"inReplyTo": None, "references": []},
            }
        elif variant == 1:
            message = {
                "id": msg_id, "message_id": f"<m{i}@company{i % 37}.example>", "received_at": stamp,
                "alias": alias, "envelope": {"mail_from": sender, "rcpt_to": [alias]},
                "from": f"{name} <{sender}>", "to": [alias], "cc": "someone@else.example", "subject": subject,
                "text": text, "headers": {"dkim_pass": True, "spf_pass": i % 3 != 0}, "spam_score": "1.5",
                "thread": {"in_reply_to": None, "references": []}, "unknown_extra": {"kept": True},
            }
        elif variant == 2:
            message = {
                "id": msg_id, "receivedAt": stamp.replace("Z", "+00:00"), "alias": alias,
                "from": sender, "to": alias, "subject": subject, "html": f"<p>{text}</p>",
                "headers": {"Authentication-Results": "mx.example; dkim=pass; spf=softfail; dmarc=none"},
            }
        else:
            message = {
                "id": msg_id, "message_id": f"<m{i}@company{i % 37}.example>", "received_at": stamp,
                "alias": alias, "from": {"email": sender, "name": name}, "to": [{"email": alias}],
                "subject": subject, "text": text, "spam_score": None,
            }
        if raw_every and i % raw_every == raw_every - 1:
            message["rawUrl" if variant % 2 == 0 else "raw_url"] = f"{{base_url}}/v1/messages/{msg_id}/raw"
            raw_mime[msg_id] = (
                f"Delivered-To: {alias}\r\nReceived: from mx by mx.yourcompany.example; "
                f"{received.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
                f"From: {name} <{sender}>\r\nTo: {alias}\r\nSubject: {subject}\r\n"
                f"Message-ID: <m{i}@company{i % 37}.example>\r\n"
                f"Date: {received.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            ).encode()
        if attachment_every and i % attachment_every == 0:
            content = f"%PDF-1.4 requirements of inquiry {i}".encode()
            files[f"att-{i}.pdf"] = content
            message.setdefault("attachments", [])
            message["attachments"] = [{
                "filename": f"requirements-{i}.pdf", "contentType": "application/pdf", "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(), "disposition": "attachment", "contentId": None,
                "downloadUrl": f"{{base_url}}/files/att-{i}.pdf",
            }]
        messages.append(message)
    return messages, raw_mime, files
