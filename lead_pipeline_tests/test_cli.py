import json
import mailbox
import subprocess
import sys
from pathlib import Path

from lead_pipeline.cli import main
from lead_pipeline.settings import SAMPLE_INBOX

FIXTURES = Path(__file__).parent / "fixtures"


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_parse_a_folder_gives_one_json_line_per_message_with_derived_fields(capsys):
    assert main(["parse", str(SAMPLE_INBOX)]) == 0
    lines = _lines(capsys)
    assert len(lines) == len(list(SAMPLE_INBOX.glob("*.eml")))
    for line in lines:
        assert {"messageId", "from", "replyText", "signature", "language", "contentHash", "warnings"} <= set(line)
        assert len(line["contentHash"]) == 64


def test_parse_reports_an_unparseable_file_on_its_line_and_strict_fails(capsys):
    broken = FIXTURES / "malformed" / "corrupt-upload.eml"
    good = next(iter(sorted(SAMPLE_INBOX.glob("*.eml"))))
    assert main(["parse", str(good), str(broken)]) == 0
    ok, bad = _lines(capsys)
    assert "error" not in ok
    assert bad["source"] == str(broken) and bad["error"]
    assert main(["parse", "--strict", str(broken)]) == 1


def test_parse_reads_mbox_and_stdin(tmp_path, capsys):
    sample = sorted(SAMPLE_INBOX.glob("*.eml"))[:3]
    box = mailbox.mbox(tmp_path / "inbox.mbox")
    for path in sample:
        box.add(path.read_bytes())
    box.flush()
    assert main(["parse", str(tmp_path / "inbox.mbox"), str(tmp_path / "missing.eml")]) == 0
    lines = _lines(capsys)
    assert [line.get("source") for line in lines[:3]] == [f"{tmp_path / 'inbox.mbox'}#{i}" for i in range(3)]
    assert "error" in lines[3]

    result = subprocess.run(
        [sys.executable, "-m", "lead_pipeline", "parse", "-"], input=sample[0].read_bytes(),
        capture_output=True, check=True,
    )
    [line] = [json.loads(text) for text in result.stdout.decode().splitlines()]
    assert line["source"] == "-" and line["from"]["email"]
