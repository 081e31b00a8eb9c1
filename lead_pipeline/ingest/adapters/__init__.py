"""Adapters from other inbound-mail providers' webhook payloads to the MailParse message (`mailparse-api.md` §4).

Each module exposes `to_message(raw: bytes) -> dict`: the §1 message plus `warnings`, from the bytes the
webhook receiver landed (Postmark: the JSON body as received; SendGrid and Mailgun: the canonical form JSON
of `adapters.forms`). Invalid input raises `MessageRejected`.
"""
