import pytest

from lead_pipeline.compliance.identity import REDACTED_ADDRESS, Subject, email_hash, load_salt


def test_an_address_matches_in_any_case_but_never_inside_a_longer_address():
    subject = Subject.of(" Ana@X.example ")
    assert subject.email == "ana@x.example"
    assert subject.mentioned_in("Cc: <ANA@x.Example>, bob@y.example")
    assert subject.mentioned_in(b"From: ana@x.example\r\n")
    assert not subject.mentioned_in("dana@x.example")
    assert not subject.mentioned_in("ana@x.example.com")
    assert not subject.mentioned_in("ana@x.examples")
    assert subject.redact(b"To: Ana@x.Example, dana@x.example") == f"To: {REDACTED_ADDRESS}, dana@x.example".encode()
    assert subject.scrub("key (ana@x.example) violates") == "key (<subject>) violates"
    with pytest.raises(ValueError):
        Subject.of("not-an-address")


def test_the_salt_is_generated_once_per_install_unless_configured(tmp_path):
    generated = load_salt(tmp_path)
    assert load_salt(tmp_path) == generated and len(generated) == 64
    assert (tmp_path / "erasure_salt").stat().st_mode & 0o777 == 0o600
    assert load_salt(tmp_path, "configured") == b"configured"
    assert email_hash(generated, "Ana@x.example") == email_hash(generated, "ana@x.example")
    assert email_hash(generated, "ana@x.example") != email_hash(b"configured", "ana@x.example")
