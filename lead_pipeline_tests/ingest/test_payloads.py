"""Tolerant validation of MailParse messages (`mailparse-api.md` §1): one test per tolerance rule."""

import json

import pytest

from lead_pipeline.ingest.formats import PARSERS, parse_payload
from lead_pipeline.ingest.payloads import canonical_json, normalise_payload, safe_key
from lead_pipeline.mail.mime import MessageRejected, synthetic_message_id

CONTRACT_EXAMPLE = {
    "id": "msg_01HV",
    "messageId": "<demo-1234@mx.yourcompany.example>",
    "receivedAt": "2026-04-17T14:22:11Z",
    "alias": "demo@yourcompany.example",
    "envelope": {"mailFrom": "alex@example.com", "rcptTo": ["demo@yourcompany.example"]},
    "from": {"email": "alex@example.com", "name": "Alex Chen"},
    "to": [{"email": "demo@yourcompany.example", "name": "Demo"}],
    "cc": [],
    "replyTo": [],
    "subject": "Requesting a product demo",
    "text": "Hi, we are evaluating your API for a new project...",
    "html": "<p>Hi, we are evaluating your API...</p>",
    "headers": {"dkim": "pass", "spf": "pass", "dmarc": "pass"},
    "spamScore": 0.4,
    "attachments": [{
        "filename": "requirements.pdf", "contentType": "application/pdf", "size": 48321, "sha256": "6f" * 32,
        "disposition": "attachment", "contentId": None, "downloadUrl": "https://files.example/att/abc123",
    }],
    "thread": {"inReplyTo": None, "references": []},
    "rawUrl": "https://files.example/raw/msg_01HV",
}

SNAKE_CASE = {
    "id": "msg_01HV",
    "message_id": "<demo-1234@mx.yourcompany.example>",
    "received_at": "2026-04-17T14:22:11Z",
    "alias": "demo@yourcompany.example",
    "envelope": {"mail_from": "alex@example.com", "rcpt_to": ["demo@yourcompany.example"]},
    "from": {"email": "alex@example.com", "name": "Alex Chen"},
    "to": [{"email": "demo@yourcompany.example", "name": "Demo"}],
    "cc": [],
    "reply_to": [],
    "subject": "Requesting a product demo",
    "text": "Hi, we are evaluating your API for a new project...",
    "html": "<p>Hi, we are evaluating your API...</p>",
    "headers": {"dkim": "pass", "spf": "pass", "dmarc": "pass"},
    "spam_score": 0.4,
    "attachments": [{
        "filename": "requirements.pdf", "content_type": "application/pdf", "size": 48321, "sha256": "6f" * 32,
        "disposition": "attachment", "content_id": None, "download_url": "https://files.example/att/abc123",
    }],
    "thread": {"in_reply_to": None, "references": []},
    "raw_url": "https://files.example/raw/msg_01HV",
}


def test_the_contract_example_comes_out_unchanged_plus_an_empty_warning_list():
    message = normalise_payload(CONTRACT_EXAMPLE)
    expected = {**CONTRACT_EXAMPLE, "headers": {**CONTRACT_EXAMPLE["headers"], "autoSubmitted": None}}
    assert message == {**expected, "warnings": []}


def test_snake_case_spellings_give_the_same_message():
    assert normalise_payload(SNAKE_CASE) == normalise_payload(CONTRACT_EXAMPLE)


def test_from_as_a_string_and_to_cc_as_strings_or_lists_of_strings():
    message = normalise_payload({
        **CONTRACT_EXAMPLE,
        "from": "Alex Chen <alex@Example.COM>",
        "to": "Demo <demo@yourcompany.example>, sales@yourcompany.example",
        "cc": ["Pat <pat@example.com>", "lee@example.com", {"email": "kim@example.com", "name": "Kim"}],
        "replyTo": "alex.private@example.com",
    })
    assert message["from"] == {"email": "alex@example.com", "name": "Alex Chen"}
    assert message["to"] == [
        {"email": "demo@yourcompany.example", "name": "Demo"},
        {"email": "sales@yourcompany.example", "name": None},
    ]
    assert message["cc"] == [
        {"email": "pat@example.com", "name": "Pat"},
        {"email": "lee@example.com", "name": None},
        {"email": "kim@example.com", "name": "Kim"},
    ]
    assert message["replyTo"] == [{"email": "alex.private@example.com", "name": None}]


def test_a_bare_from_address_and_a_near_miss_are_read():
    assert normalise_payload({"from": "alex@example.com"})["from"] == {"email": "alex@example.com", "name": None}
    assert normalise_payload({"from": "Alex Chen alex@example.com"})["from"] == {
        "email": "alex@example.com", "name": "Alex Chen"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"dkim_pass": True, "spf_pass": False}, {"dkim": "pass", "spf": "fail", "dmarc": None}),
        ({"DKIM": "PASS", "spf": "softfail (domain of transitioning)"}, {"dkim": "pass", "spf": "softfail",
                                                                        "dmarc": None}),
        ({"Authentication-Results": "mx.example.com; dkim=pass header.d=example.com; spf=neutral; dmarc=fail"},
         {"dkim": "pass", "spf": "neutral", "dmarc": "fail"}),
        ({"authentication_results": "mx; spf=pass smtp.mailfrom=a.example", "dkim_pass": False},
         {"dkim": "fail", "spf": "pass", "dmarc": None}),
        ([{"name": "Authentication-Results", "value": "mx; dkim=fail; dkim=pass; dmarc=pass"},
          ["Received-SPF", "Pass (sender authorised)"]], {"dkim": "pass", "spf": "pass", "dmarc": "pass"}),
    ],
)
def test_headers_as_verdicts_booleans_or_raw_authentication_results(headers, expected):
    message = normalise_payload({"from": "a@b.example", "headers": headers})
    assert {k: message["headers"][k] for k in ("dkim", "spf", "dmarc")} == expected


def test_missing_optional_fields_are_null_and_lists_empty_never_an_error():
    message = normalise_payload({"from": "alex@example.com", "text": "hello"})
    assert message["id"] is None and message["receivedAt"] is None and message["alias"] is None
    assert message["subject"] is None and message["html"] is None and message["spamScore"] is None
    assert message["rawUrl"] is None
    assert message["to"] == [] and message["cc"] == [] and message["replyTo"] == [] and message["attachments"] == []
    assert message["envelope"] == {"mailFrom": None, "rcptTo": []}
    assert message["thread"] == {"inReplyTo": None, "references": []}
    assert message["headers"] == {"dkim": None, "spf": None, "dmarc": None, "autoSubmitted": None}
    assert normalise_payload({**CONTRACT_EXAMPLE, "attachments": [{"filename": "x.txt"}]})["attachments"] == [{
        "filename": "x.txt", "contentType": None, "size": None, "sha256": None, "disposition": None,
        "contentId": None, "downloadUrl": None}]


def test_no_message_id_gets_a_deterministic_synthetic_one_and_a_warning():
    payload = {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "messageId"}
    first, again = normalise_payload(payload), normalise_payload(dict(payload))
    assert first["messageId"] == again["messageId"] == synthetic_message_id(
        "alex@example.com", "2026-04-17T14:22:11Z", CONTRACT_EXAMPLE["text"])
    assert first["warnings"] == ["synthetic_message_id"]
    other = normalise_payload({**payload, "text": "a different body"})
    assert other["messageId"] != first["messageId"]
    assert normalise_payload({**payload, "messageId": "  "})["messageId"] == first["messageId"]


@pytest.mark.parametrize(
    "value",
    ["2026-04-17T16:22:11+02:00", "2026-04-17T14:22:11.987Z", "Fri, 17 Apr 2026 10:22:11 -0400", 1776435731,
     "1776435731", 1776435731000],
)
def test_received_at_is_normalised_to_utc_seconds(value):
    assert normalise_payload({"from": "a@b.example", "receivedAt": value})["receivedAt"] == "2026-04-17T14:22:11Z"


def test_a_naive_received_at_is_read_as_utc_with_a_warning():
    message = normalise_payload({"from": "a@b.example", "received_at": "2026-04-17T14:22:11"})
    assert message["receivedAt"] == "2026-04-17T14:22:11Z"
    assert "received_at_without_timezone" in message["warnings"]


def test_unknown_fields_are_ignored_by_validation_and_kept_in_the_canonical_bytes():
    payload = {**CONTRACT_EXAMPLE, "x_vendor": {"score": 3}, "futureField": [1, 2]}
    assert normalise_payload(payload) == normalise_payload(CONTRACT_EXAMPLE)
    landed = json.loads(canonical_json(payload))
    assert landed["x_vendor"] == {"score": 3} and landed["futureField"] == [1, 2]


def test_canonical_bytes_do_not_depend_on_key_order():
    reordered = dict(reversed(list(CONTRACT_EXAMPLE.items())))
    assert canonical_json(reordered) == canonical_json(CONTRACT_EXAMPLE)
    assert canonical_json({"s": "\ud800"}) == b'{"s":"\\ud800"}'  # a lone surrogate stays valid JSON


def test_attachment_and_thread_variants():
    message = normalise_payload({
        "from": "a@b.example",
        "attachments": [{"name": "logo.png", "mime_type": "image/png", "size": "512", "content_id": "<logo1>",
                         "disposition": "INLINE", "url": "https://f.example/1"}, "garbage"],
        "in_reply_to": "<parent@x.example>",
        "references": "<root@x.example> <parent@x.example>",
    })
    assert message["attachments"] == [{
        "filename": "logo.png", "contentType": "image/png", "size": 512, "sha256": None, "disposition": "inline",
        "contentId": "logo1", "downloadUrl": "https://f.example/1"}]
    assert message["warnings"] == ["synthetic_message_id", "invalid_attachment_dropped"]
    assert message["thread"] == {"inReplyTo": "<parent@x.example>",
                                 "references": ["<root@x.example>", "<parent@x.example>"]}


def test_alias_falls_back_to_the_envelope_recipient_and_is_lowercased():
    message = normalise_payload({"from": "a@b.example", "envelope": {"rcptTo": "Demo@YourCompany.example"}})
    assert message["alias"] == "demo@yourcompany.example"
    assert normalise_payload({"from": "a@b.example", "alias": "Sales@YourCompany.Example"})["alias"] == \
        "sales@yourcompany.example"


def test_sender_falls_back_to_the_envelope_with_a_warning():
    message = normalise_payload({"envelope": {"mail_from": "bounce@b.example"}, "text": "x"})
    assert message["from"] == {"email": "bounce@b.example", "name": None}
    assert "sender_from_envelope" in message["warnings"]


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ([1, 2], "not a JSON object"),
        ("a string", "not a JSON object"),
        ({"subject": "no sender"}, "no sender address"),
        ({"from": "not an address"}, "no sender address"),
        ({"from": {"name": "Nobody"}}, "no sender address"),
        ({"from": "a@b.example", "receivedAt": "yesterday-ish"}, "unparseable receivedAt"),
        ({"from": "a@b.example", "receivedAt": "1850-01-01T00:00:00Z"}, "unparseable receivedAt"),
        ({"from": "a@b.example", "receivedAt": True}, "unparseable receivedAt"),
        ({"from": "a@b.example", "text": {"nested": "object"}}, "text is not a string"),
        ({"from": "a@b.example", "headers": "dkim=pass"}, "headers is not an object"),
    ],
)
def test_invalid_payloads_are_rejected_with_the_reason(payload, what):
    with pytest.raises(MessageRejected) as exc:
        normalise_payload(payload)
    assert exc.value.reason.startswith("invalid_payload: ")
    assert what in exc.value.reason


def test_strings_are_made_safe_for_postgresql_text():
    message = normalise_payload({"from": "a@b.example", "subject": "nul\x00 and \ud800 surrogate"})
    assert message["subject"] == "nul and ? surrogate"


def test_safe_key_hashes_what_the_landing_table_cannot_key_on():
    assert safe_key("msg_1") == "msg_1"
    assert safe_key("x" * 201).startswith("sha256:") and len(safe_key("x" * 201)) == 71
    assert safe_key("bad\x00id").startswith("sha256:")


def test_mailparse_json_is_a_registered_payload_format_with_derived_fields():
    assert {"mime", "mailparse_json", "postmark_json", "sendgrid_form", "mailgun_form"} <= set(PARSERS)
    record = parse_payload("mailparse_json", canonical_json(SNAKE_CASE), "mailparse:msg_01HV")
    assert record["messageId"] == "<demo-1234@mx.yourcompany.example>"
    assert record["from"]["email"] == "alex@example.com"
    assert record["replyText"].startswith("Hi, we are evaluating")
    assert len(record["contentHash"]) == 64 and record["source"] == "mailparse:msg_01HV"
    with pytest.raises(MessageRejected, match=r"^invalid_json: "):
        parse_payload("mailparse_json", b'{"id": "msg_', "x")
    with pytest.raises(MessageRejected, match=r"^invalid_payload: "):
        parse_payload("mailparse_json", b'{"id": "msg_1"}', "x")
