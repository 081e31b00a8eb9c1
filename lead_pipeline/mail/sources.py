"""Read raw RFC 5322 messages from .eml files, folders, mbox files and Maildirs.

Plain Python, no Dagster. Everything is a generator: one message's bytes in memory at a time.
"""

from __future__ import annotations

import mailbox
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["RawMessage", "iter_raw_messages"]


@dataclass(frozen=True)
class RawMessage:
    source_ref: str  # file path, or "path/to/mbox#<index>", or Maildir key path
    raw: bytes


def iter_raw_messages(path: str | os.PathLike) -> Iterator[RawMessage]:
    """Yield every message found at ``path``.

    * a Maildir (folder with ``cur``/``new``/``tmp``): its messages via :class:`mailbox.Maildir`,
      sorted by key; ``source_ref`` is the message file's path;
    * any other folder: every ``*.eml`` file below it (recursively, sorted by path);
    * an mbox file (first line starts with ``From ``): each message via
      :class:`mailbox.mbox`, ``source_ref`` is ``"<path>#<index>"`` (0-based);
    * any other file: one message, the whole file.

    Raises :class:`FileNotFoundError` at call time if ``path`` does not exist.
    """
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"mail source not found: {str(p)!r} (expected an .eml file, a folder, an mbox file or a Maildir)")
    if p.is_dir():
        if _is_maildir(p):
            return _iter_maildir(p)
        return _iter_eml_folder(p)
    if _is_mbox(p):
        return _iter_mbox(p)
    return _iter_single(p)


def _is_maildir(p: Path) -> bool:
    return all((p / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(p: Path) -> bool:
    with p.open("rb") as fh:
        return fh.read(5) == b"From "


def _iter_single(p: Path) -> Iterator[RawMessage]:
    yield RawMessage(source_ref=str(p), raw=p.read_bytes())


def _iter_eml_folder(root: Path) -> Iterator[RawMessage]:
    """``*.eml`` files below ``root`` in path order (directory entries sorted by name).

    Only one directory listing per nesting level is held; files are read one at a time.
    Symlinked directories are not followed (no loops).
    """
    stack: list[Iterator[os.DirEntry]] = [iter(_sorted_entries(root))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.is_dir(follow_symlinks=False):
            stack.append(iter(_sorted_entries(Path(entry.path))))
        elif entry.name.lower().endswith(".eml") and entry.is_file():
            try:
                raw = Path(entry.path).read_bytes()
            except FileNotFoundError:
                continue  # removed since the directory was listed
            yield RawMessage(source_ref=entry.path, raw=raw)


def _sorted_entries(directory: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _iter_mbox(p: Path) -> Iterator[RawMessage]:
    box = mailbox.mbox(str(p), create=False)
    try:
        for index, key in enumerate(box.iterkeys()):  # the table of contents holds offsets only
            yield RawMessage(source_ref=f"{p}#{index}", raw=box.get_bytes(key))
    finally:
        box.close()


def _iter_maildir(p: Path) -> Iterator[RawMessage]:
    box = mailbox.Maildir(str(p), factory=None, create=False)
    try:
        for key in sorted(box.iterkeys()):
            try:
                raw = box.get_bytes(key)
            except (KeyError, FileNotFoundError):
                continue  # delivered/moved by an MUA while we were reading
            yield RawMessage(source_ref=_maildir_path(box, p, key), raw=raw)
    finally:
        box.close()


def _maildir_path(box: mailbox.Maildir, root: Path, key: str) -> str:
    # mailbox.Maildir exposes no public key -> file mapping; _lookup is stable since Python 2.
    try:
        return str(root / box._lookup(key))  # noqa: SLF001
    except Exception:  # noqa: BLE001
        return f"{root}#{key}"
