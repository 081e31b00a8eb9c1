"""Tests for lead_pipeline.mail.sources.iter_raw_messages."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from lead_pipeline.mail.mime import parse_message
from lead_pipeline.mail.sources import RawMessage, iter_raw_messages


def make_message(subject: str, body: str = "Hello\n", sender: str = "alex@acme.example") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "demo@yourcompany.example"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def subjects(messages: list[RawMessage]) -> list[str]:
    return [parse_message(m.raw)["subject"] for m in messages]


def test_single_eml_file(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    raw = make_message("single").as_bytes()
    path.write_bytes(raw)
    (message,) = list(iter_raw_messages(path))
    assert message == RawMessage(source_ref=str(path), raw=raw)
    (same,) = list(iter_raw_messages(str(path)))  # str paths work too
    assert same == message


def test_raw_message_is_frozen() -> None:
    message = RawMessage("ref", b"x")
    with pytest.raises(AttributeError):
        message.raw = b"y"  # type: ignore[misc]


def test_missing_path_raises_at_call_time(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "inbox.mbox"
    with pytest.raises(FileNotFoundError, match="mail source not found.*nope"):
        iter_raw_messages(missing)  # no iteration needed


def test_folder_reads_eml_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    files = {
        "z-last.eml": "z",
        "b/2.eml": "b2",
        "b/1.EML": "b1",
        "a/deeper/x.eml": "ax",
        "a/0.eml": "a0",
    }
    for rel, subject in files.items():
        (tmp_path / rel).write_bytes(make_message(subject).as_bytes())
    (tmp_path / "notes.txt").write_text("not mail")
    (tmp_path / "a" / "image.png").write_bytes(b"\x89PNG")
    messages = list(iter_raw_messages(tmp_path))
    assert [Path(m.source_ref).relative_to(tmp_path).as_posix() for m in messages] == [
        "a/0.eml", "a/deeper/x.eml", "b/1.EML", "b/2.eml", "z-last.eml",
    ]
    assert subjects(messages) == ["a0", "ax", "b1", "b2", "z"]


def test_folder_is_read_lazily(tmp_path: Path) -> None:
    for name in ("1.eml", "2.eml", "3.eml"):
        (tmp_path / name).write_bytes(make_message(name).as_bytes())
    it = iter_raw_messages(tmp_path)
    first = next(it)
    assert first.source_ref.endswith("1.eml")
    (tmp_path / "2.eml").unlink()  # not read yet, so it is simply not there any more
    assert [m.source_ref.rsplit("/", 1)[-1] for m in it] == ["3.eml"]


def test_empty_folder_yields_nothing(tmp_path: Path) -> None:
    assert list(iter_raw_messages(tmp_path)) == []


def test_mbox(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    for subject in ("first", "second", "third"):
        box.add(make_message(subject, body=f"From the {subject} message\nFrom here on, more text\n"))
    box.flush()
    box.close()
    messages = list(iter_raw_messages(path))
    assert [m.source_ref for m in messages] == [f"{path}#0", f"{path}#1", f"{path}#2"]
    assert subjects(messages) == ["first", "second", "third"]
    for message in messages:
        assert not message.raw.startswith(b"From ")  # the mbox separator line is not part of the message
        assert parse_message(message.raw)["from"]["email"] == "alex@acme.example"
    assert "From here on" in parse_message(messages[1].raw)["text"]


def test_eml_file_with_mbox_from_line_is_read_as_mbox(tmp_path: Path) -> None:
    path = tmp_path / "exported.eml"
    path.write_bytes(b"From alex@acme.example Tue Nov  3 09:12:44 2026\n" + make_message("exported").as_bytes())
    (message,) = list(iter_raw_messages(path))
    assert message.source_ref == f"{path}#0"
    assert subjects([message]) == ["exported"]


def test_maildir(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(str(root))
    keys = [box.add(make_message(f"md-{i}")) for i in range(3)]
    # one message already seen by an MUA: moved to cur/ with flags
    seen = mailbox.MaildirMessage(make_message("md-seen"))
    seen.set_subdir("cur")
    seen.add_flag("S")
    keys.append(box.add(seen))
    box.close()
    messages = list(iter_raw_messages(root))
    assert len(messages) == 4
    assert sorted(subjects(messages)) == ["md-0", "md-1", "md-2", "md-seen"]
    for message in messages:
        path = Path(message.source_ref)
        assert path.is_file() and path.parent.name in ("new", "cur")
        assert path.read_bytes().replace(b"\r\n", b"\n") == message.raw.replace(b"\r\n", b"\n")
    assert [Path(m.source_ref).name.split(":")[0] for m in messages] == sorted(keys)


def test_maildir_is_not_searched_for_eml_files(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(str(root))
    box.add(make_message("in maildir"))
    box.close()
    (root / "export.eml").write_bytes(make_message("loose eml").as_bytes())
    assert subjects(list(iter_raw_messages(root))) == ["in maildir"]


def test_folder_with_only_some_maildir_subfolders_is_a_plain_folder(tmp_path: Path) -> None:
    (tmp_path / "cur").mkdir()
    (tmp_path / "cur" / "x.eml").write_bytes(make_message("plain").as_bytes())
    assert subjects(list(iter_raw_messages(tmp_path))) == ["plain"]
