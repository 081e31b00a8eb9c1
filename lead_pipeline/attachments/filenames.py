"""Attachment file names made safe to show, store and hand to a download: no directories, no control
characters, nothing a file system reserves."""

from __future__ import annotations

import re
import unicodedata

FALLBACK_NAME = "attachment"
MAX_NAME_BYTES = 200  # below every common file system's 255-byte limit, with room for a suffix
_MAX_EXTENSION_CHARS = 16
_SEPARATORS_RE = re.compile(r"[\\/]")
# Characters Windows refuses in names, and whitespace runs.
_FORBIDDEN_RE = re.compile(r'[<>:"|?*]')
_SPACES_RE = re.compile(r"\s+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{n}" for device in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)


def sanitise_filename(name: str | None, fallback: str = FALLBACK_NAME) -> str:
    """The last path component of `name`, without control or format characters (bidi overrides that
    disguise `exe` as `pdf` included), characters Windows forbids, leading dots or trailing dots and
    spaces; a Windows device name gets a `_` prefix; capped at MAX_NAME_BYTES of UTF-8 keeping the
    extension. Empty or nothing left: `fallback`."""
    if not name:
        return fallback
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    text = _SEPARATORS_RE.split(text)[-1]
    text = _SPACES_RE.sub(" ", _FORBIDDEN_RE.sub("_", text)).strip()
    text = text.lstrip(". ").rstrip(". ")
    if not text:
        return fallback
    stem, dot, extension = text.rpartition(".")
    if not dot or len(extension) > _MAX_EXTENSION_CHARS or not stem:
        stem, extension = text, ""
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return _capped(stem, extension)


def _capped(stem: str, extension: str) -> str:
    suffix = f".{extension}" if extension else ""
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", "ignore").rstrip(". ") or FALLBACK_NAME
    return stem + suffix
