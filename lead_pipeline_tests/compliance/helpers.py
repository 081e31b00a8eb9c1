"""Independent searches of every store for an address, and a pipeline run over a chosen inbox."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import duckdb
import sqlalchemy as sa

from lead_pipeline.settings import SAMPLE_INBOX
from lead_pipeline.stores.blobs import BlobStore


def _mentions(value: object, needle: str) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return needle.encode() in bytes(value).lower()
    return value is not None and needle in str(value).lower()


def search_operational(url: str, needle: str) -> set[tuple[str, tuple]]:
    """(table, primary key) of every row of every table whose any column contains `needle`, by reflection."""
    engine = sa.create_engine(url)
    found = set()
    try:
        reflected = sa.MetaData()
        reflected.reflect(engine)
        with engine.connect() as conn:
            for table in reflected.sorted_tables:
                keys = [c.name for c in table.primary_key.columns]
                for row in conn.execute(sa.select(table)).mappings():
                    if any(_mentions(value, needle) for value in row.values()):
                        found.add((table.name, tuple(row[k] for k in keys)))
    finally:
        engine.dispose()
    return found


def search_warehouse(path: Path, needle: str) -> set[tuple[str, tuple]]:
    found = set()
    with duckdb.connect(str(path), read_only=True) as conn:
        keys = dict(conn.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall())
        for (table,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            cursor = conn.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                if any(_mentions(value, needle) for value in values):
                    found.add((table, tuple(str(row[k]) for k in keys.get(table, names))))
    return found


def files_mentioning(root: Path, needle: str) -> list[str]:
    """Every file under `root` (databases, their WAL files, blobs, Dagster's run storage) holding the bytes."""
    return [str(p) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes().lower()]


def mail(sender: str, subject: str, body: str, when: datetime, *, cc: str | None = None,
         attachments: dict[str, bytes] | None = None, to: str = "sales@yourcompany.example") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{abs(hash((sender, subject, when)))}@mail.example>"
    message["Delivered-To"] = to
    message.set_content(body)
    for name, content in (attachments or {}).items():
        message.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def inbox_of(tmp_path: Path, names: list[str] | None, extra: dict[str, bytes]) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted(SAMPLE_INBOX.glob("*.eml")):
        if names is None or any(path.name.startswith(prefix) for prefix in names):
            shutil.copy(path, inbox / path.name)
    for name, raw in extra.items():
        (inbox / name).write_bytes(raw)
    return inbox


def store_inbox_attachments(inbox: Path, blobs: BlobStore) -> dict[str, str]:
    """Put every attachment of the inbox into the blob store (as a source that fetches them would): name → sha256."""
    stored = {}
    for path in sorted(inbox.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in parsed.iter_attachments():
            stored[part.get_filename()] = blobs.put(part.get_payload(decode=True))
    return stored
