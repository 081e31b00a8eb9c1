"""Who a request is about: the normalised address, its keyed hash, and how to find it in text or bytes."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SALT_FILE = "erasure_salt"
# What an erased address becomes where it is only mentioned (another person's mail copied it):
# still an address, so re-parsing a redacted message works, in a domain reserved never to exist.
REDACTED_ADDRESS = "erased@erased.invalid"
# Characters that would make a match part of a longer address ("ana@x.example" inside "dana@x.example").
_LOCAL = r"A-Za-z0-9._%+\-"
_DOMAIN = r"A-Za-z0-9\-"


def normalise_email(address: str) -> str:
    return address.strip().lower()


def load_salt(home: Path, configured: str | None = None) -> bytes:
    """`LEAD_ERASURE_SALT` when set, else a secret generated once per install under `LEAD_PIPELINE_HOME`.

    Several hosts sharing one PostgreSQL store must share the salt (set the variable), or each
    recognises only the erasures it made.
    """
    if configured:
        return configured.encode()
    path = home / SALT_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and linked into place, so a concurrent first use never reads it half-written.
        partial = path.with_name(f".{SALT_FILE}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(partial, path)  # fails if another process won the race: its salt is the one
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_text().strip().encode()


def email_hash(salt: bytes, address: str) -> str:
    return hmac.new(salt, normalise_email(address).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Subject:
    """One person's address, with matchers that ignore case and longer addresses containing it."""

    email: str

    @classmethod
    def of(cls, address: str) -> Subject:
        email = normalise_email(address)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise ValueError("not an email address")
        return cls(email)

    @cached_property
    def _text(self) -> re.Pattern[str]:
        return re.compile(
            rf"(?<![{_LOCAL}]){re.escape(self.email)}(?![{_DOMAIN}]|\.[{_DOMAIN}])", re.IGNORECASE
        )

    @cached_property
    def _bytes(self) -> re.Pattern[bytes]:
        return re.compile(self._text.pattern.encode(), re.IGNORECASE)

    def mentioned_in(self, value: object) -> bool:
        if isinstance(value, str):
            return bool(self._text.search(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bool(self._bytes.search(bytes(value)))
        return False

    def redact(self, value: object) -> object:
        if isinstance(value, str):
            return self._text.sub(REDACTED_ADDRESS, value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._bytes.sub(REDACTED_ADDRESS.encode(), bytes(value))
        return value

    def scrub(self, message: str) -> str:
        """An error message safe for run logs: every occurrence replaced, even inside a longer word."""
        return re.sub(re.escape(self.email), "<subject>", message, flags=re.IGNORECASE)
