"""Provider adapters (Postmark, SendGrid, Mailgun): payloads shaped as each service documents them, POSTed the
way each service sends them to the real receiver on 127.0.0.1, then parsed from the landed bytes."""

import base64
import copy
import hashlib
import hmac
import json
import time

import httpx
import pytest
import sqlalchemy as sa

from lead_pipeline.ingest.adapters import mailgun, postmark, sendgrid
from lead_pipeline.ingest.adapters.forms import FormError, load_form, parse_form
from lead_pipeline.ingest.formats import parse_payload
from lead_pipeline.ingest.webhook import create_app
from lead_pipeline.mail.mime import MessageRejected
from lead_pipeline.stores import schema
from lead_pipeline.stores.operational import OperationalStore
from lead_pipeline_tests.ingest.servers import running_app

SECRET = "shared-secret"
MAILGUN_KEY = "key-mailgun-current"

# -- documented payloads ---------------------------------------------------------------------------

# Postmark's inbound webhook example (postmarkapp.com/developer/webhooks/inbound-webhook).
POSTMARK_EXAMPLE = {
    "FromName": "Postmarkapp Support",
    "MessageStream": "inbound",
    "From": "support@postmarkapp.com",
    "FromFull": {"Email": "support@postmarkapp.com", "Name": "Postmarkapp Support", "MailboxHash": ""},
    "To": '"Firstname Lastname" <yourhash+SampleHash@inbound.postmarkapp.com>',
    "ToFull": [{"Email": "yourhash+SampleHash@inbound.postmarkapp.com", "Name": "Firstname Lastname",
                "MailboxHash": "SampleHash"}],
    "Cc": '"First Cc" <firstcc@postmarkapp.com>, secondCc@postmarkapp.com>',
    "CcFull": [{"Email": "firstcc@postmarkapp.com", "Name": "First Cc", "MailboxHash": ""},
               {"Email": "secondCc@postmarkapp.com", "Name": "", "MailboxHash": ""}],
    "Bcc": '"First Bcc" <firstbcc@postmarkapp.com>',
    "BccFull": [{"Email": "firstbcc@postmarkapp.com", "Name": "First Bcc", "MailboxHash": ""}],
    "OriginalRecipient": "yourhash+SampleHash@inbound.postmarkapp.com",
    "Subject": "Test subject",
    "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
    "ReplyTo": "replyto@postmarkapp.com",
    "MailboxHash": "SampleHash",
    "Date": "Fri, 1 Aug 2014 16:45:32 -04:00",
    "TextBody": "This is a test text body.",
    "HtmlBody": "<html><body><p>This is a test html body.</p></body></html>",
    "StrippedTextReply": "This is the reply text",
    "Tag": "TestTag",
    "Headers": [
        {"Name": "X-Header-Test", "Value": ""},
        {"Name": "X-Spam-Status", "Value": "No"},
        {"Name": "X-Spam-Score", "Value": "-0.1"},
        {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"},
    ],
    "Attachments": [
        {"Name": "test.txt", "Content": "VGhpcyBpcyBhdHRhY2htZW50IGNvbnRlbnRzLCBiYXNlLTY0IGVuY29kZWQu",
         "ContentType": "text/plain", "ContentLength": 45},
    ],
}

# SendGrid Inbound Parse, default (parsed) mode: the form fields of the documented example payload.
SENDGRID_FIELDS = {
    "headers": (
        "MIME-Version: 1.0\nReceived: by 0.0.0.0 with HTTP; Wed, 10 Aug 2016 18:10:13 -0700 (PDT)\n"
        "From: Example User <test@example.com>\nDate: Wed, 10 Aug 2016 18:10:13 -0700\n"
        "Subject: Inbound Parse Test Data\nTo: inbound@inbound.example.com\n"
        "Content-Type: multipart/alternative; boundary=001a113df448cad2d00539c16e89\n"
    ),
    "dkim": "{@sendgrid.com : pass}",
    "content-ids": '{"ii_1562e2169c132d83":"attachment1"}',
    "to": "inbound@inbound.example.com",
    "html": "<html><body><strong>Hello SendGrid!</body></html>\n",
    "from": "Example User <test@example.com>",
    "text": "Hello SendGrid!\n",
    "sender_ip": "0.0.0.0",
    "spam_report": "Spam detection software, running on the system \"mx0042p1mdw1.sendgrid.net\", has\n...",
    "envelope": '{"to":["inbound@inbound.example.com"],"from":"test@example.com"}',
    "attachments": "1",
    "subject": "Testing non-raw",
    "spam_score": "0.012",
    "attachment-info": ('{"attachment1":{"filename":"image.jpg","name":"image.jpg","type":"image/jpeg",'
                        '"content-id":"ii_1562e2169c132d83"}}'),
    "charsets": '{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}',
    "SPF": "pass",
}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4

RAW_EMAIL = (
    b"Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn; Wed, 27 Jul 2016 20:53:06 +0000 (UTC)\r\n"
    b"From: Sender Name <example@example.com>\r\nTo: inbound@inbound.example.com\r\n"
    b"Subject: Test raw\r\nMessage-ID: <raw-1@example.com>\r\nDate: Wed, 27 Jul 2016 14:53:05 -0600\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
    b"Hello, we would like a demo of your product for our team of 40.\r\n"
)
SENDGRID_RAW_FIELDS = {
    "dkim": "{@example.com : pass}",
    "email": RAW_EMAIL.decode(),
    "to": "inbound@inbound.example.com",
    "from": "Sender Name <example@example.com>",
    "sender_ip": "0.0.0.0",
    "spam_report": "...",
    "envelope": '{"to":["inbound@inbound.example.com"],"from":"example@example.com"}',
    "subject": "Test raw",
    "spam_score": "0.011",
    "charsets": '{"to":"UTF-8","subject":"UTF-8","from":"UTF-8"}',
    "SPF": "pass",
}

# Mailgun routes forward(): the documented parameters of a parsed message.
MAILGUN_FIELDS = {
    "recipient": "alice@sandbox.mailgun.example",
    "sender": "bob@sandbox.mailgun.example",
    "from": "Bob <bob@sandbox.mailgun.example>",
    "subject": "Re: Sample POST request",
    "body-plain": "Hi Alice,\n\nThis is Bob. We would like pricing for 200 seats.\n\n> Hello Bob\n\n--\nBob\n",
    "stripped-text": "Hi Alice,\n\nThis is Bob. We would like pricing for 200 seats.",
    "stripped-signature": "Bob",
    "body-html": "<html><body><p>Hi Alice,</p><p>This is Bob. We would like pricing for 200 seats.</p></body></html>",
    "stripped-html": "<html><body><p>Hi Alice,</p><p>This is Bob.</p></body></html>",
    "attachment-count": "0",
    "message-headers": json.dumps([
        ["Received", "by luna.mailgun.net with SMTP mgrt 8734663311733; Fri, 03 May 2013 18:26:27 +0000"],
        ["Content-Type", ["multipart/alternative", {"boundary": "eb663d73ae0a4d6c9153cc0aec8b7520"}]],
        ["Mime-Version", "1.0"],
        ["Subject", "Re: Sample POST request"],
        ["From", "Bob <bob@sandbox.mailgun.example>"],
        ["To", "Alice <alice@sandbox.mailgun.example>"],
        ["Message-Id", "<517ACC75.5010709@sandbox.mailgun.example>"],
        ["In-Reply-To", "<517AC78B.5060404@sandbox.mailgun.example>"],
        ["References", "<517AC78B.5060404@sandbox.mailgun.example>"],
        ["X-Mailgun-Variables", '{"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"}'],
        ["Date", "Fri, 26 Apr 2013 11:50:29 -0700"],
        ["Sender", "bob@sandbox.mailgun.example"],
        ["X-Mailgun-Spf", "Pass"],
        ["X-Mailgun-Dkim-Check-Result", "Pass"],
        ["X-Mailgun-Sscore", "0.3"],
    ]),
    "Message-Id": "<517ACC75.5010709@sandbox.mailgun.example>",
    "To": "Alice <alice@sandbox.mailgun.example>",
    "In-Reply-To": "<517AC78B.5060404@sandbox.mailgun.example>",
    "Date": "Fri, 26 Apr 2013 11:50:29 -0700",
}


def mailgun_signed(fields: dict, key: str = MAILGUN_KEY, *, at: float | None = None, token: str | None = None):
    timestamp = str(int(at or time.time()))
    token = token or hashlib.sha256(f"{timestamp}{time.perf_counter_ns()}".encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


# -- the receiver ---------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    store = OperationalStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.ensure_schema()
    yield store
    store.dispose()


@pytest.fixture
def receiver(store):
    app = create_app(store, secrets=[SECRET, "old-secret"], mailgun_signing_keys=[MAILGUN_KEY, "key-mailgun-old"])
    with running_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def landed(store: OperationalStore) -> list[sa.Row]:
    t = schema.landing
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.landed_at, t.c.delivery_key)))


def parsed(row: sa.Row) -> dict:
    return parse_payload(row.payload_format, bytes(row.raw), row.source_ref)


# -- Postmark -------------------------------------------------------------------------------------


def test_postmark_documented_payload_lands_and_parses(receiver, store):
    body = json.dumps(POSTMARK_EXAMPLE).encode()
    response = receiver.post(f"/webhooks/postmark?token={SECRET}", content=body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 202
    [row] = landed(store)
    assert (row.source, row.payload_format, row.delivery_key) == (
        "postmark", "postmark_json", "73e6d360-66eb-11e1-8e72-a8904824019b")
    assert bytes(row.raw) == body and row.source_alias == "yourhash+samplehash@inbound.postmarkapp.com"
    message = parsed(row)
    assert message["id"] == "73e6d360-66eb-11e1-8e72-a8904824019b"
    assert message["from"] == {"email": "support@postmarkapp.com", "name": "Postmarkapp Support"}
    assert message["to"] == [{"email": "yourhash+SampleHash@inbound.postmarkapp.com", "name": "Firstname Lastname"}]
    assert message["cc"] == [{"email": "firstcc@postmarkapp.com", "name": "First Cc"},
                             {"email": "secondCc@postmarkapp.com", "name": None}]
    assert message["replyTo"] == [{"email": "replyto@postmarkapp.com", "name": None}]
    assert message["alias"] == "yourhash+samplehash@inbound.postmarkapp.com"
    assert message["receivedAt"] == "2014-08-01T20:45:32Z"  # Date, "-04:00" offset and all
    assert (message["subject"], message["text"]) == ("Test subject", "This is a test text body.")
    assert message["html"] == POSTMARK_EXAMPLE["HtmlBody"] and message["spamScore"] == -0.1
    content = b"This is attachment contents, base-64 encoded."
    assert message["attachments"] == [{
        "filename": "test.txt", "contentType": "text/plain", "size": 45, "sha256": hashlib.sha256(content).hexdigest(),
        "disposition": "attachment", "contentId": None, "downloadUrl": None}]
    assert message["messageId"].startswith("<synthetic-")  # no Message-ID header in the example
    assert "synthetic_message_id" in message["warnings"]
    assert message["replyText"] == "This is a test text body." and len(message["contentHash"]) == 64


def test_postmark_headers_inline_images_and_raw_email(store):
    payload = copy.deepcopy(POSTMARK_EXAMPLE)
    payload["Headers"] += [
        {"Name": "Message-ID", "Value": "<CAHb2xVd@mail.gmail.com>"},
        {"Name": "Received-SPF", "Value": "Pass (sender SPF authorized) identity=mailfrom"},
        {"Name": "Authentication-Results", "Value": "mx.postmarkapp.com; dkim=pass header.d=postmarkapp.com; "
                                                     "dmarc=pass"},
        {"Name": "In-Reply-To", "Value": "<parent@postmarkapp.com>"},
        {"Name": "Received", "Value": "by mx.postmarkapp.com; Fri, 1 Aug 2014 20:46:00 +0000"},
    ]
    payload["Attachments"].append({"Name": "logo.png", "Content": base64.b64encode(b"\x89PNG...").decode(),
                                   "ContentType": "image/png", "ContentLength": 7, "ContentID": "logo@01D"})
    message = postmark.to_message(json.dumps(payload).encode())
    assert message["messageId"] == "<CAHb2xVd@mail.gmail.com>" and message["warnings"] == []
    assert {k: message["headers"][k] for k in ("dkim", "spf", "dmarc")} == {"dkim": "pass", "spf": "pass",
                                                                            "dmarc": "pass"}
    assert message["receivedAt"] == "2014-08-01T20:46:00Z"  # the Received header beats the sender's Date
    assert message["thread"]["inReplyTo"] == "<parent@postmarkapp.com>"
    assert message["attachments"][1]["contentId"] == "logo@01D"
    assert message["attachments"][1]["disposition"] == "inline"

    payload["RawEmail"] = RAW_EMAIL.decode()
    from_mime = parse_payload("postmark_json", json.dumps(payload).encode(), "postmark:x")
    assert from_mime["messageId"] == "<raw-1@example.com>" and from_mime["id"] == payload["MessageID"]
    assert from_mime["alias"] == "yourhash+samplehash@inbound.postmarkapp.com"
    assert from_mime["text"].startswith("Hello, we would like a demo")


def test_postmark_credentials_basic_auth_and_replays(receiver, store):
    body = json.dumps(POSTMARK_EXAMPLE).encode()
    assert receiver.post("/webhooks/postmark", content=body).status_code == 401
    assert receiver.post("/webhooks/postmark?token=nope", content=body).status_code == 401
    assert receiver.post("/webhooks/postmark", content=body, auth=("postmark", "wrong")).status_code == 401
    assert receiver.post("/webhooks/postmark", content=body, auth=("postmark", "old-secret")).status_code == 202
    replay = receiver.post(f"/webhooks/postmark?token={SECRET}", content=body)
    assert replay.status_code == 202 and replay.json()["duplicate"] is True
    assert receiver.post(f"/webhooks/postmark?token={SECRET}", content=b"<xml/>").status_code == 400
    assert len(landed(store)) == 1


def test_postmark_invalid_payloads_are_rejected_for_dead_letters():
    with pytest.raises(MessageRejected, match="^invalid_json"):
        parse_payload("postmark_json", b"not json", "x")
    with pytest.raises(MessageRejected, match="^invalid_payload: no sender"):
        parse_payload("postmark_json", json.dumps({"MessageID": "m", "Subject": "?"}).encode(), "x")


# -- SendGrid -------------------------------------------------------------------------------------


def test_sendgrid_documented_default_payload_lands_and_parses(receiver, store):
    response = receiver.post(f"/webhooks/sendgrid?token={SECRET}", data=SENDGRID_FIELDS,
                             files={"attachment1": ("image.jpg", JPEG, "image/jpeg")})
    assert response.status_code == 202
    [row] = landed(store)
    assert (row.source, row.payload_format) == ("sendgrid", "sendgrid_form")
    assert row.delivery_key == "sha256:" + hashlib.sha256(bytes(row.raw)).hexdigest()
    assert row.source_alias == "inbound@inbound.example.com"
    form = load_form(bytes(row.raw))
    assert {name for name, _ in form.fields} == set(SENDGRID_FIELDS)  # every text field kept
    assert form.files[0].content == JPEG

    message = parsed(row)
    assert message["from"] == {"email": "test@example.com", "name": "Example User"}
    assert message["to"] == [{"email": "inbound@inbound.example.com", "name": None}]
    assert message["alias"] == "inbound@inbound.example.com"
    assert message["envelope"] == {"mailFrom": "test@example.com", "rcptTo": ["inbound@inbound.example.com"]}
    assert (message["subject"], message["text"]) == ("Testing non-raw", "Hello SendGrid!\n")
    assert message["html"] == SENDGRID_FIELDS["html"]
    assert {k: message["headers"][k] for k in ("dkim", "spf")} == {"dkim": "pass", "spf": "pass"}
    assert message["spamScore"] == 0.012
    assert message["receivedAt"] == "2016-08-11T01:10:13Z"  # from the Received header in `headers`
    assert message["attachments"] == [{
        "filename": "image.jpg", "contentType": "image/jpeg", "size": len(JPEG),
        "sha256": hashlib.sha256(JPEG).hexdigest(), "disposition": "inline", "contentId": "ii_1562e2169c132d83",
        "downloadUrl": None}]
    assert message["replyText"] == "Hello SendGrid!"


def test_sendgrid_raw_mode_parses_the_email_field_as_mime(receiver, store):
    assert receiver.post("/webhooks/sendgrid", data=SENDGRID_RAW_FIELDS,
                         auth=("sendgrid", SECRET)).status_code == 202
    [row] = landed(store)
    message = parsed(row)
    assert message["messageId"] == "<raw-1@example.com>"
    assert message["from"] == {"email": "example@example.com", "name": "Sender Name"}
    assert message["alias"] == "inbound@inbound.example.com"
    assert message["envelope"]["mailFrom"] == "example@example.com"
    assert message["receivedAt"] == "2016-07-27T20:53:06Z"
    assert message["text"].startswith("Hello, we would like a demo")


def test_sendgrid_fields_in_a_declared_charset_and_a_new_boundary_on_retry():
    text = "Bonjour, nous voulons une démo pour l'équipe.".encode("iso-8859-1")

    def body(boundary: str) -> bytes:
        parts = [
            ("from", b"Ren\xe9 <rene@example.fr>"),
            ("text", text),
            ("charsets", b'{"text":"iso-8859-1","from":"iso-8859-1"}'),
            ("envelope", b'{"to":["demo@yourcompany.example"],"from":"rene@example.fr"}'),
        ]
        out = b""
        for name, value in parts:
            out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode() + value + b"\r\n"
        return out + f"--{boundary}--\r\n".encode()

    first = parse_form("multipart/form-data; boundary=xYzZY", body("xYzZY"))
    retry = parse_form('multipart/form-data; boundary="----sg-retry-42"', body("----sg-retry-42"))
    assert first.to_bytes() == retry.to_bytes()  # same content, same canonical bytes, same delivery key
    message = sendgrid.to_message(first.to_bytes())
    assert message["text"] == "Bonjour, nous voulons une démo pour l'équipe."
    assert message["from"] == {"email": "rene@example.fr", "name": "René"}


def test_sendgrid_rejects_what_is_not_a_form(receiver, store):
    assert receiver.post(f"/webhooks/sendgrid?token={SECRET}", content=b'{"json": true}',
                         headers={"Content-Type": "application/json"}).status_code == 400
    assert receiver.post(f"/webhooks/sendgrid?token={SECRET}", content=b"--b\r\nbroken",
                         headers={"Content-Type": "multipart/form-data; boundary=b"}).status_code == 400
    assert receiver.post("/webhooks/sendgrid", data=SENDGRID_FIELDS).status_code == 401
    assert landed(store) == []
    with pytest.raises(FormError):
        parse_form("text/plain", b"x")


# -- Mailgun --------------------------------------------------------------------------------------


def test_mailgun_documented_route_post_lands_and_parses(receiver, store):
    fields = mailgun_signed(MAILGUN_FIELDS)
    response = receiver.post("/webhooks/mailgun", data=fields)  # urlencoded: no attachments
    assert response.status_code == 202
    [row] = landed(store)
    assert (row.source, row.payload_format) == ("mailgun", "mailgun_form")
    assert row.delivery_key == "<517ACC75.5010709@sandbox.mailgun.example>|alice@sandbox.mailgun.example"
    assert row.source_alias == "alice@sandbox.mailgun.example"
    message = parsed(row)
    assert message["id"] == fields["token"]
    assert message["messageId"] == "<517ACC75.5010709@sandbox.mailgun.example>"
    assert message["from"] == {"email": "bob@sandbox.mailgun.example", "name": "Bob"}
    assert message["to"] == [{"email": "alice@sandbox.mailgun.example", "name": "Alice"}]
    assert message["envelope"] == {"mailFrom": "bob@sandbox.mailgun.example",
                                   "rcptTo": ["alice@sandbox.mailgun.example"]}
    assert message["subject"] == "Re: Sample POST request"
    assert message["text"] == MAILGUN_FIELDS["body-plain"] and message["html"] == MAILGUN_FIELDS["body-html"]
    assert message["receivedAt"] == "2013-05-03T18:26:27Z"
    assert message["thread"] == {"inReplyTo": "<517AC78B.5060404@sandbox.mailgun.example>",
                                 "references": ["<517AC78B.5060404@sandbox.mailgun.example>"]}
    assert {k: message["headers"][k] for k in ("dkim", "spf")} == {"dkim": "pass", "spf": "pass"}
    assert message["spamScore"] == 0.3
    assert "pricing for 200 seats" in message["replyText"] and "Hello Bob" not in message["replyText"]


def test_mailgun_attachments_and_content_id_map(receiver, store):
    pdf = b"%PDF-1.4 requirements"
    fields = mailgun_signed({**MAILGUN_FIELDS, "attachment-count": "2",
                             "content-id-map": '{"<part1.04060802@sandbox.mailgun.example>": "attachment-2"}'})
    response = receiver.post("/webhooks/mailgun", data=fields, files={
        "attachment-1": ("requirements.pdf", pdf, "application/pdf"),
        "attachment-2": ("logo.jpg", JPEG, "image/jpeg"),
    })
    assert response.status_code == 202
    message = parsed(landed(store)[0])
    assert [(a["filename"], a["size"], a["sha256"], a["contentId"], a["disposition"]) for a in message["attachments"]] \
        == [("requirements.pdf", len(pdf), hashlib.sha256(pdf).hexdigest(), None, "attachment"),
            ("logo.jpg", len(JPEG), hashlib.sha256(JPEG).hexdigest(), "part1.04060802@sandbox.mailgun.example",
             "inline")]
    assert "attachment_count_mismatch" not in message["warnings"]


def test_mailgun_signature_rotation_staleness_and_retried_posts(receiver, store):
    assert receiver.post("/webhooks/mailgun", data=mailgun_signed(MAILGUN_FIELDS, "wrong-key")).status_code == 401
    assert receiver.post("/webhooks/mailgun",
                         data=mailgun_signed(MAILGUN_FIELDS, at=time.time() - 400)).status_code == 401
    assert receiver.post("/webhooks/mailgun", data=MAILGUN_FIELDS).status_code == 401  # unsigned
    tampered = {**mailgun_signed(MAILGUN_FIELDS), "timestamp": str(int(time.time()) - 1)}
    assert receiver.post("/webhooks/mailgun", data=tampered).status_code == 401
    assert landed(store) == []
    first = receiver.post("/webhooks/mailgun", data=mailgun_signed(MAILGUN_FIELDS, "key-mailgun-old"))
    retried = receiver.post("/webhooks/mailgun", data=mailgun_signed(MAILGUN_FIELDS))  # new token, same message
    assert (first.status_code, retried.status_code) == (202, 202)
    assert retried.json() == {"landing_id": first.json()["landing_id"], "duplicate": True}
    assert len(landed(store)) == 1


def test_mailgun_raw_mime_route_and_token_key_without_message_id():
    fields = mailgun_signed({"recipient": "demo@yourcompany.example", "sender": "example@example.com",
                             "from": "Sender Name <example@example.com>", "subject": "Test raw",
                             "body-mime": RAW_EMAIL.decode()})
    form = parse_form("application/x-www-form-urlencoded", httpx.QueryParams(fields).__str__().encode())
    assert mailgun.delivery_key(form) == fields["token"]
    message = parse_payload("mailgun_form", form.to_bytes(), "mailgun:x")
    assert message["messageId"] == "<raw-1@example.com>" and message["id"] == fields["token"]
    assert message["alias"] == "demo@yourcompany.example"
    assert mailgun.verify_signature(fields["timestamp"], fields["token"], fields["signature"], [MAILGUN_KEY],
                                    now=float(fields["timestamp"]))
    assert not mailgun.verify_signature(fields["timestamp"], fields["token"], fields["signature"], [],
                                        now=float(fields["timestamp"]))
