"""Tolerant validation of a MailParse message (`mailparse-api.md` §1).

MailParse documents its payload in more than one spelling, so `normalise_payload` accepts every
variant the contract lists and returns one shape: the §1 message with camelCase keys plus
`warnings`. Plain code, no Dagster, no pydantic: it runs once per polled item and per webhook
delivery, so it has to be cheap.

Tolerance rules (each has a test in `lead_pipeline_tests/ingest/test_payloads.py`):

* keys in camelCase, snake_case, kebab-case or any capitalisation (`messageId`, `message_id`,
  `MessageId` are one key);
* `from` as an object (`email`/`address` + `name`) or a string `"Name <a@b>"` / `"a@b"`; `to`,
  `cc`, `replyTo` as a string (an RFC 5322 address list), an object, or a list of either;
* `headers` with `dkim`/`spf`/`dmarc` verdicts, `dkim_pass`/`spf_pass`/`dmarc_pass` booleans, or
  a raw `Authentication-Results` (and `Received-SPF`) value; also a list of `{name, value}` or
  `[name, value]` pairs;
* missing optional scalars are `None`; missing lists are `[]`; missing `envelope`, `headers` and
  `thread` keep their shape with `None`/`[]` inside (the shape the MIME parser produces);
* no `messageId` → `synthetic_message_id(sender, receivedAt, body)` and the warning
  `synthetic_message_id`;
* `receivedAt` as RFC 3339 (any offset, fractional seconds), RFC 5322 date, or Unix seconds,
  normalised to `YYYY-MM-DDTHH:MM:SSZ` UTC;
* unknown fields are ignored here; they stay in the landed raw bytes.

Input that cannot be a message raises `MessageRejected("invalid_payload: <what>")`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from lead_pipeline.ingest.landing import utc_timestamp
from lead_pipeline.mail.mime import MessageRejected, synthetic_message_id

__all__ = [
    "canonical_json",
    "header_facts",
    "normalise_payload",
    "parse_address",
    "parse_address_list",
    "parse_received_at",
    "safe_key",
]

MAX_KEY_LENGTH = 200  # landing.delivery_key is VARCHAR(200)

_AUTH_RESULT_RE = re.compile(r"(?:^|[\s;(])(dkim|spf|dmarc)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
_PLAIN_ADDRESS_RE = re.compile(r"([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)")
_EMAILISH_RE = re.compile(r"[^\s<>()\[\]\",;:]+@[^\s<>()\[\]\",;:]+")
_MSG_ID_RE = re.compile(r"<[^<>\s]+>")
_BAD_CHARS_RE = re.compile(r"[\x00\ud800-\udfff]")
_VERDICT_RE = re.compile(r"[A-Za-z]+")


def _canon(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Keys folded so that `messageId`, `message_id` and `Message-Id` are one; the first spelling wins."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, str):
            out.setdefault(_canon(key), value)
    return out


def _first(fields: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = fields.get(name)
        if value is not None:
            return value
    return None


def _reject(what: str) -> MessageRejected:
    return MessageRejected(f"invalid_payload: {what}")


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clean_text(value: str) -> str:
    """Strings that PostgreSQL TEXT and UTF-8 accept: no NUL, no lone surrogates."""
    if _BAD_CHARS_RE.search(value):
        value = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return value


def _string(fields: Mapping[str, Any], name: str, *aliases: str) -> str | None:
    value = _first(fields, name, *aliases)
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise _reject(f"{name} is not a string: {_show(value)}")
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise _reject(f"{name} is not a string: {_show(value)}")
    return _clean_text(value)


# -- addresses ------------------------------------------------------------------------------


def _clean_email(addr: str) -> str | None:
    addr = addr.strip().strip("<>").strip()
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    if len(addr) > 1 and addr[0] == addr[-1] and addr[0] in "\"'":
        addr = addr[1:-1].strip()
    addr = addr.rstrip(".")
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or len(addr) > 320:
        return None
    if not addr.isprintable() or any(c.isspace() for c in addr) or "<" in addr or ">" in addr:
        return None
    return f"{local}@{domain.lower()}"


def _clean_name(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    name = _clean_text(name).strip().strip('"').strip()
    return name or None


def _addresses_in_string(value: str) -> list[dict[str, Any]]:
    out = []
    for name, addr in getaddresses([value]):
        email = _clean_email(addr)
        if email is None:
            # "Alex Chen alex@example.com" and other near-misses: salvage the address itself.
            found = _EMAILISH_RE.findall(addr)
            email = _clean_email(found[-1]) if found else None
            if email is not None and not name:
                name = addr[: addr.rfind(found[-1])].strip()
        if email is not None:
            out.append({"email": email, "name": _clean_name(name)})
    if not out:  # getaddresses gives up on some inputs a regex still reads
        out = [{"email": e, "name": None} for e in map(_clean_email, _EMAILISH_RE.findall(value)) if e]
    return out


def parse_address_list(value: Any) -> tuple[list[dict[str, Any]], int]:
    """`[{"email", "name"}]` from a string, an object, or a list of either; and how many were dropped."""
    if value is None:
        return [], 0
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    dropped = 0
    for item in items:
        if isinstance(item, str):
            plain = _PLAIN_ADDRESS_RE.fullmatch(item.strip())
            if plain is not None:  # the common case, without the cost of the RFC 5322 list parser
                out.append({"email": f"{plain.group(1)}@{plain.group(2).lower()}", "name": None})
                continue
            found = _addresses_in_string(_clean_text(item))
            if found:
                out.extend(found)
            elif item.strip():
                dropped += 1
        elif isinstance(item, Mapping):
            fields = _fields(item)
            raw = _first(fields, "email", "address", "addr", "emailaddress")
            email = _clean_email(raw) if isinstance(raw, str) else None
            if email is None and isinstance(raw, str):
                found = _addresses_in_string(raw)
                email = found[0]["email"] if found else None
            if email is None:
                dropped += 1
                continue
            out.append({"email": email, "name": _clean_name(_first(fields, "name", "displayname", "fullname"))})
        else:
            dropped += 1
    return out, dropped


def parse_address(value: Any) -> dict[str, Any] | None:
    found, _ = parse_address_list(value)
    return found[0] if found else None


# -- dates ----------------------------------------------------------------------------------


def parse_received_at(value: Any) -> tuple[datetime | None, bool]:
    """(UTC datetime, was_naive) from RFC 3339, RFC 5322 or Unix seconds; raises ValueError when unreadable."""
    if value is None:
        return None, False
    naive = False
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        seconds = value / 1000 if abs(value) > 1e11 else value  # milliseconds since the epoch
        moment = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None, False
        if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
            return parse_received_at(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            try:  # RFC 5322; also "-04:00" offsets, which some mail servers (and Postmark's example) write
                moment = parsedate_to_datetime(re.sub(r"([+-]\d\d):(\d\d)(\s*(\(.*\))?)$", r"\1\2\3", text))
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"not RFC 3339 or RFC 5322: {_show(text)}") from None
        if moment.tzinfo is None:
            naive = True
            moment = moment.replace(tzinfo=UTC)
    else:
        raise ValueError(f"not a time: {_show(value)}")
    moment = moment.astimezone(UTC)
    if not 1970 <= moment.year <= 2100:
        raise ValueError(f"out of range: {moment.isoformat()}")
    return moment, naive


# -- headers --------------------------------------------------------------------------------


def _verdict(value: Any) -> str | None:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, str):
        m = _VERDICT_RE.search(value)
        if m:
            word = m.group(0).lower()
            if word in ("true", "yes"):
                return "pass"
            if word in ("false", "no"):
                return "fail"
            return word
    return None


def _auth_results(values: Iterable[str]) -> dict[str, str | None]:
    verdicts: dict[str, str | None] = {"dkim": None, "spf": None, "dmarc": None}
    for value in values:
        found: dict[str, list[str]] = {}
        for method, result in _AUTH_RESULT_RE.findall(value):
            found.setdefault(method.lower(), []).append(result.lower())
        for method, results in found.items():
            if verdicts[method] is None:
                verdicts[method] = "pass" if "pass" in results else results[0]
    return verdicts


def _header_pairs(value: Any) -> list[tuple[str, str]] | None:
    """A list of `{name, value}` objects or `[name, value]` pairs as (name, value); None for a dict."""
    if not isinstance(value, list):
        return None
    pairs = []
    for item in value:
        if isinstance(item, Mapping):
            f = _fields(item)
            name, val = f.get("name"), f.get("value")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            name, val = item
        else:
            continue
        if isinstance(name, str) and isinstance(val, str):
            pairs.append((name, _clean_text(val)))
    return pairs


def header_facts(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """What the §1 message needs from a raw header list (provider adapters pass theirs).

    Returns `headers` (dkim/spf/dmarc/autoSubmitted), `spamScore`, `thread`, `messageId`,
    `receivedAt` (topmost Received, else Date; None if unreadable), `returnPath`, `to`, `cc`, `replyTo`.
    """
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name.strip().lower(), []).append(value)

    def first(name: str) -> str | None:
        values = by_name.get(name)
        return values[0] if values else None

    auth = _auth_results(by_name.get("authentication-results", []))
    if auth["spf"] is None and first("received-spf"):
        auth["spf"] = _verdict(first("received-spf"))
    received_at = None
    for name in ("received", "date"):
        value = first(name)
        if value:
            try:
                received_at, _ = parse_received_at(value.rpartition(";")[2] if name == "received" else value)
            except ValueError:
                received_at = None
            if received_at:
                break
    in_reply_to = None
    if first("in-reply-to"):
        ids = _MSG_ID_RE.findall(first("in-reply-to"))
        in_reply_to = ids[0] if ids else first("in-reply-to").strip() or None
    references: list[str] = []
    for value in by_name.get("references", []):
        references.extend(_MSG_ID_RE.findall(value) or value.split())
    return_path = parse_address(first("return-path")) if first("return-path") else None
    return {
        "headers": {**auth, "autoSubmitted": first("auto-submitted")},
        "spamScore": _float(first("x-spam-score")),
        "thread": {"inReplyTo": in_reply_to, "references": references},
        "messageId": " ".join((first("message-id") or "").split()) or None,
        "receivedAt": received_at,
        "returnPath": return_path["email"] if return_path else None,
        "to": first("to"),
        "cc": first("cc"),
        "replyTo": first("reply-to"),
    }


def _headers(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"dkim": None, "spf": None, "dmarc": None, "autoSubmitted": None}
    if value is None:
        return out
    pairs = _header_pairs(value)
    if pairs is not None:
        return header_facts(pairs)["headers"]
    if not isinstance(value, Mapping):
        raise _reject(f"headers is not an object: {_show(value)}")
    fields = _fields(value)
    raw_auth = fields.get("authenticationresults")
    if isinstance(raw_auth, str):
        raw_auth = [raw_auth]
    parsed = _auth_results([v for v in raw_auth or [] if isinstance(v, str)])
    for method in ("dkim", "spf", "dmarc"):
        out[method] = (
            _verdict(fields.get(method))
            or _verdict(_first(fields, f"{method}pass", f"{method}passed"))
            or parsed[method]
        )
    if out["spf"] is None and isinstance(fields.get("receivedspf"), str):
        out["spf"] = _verdict(fields["receivedspf"])
    auto = fields.get("autosubmitted")
    out["autoSubmitted"] = _clean_text(auto) if isinstance(auto, str) else None
    return out


# -- the rest -------------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        m = re.search(r"[-+]?\d+(?:[.,]\d+)?", value)
        if m is None:
            return None
        value = m.group(0).replace(",", ".")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(float(value)) if isinstance(value, (str, float)) else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number >= 0 else None


def _message_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return _MSG_ID_RE.findall(value) or value.split()
    if isinstance(value, list):
        return [_clean_text(v.strip()) for v in value if isinstance(v, str) and v.strip()]
    return []


def _attachments(value: Any, warnings: list[str]) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            _warn(warnings, "invalid_attachment_dropped")
            continue
        f = _fields(item)
        content_id = _first(f, "contentid", "cid")
        content_id = _clean_text(content_id).strip().strip("<>").strip() or None if isinstance(content_id, str) else None
        disposition = f.get("disposition")
        sha = f.get("sha256")
        out.append({
            "filename": _str_or_none(_first(f, "filename", "name", "fname")),
            "contentType": _str_or_none(_first(f, "contenttype", "mimetype", "type")),
            "size": _int(_first(f, "size", "contentlength", "length")),
            "sha256": sha.lower() if isinstance(sha, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha) else None,
            "disposition": disposition.strip().lower() or None if isinstance(disposition, str) else None,
            "contentId": content_id,
            "downloadUrl": _str_or_none(_first(f, "downloadurl", "url", "href")),
        })
    return out


def _str_or_none(value: Any) -> str | None:
    return _clean_text(value) if isinstance(value, str) and value != "" else None


def _warn(warnings: list[str], code: str) -> None:
    if code not in warnings:
        warnings.append(code)


def _thread(fields: Mapping[str, Any]) -> dict[str, Any]:
    thread = fields.get("thread")
    tf = _fields(thread) if isinstance(thread, Mapping) else {}
    in_reply_to = _first(tf, "inreplyto") if tf else None
    if in_reply_to is None:
        in_reply_to = fields.get("inreplyto")
    references = _first(tf, "references") if tf else None
    if references is None:
        references = fields.get("references")
    if isinstance(in_reply_to, str):
        ids = _MSG_ID_RE.findall(in_reply_to)
        in_reply_to = ids[0] if ids else (_clean_text(in_reply_to.strip()) or None)
    else:
        in_reply_to = None
    return {"inReplyTo": in_reply_to, "references": _message_ids(references)}


def _envelope(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {"mailFrom": None, "rcptTo": []}
    f = _fields(value)
    mail_from = parse_address(_first(f, "mailfrom", "from", "sender", "returnpath"))
    rcpt, _ = parse_address_list(_first(f, "rcptto", "to", "recipients", "recipient"))
    return {"mailFrom": mail_from["email"] if mail_from else None, "rcptTo": [r["email"] for r in rcpt]}


def normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The §1 message (camelCase keys) plus `warnings`, from any tolerated spelling of it."""
    if not isinstance(payload, Mapping):
        raise _reject(f"not a JSON object but {type(payload).__name__}")
    fields = _fields(payload)
    warnings: list[str] = []

    raw_id = fields.get("id")
    if isinstance(raw_id, bool) or isinstance(raw_id, (dict, list)):
        raise _reject(f"id is not a string: {_show(raw_id)}")
    message_key = _clean_text(str(raw_id)).strip() or None if raw_id is not None else None

    try:
        received, naive = parse_received_at(_first(fields, "receivedat", "received", "date", "timestamp"))
    except ValueError as exc:
        raise _reject(f"unparseable receivedAt: {exc}") from None
    if naive:
        _warn(warnings, "received_at_without_timezone")
    received_at = utc_timestamp(received) if received else None

    envelope = _envelope(fields.get("envelope"))
    sender = parse_address(_first(fields, "from", "sender"))
    if sender is None and envelope["mailFrom"]:
        sender = {"email": envelope["mailFrom"], "name": None}
        _warn(warnings, "sender_from_envelope")
    if sender is None:
        raise _reject(f"no sender address in from: {_show(fields.get('from'))}")

    lists: dict[str, list[dict[str, Any]]] = {}
    for key, name in (("to", "to"), ("cc", "cc"), ("replyTo", "replyto")):
        found, dropped = parse_address_list(fields.get(name))
        lists[key] = found
        if dropped:
            _warn(warnings, f"invalid_{name}_address_dropped")

    alias_value = fields.get("alias")
    alias = parse_address(alias_value) if alias_value is not None else None
    alias_email = alias["email"].lower() if alias else None
    if alias_email is None:
        fallback = envelope["rcptTo"][:1] or [a["email"] for a in lists["to"][:1]]
        alias_email = fallback[0].lower() if fallback else None

    subject = _string(fields, "subject")
    text = _string(fields, "text", "textbody", "bodyplain")
    html = _string(fields, "html", "htmlbody", "bodyhtml")

    message_id = _string(fields, "messageid")
    message_id = " ".join(message_id.split()) if message_id else None
    if not message_id:
        message_id = synthetic_message_id(sender["email"], received_at or "", text if text else (html or ""))
        _warn(warnings, "synthetic_message_id")

    spam_raw = fields.get("spamscore")
    spam_score = _float(spam_raw)
    if spam_raw is not None and spam_score is None:
        _warn(warnings, "invalid_spam_score")

    upstream = fields.get("warnings")
    for code in upstream if isinstance(upstream, list) else []:
        if isinstance(code, str):
            _warn(warnings, _clean_text(code))

    return {
        "id": message_key,
        "messageId": message_id,
        "receivedAt": received_at,
        "alias": alias_email,
        "envelope": envelope,
        "from": sender,
        "to": lists["to"],
        "cc": lists["cc"],
        "replyTo": lists["replyTo"],
        "subject": subject,
        "text": text,
        "html": html,
        "headers": _headers(fields.get("headers")),
        "spamScore": spam_score,
        "attachments": _attachments(fields.get("attachments"), warnings),
        "thread": _thread(fields),
        "rawUrl": _str_or_none(fields.get("rawurl")),
        "warnings": warnings,
    }


def safe_key(value: str) -> str:
    """A delivery key fit for `landing.delivery_key`: the value itself, or its sha256 when too long or unprintable."""
    if value and len(value) <= MAX_KEY_LENGTH and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, compact, UTF-8): equal values give equal bytes."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the escaped form is still valid, deterministic JSON
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
