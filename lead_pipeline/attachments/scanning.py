"""Malware scanning of attachment bytes by ClamAV's daemon (clamd), over its socket.

clamd's INSTREAM command: the bytes in chunks, each prefixed by its length (4 bytes, network
order), ended by a zero-length chunk; clamd answers `stream: OK`, `stream: <signature> FOUND` or
`... ERROR`. Bytes larger than clamd's `StreamMaxLength` (25 MB by default) are an error, so that
setting must be at least the per-file attachment limit.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

CLEAN, INFECTED, ERROR, UNSCANNED = "clean", "infected", "error", "unscanned"
SCAN_STATUSES = (CLEAN, INFECTED, ERROR, UNSCANNED)
_CHUNK = 1 << 16
_MAX_REPLY = 4096


@dataclass(frozen=True)
class ScanVerdict:
    status: str  # one of SCAN_STATUSES
    detail: str | None = None  # the signature found, or what went wrong


class NoScanner:
    """No scanner configured: every file is `unscanned`, said plainly rather than implied clean."""

    configured = False

    def scan(self, content: bytes) -> ScanVerdict:
        return ScanVerdict(UNSCANNED, "no malware scanner configured (CLAMD_URL unset)")


class ClamdScanner:
    """clamd at `unix:///run/clamav/clamd.ctl` (or a bare socket path) or `tcp://host:3310`."""

    configured = True

    def __init__(self, address: str, timeout_s: float = 60.0):
        self.address = address
        self.timeout_s = timeout_s

    def scan(self, content: bytes) -> ScanVerdict:
        try:
            reply = self._instream(content)
        except OSError as exc:
            return ScanVerdict(ERROR, f"clamd unreachable at {self.address}: {exc}")
        return _verdict(reply)

    def ping(self) -> bool:
        try:
            with self._connect() as conn:
                conn.sendall(b"zPING\0")
                return _read_reply(conn) == "PONG"
        except OSError:
            return False

    def _instream(self, content: bytes) -> str:
        with self._connect() as conn:
            conn.sendall(b"zINSTREAM\0")
            view = memoryview(content)
            for start in range(0, len(view), _CHUNK):
                chunk = view[start:start + _CHUNK]
                conn.sendall(struct.pack("!I", len(chunk)))
                conn.sendall(chunk)
            conn.sendall(struct.pack("!I", 0))
            return _read_reply(conn)

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.address)
        if parts.scheme == "tcp":
            return socket.create_connection((parts.hostname, parts.port or 3310), timeout=self.timeout_s)
        path = parts.path if parts.scheme == "unix" else self.address
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(self.timeout_s)
        try:
            conn.connect(path)
        except OSError:
            conn.close()
            raise
        return conn


def scanner_for(address: str | None) -> ClamdScanner | NoScanner:
    return ClamdScanner(address) if address else NoScanner()


def _read_reply(conn: socket.socket) -> str:
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < _MAX_REPLY:
        chunk = conn.recv(_MAX_REPLY)
        if not chunk:
            break
        reply += chunk
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> ScanVerdict:
    # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    result = reply.split(": ", 1)[-1] if reply.startswith("stream:") else reply
    if result == "OK":
        return ScanVerdict(CLEAN)
    if result.endswith(" FOUND"):
        return ScanVerdict(INFECTED, result.removesuffix(" FOUND"))
    return ScanVerdict(ERROR, f"clamd: {reply or 'no answer'}")
