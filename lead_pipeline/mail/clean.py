"""Body cleaning: HTML to text, quoted-history and signature removal, hashing, language id.

Plain Python, no Dagster. Everything here is deterministic and side-effect free except the
lazily loaded (and cached) language-identification model.

Performance notes: quote markers are found with a handful of pre-compiled regexes that all
start with a literal ``\\n`` (we search ``"\\n" + body + "\\n"``), so the regex engine can skip
straight to line starts instead of trying every position; every quantifier is bounded to a
single line so there is no catastrophic backtracking. Per-line Python work only happens for
the few trailing lines inspected for a sign-off.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "CleanedBody",
    "clean_body",
    "content_hash",
    "detect_language",
    "html_to_text",
    "normalise_for_hash",
    "sanitize_html",
    "signature_fields",
]


@dataclass(frozen=True)
class CleanedBody:
    reply_text: str  # only what the sender wrote in this message
    signature: str | None  # the removed signature block
    quoted: str | None  # the removed quoted history (for forwarded-lead attribution downstream)


# --------------------------------------------------------------------------------------------
# HTML -> text
# --------------------------------------------------------------------------------------------

_SKIP_TAGS = frozenset(
    {
        "head", "script", "style", "title", "meta", "link", "noscript", "template", "svg",
        "object", "embed", "iframe", "canvas", "audio", "video", "map", "button", "select",
        "input", "textarea", "base",
    }
)
_PARA_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "pre", "address", "figure"}
)
_BLOCK_TAGS = frozenset(
    {
        "div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "center",
        "form", "fieldset", "main", "nav", "aside", "caption", "details", "summary", "body",
        "html", "figcaption", "tbody", "thead", "tfoot", "hr",
    }
)
_CELL_TAGS = frozenset({"td", "th"})

# Invisible elements (preheaders, Outlook-only blocks). Deliberately *not* font-size:0 or
# height:0, which responsive templates use on wrappers whose children are visible.
_HIDDEN_STYLE_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all|"
    r"(?<![-\w])opacity\s*:\s*0(?:\.0*)?\s*(?:;|$|!)",
    re.IGNORECASE,
)
_COLLAPSED_STYLE_RE = re.compile(r"max-height\s*:\s*0(?![.\d])", re.IGNORECASE)
_OVERFLOW_HIDDEN_RE = re.compile(r"overflow\s*:\s*hidden", re.IGNORECASE)
_STYLE_DIM_RE = re.compile(r"(?<![-\w])(width|height)\s*:\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*(?:;|$|!)", re.I)
_DIM_ATTR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.I)
_TRACKER_HOST_RE = re.compile(
    r"track|pixel|beacon|mailtrack|list-manage|(?:^|[.\-])(?:open|opens|trk|click|clicks|"
    r"email-?open|o|t|e|ct|link|links|mandrillapp|mailstat|emltrk|mltrk)(?:[.\-\d]|$)",
    re.IGNORECASE,
)
_TRACKER_PATH_RE = re.compile(
    r"(?:/track(?:ing)?/open|/open\.(?:php|gif|png|aspx?)|/wf/open|pixel|beacon|/o\.gif|"
    r"/e/o/|/trk/|/t\.gif|/1x1\.|/spacer\.gif|/blank\.gif)",
    re.IGNORECASE,
)
_WS_RUN_RE = re.compile(r"[ \t\r\f\v\u00a0\u200b\u2009\u202f]+")

# sentinels in the token stream
_QUOTE_IN = object()  # <blockquote>
_QUOTE_OUT = object()  # </blockquote>
_SOFT = object()  # block boundary: end the current line if it has content
_PARA = object()  # paragraph boundary: like _SOFT, plus one blank line
_BREAK = "\n"  # <br>: hard line break (consecutive ones make blank lines)
_BACK_TO_REPLY = object()  # end of a quote container: tokens go to the reply again


def _dim(value: str | None) -> float | None:
    if value is None:
        return None
    m = _DIM_ATTR_RE.match(value)
    return float(m.group(1)) if m else None


def _is_hidden(attrs: dict) -> bool:
    style = attrs.get("style")
    if style and (
        _HIDDEN_STYLE_RE.search(style)
        or (_COLLAPSED_STYLE_RE.search(style) and _OVERFLOW_HIDDEN_RE.search(style))
    ):
        return True
    return "hidden" in attrs and attrs.get("hidden") != "false"


def _is_tracking_img(attrs: dict) -> bool:
    if _is_hidden(attrs):
        return True
    w, h = _dim(attrs.get("width")), _dim(attrs.get("height"))
    style = attrs.get("style") or ""
    for m in _STYLE_DIM_RE.finditer(style):
        if m.group(1).lower() == "width":
            w = float(m.group(2))
        else:
            h = float(m.group(2))
    if (w is not None and w <= 2) or (h is not None and h <= 2):
        return True
    src = (attrs.get("src") or "").strip()
    if src and not src.lower().startswith(("cid:", "data:")):
        try:
            parts = urlsplit(src)
        except ValueError:
            return False
        if parts.hostname and _TRACKER_HOST_RE.search(parts.hostname):
            return True
        if _TRACKER_PATH_RE.search(parts.path or ""):
            return True
    return False


def _node_children(node) -> list:
    out = []
    child = node.child
    while child is not None:
        out.append(child)
        child = child.next
    return out


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body.

    Drops head/script/style (and other non-content elements), hidden elements and tracking
    pixels; images become their alt text (or nothing); links keep their text; block elements
    become line breaks; ``<blockquote>`` content is prefixed with ``"> "`` so quoted history in
    HTML-only replies is recognised by :func:`clean_body`.
    """
    return _assemble(_html_tokens(html, split_quotes=False)[0])


def _html_reply(html: str) -> tuple[str, str | None]:
    """(text without the mail clients' quote containers, text of those containers or None)."""
    reply, quoted = _html_tokens(html, split_quotes=True)
    return _assemble(reply), ((_assemble(quoted) or None) if quoted else None)


# Where mail clients put the history when replying or forwarding in HTML.
_CONTAINER_CLASSES = ("gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted")  # class suffixes
_CUT_CLASSES = ("OutlookMessageHeader",)  # Outlook 2003-2010: a header block, then the old body
_CUT_IDS = ("divRplyFwdMsg", "appendonsend")  # Outlook / OWA: everything from here on is history
_CONTAINER, _CUT_REST = 1, 2


def _quote_container(tag: str, attrs: dict) -> int | None:
    """Gmail, Apple Mail, Outlook, Thunderbird and Yahoo quote markup (ids may carry an "x_" prefix)."""
    ident = attrs.get("id")
    if ident and ident.endswith(_CUT_IDS):
        return _CUT_REST
    classes = attrs.get("class")
    if classes:
        for name in classes.split():
            if name.endswith(_CONTAINER_CLASSES):
                return _CONTAINER
            if name.endswith(_CUT_CLASSES):
                return _CUT_REST
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":  # Apple Mail, Thunderbird
        return _CONTAINER
    return None


def _html_tokens(html: str, *, split_quotes: bool) -> tuple[list, list]:
    """The token stream of an HTML body; with ``split_quotes``, quote containers go to a second one."""
    reply: list = []
    quoted: list = []
    if not html or not html.strip():
        return reply, quoted
    from selectolax.lexbor import LexborHTMLParser  # local import: keeps module import light

    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return reply, quoted
    out = reply
    # Iterative DFS (deeply nested HTML must not hit the recursion limit).
    # Stack items: (node, pre_depth), (closing_token, None) or (_BACK_TO_REPLY, None).
    stack: list = [(root, 0)]
    while stack:
        node, pre = stack.pop()
        if pre is None:  # a closing token pushed earlier
            if node is _BACK_TO_REPLY:
                out = reply
                out.append(_SOFT)
            else:
                out.append(node)
            continue
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if text:
                if pre:
                    out.append(text.replace("\r\n", "\n"))
                else:
                    out.append(_WS_RUN_RE.sub(" ", text.replace("\n", " ")))
            continue
        if tag is None or tag.startswith("-") and tag != "-document":
            continue  # comments, doctype
        if tag in _SKIP_TAGS:
            continue
        attrs = node.attributes if tag != "-document" else {}
        if tag == "br":
            out.append(_BREAK)
            continue
        if tag == "img":
            if not _is_tracking_img(attrs):
                alt = (attrs.get("alt") or "").strip()
                if alt:
                    out.append(" " + alt + " ")
            continue
        if attrs and _is_hidden(attrs):
            continue
        if split_quotes and out is reply and attrs:
            kind = _quote_container(tag, attrs)
            if kind is not None:
                reply.append(_SOFT)
                out = quoted
                if kind == _CONTAINER:  # back to the reply after this element's subtree
                    stack.append((_BACK_TO_REPLY, None))
        if tag == "blockquote":
            out.append(_QUOTE_IN)
            stack.append((_QUOTE_OUT, None))
        elif tag in _PARA_TAGS:
            out.append(_PARA)
            stack.append((_PARA, None))
        elif tag in _BLOCK_TAGS:
            out.append(_SOFT)
            stack.append((_SOFT, None))
            if tag == "li":
                out.append("- ")
        elif tag in _CELL_TAGS:
            stack.append((" ", None))
        child_pre = pre + 1 if tag in ("pre", "plaintext", "xmp", "listing") else pre
        for child in reversed(_node_children(node)):
            stack.append((child, child_pre))
    return reply, quoted


def _assemble(tokens: list) -> str:
    lines: list[tuple[int, str]] = []  # (blockquote depth, text)
    current: list[str] = []
    depth = 0

    def flush(force: bool) -> None:
        text = _WS_RUN_RE.sub(" ", "".join(current)).strip()
        current.clear()
        if text or force:
            lines.append((depth, text))

    def paragraph() -> None:
        flush(False)
        if lines and lines[-1][1]:
            lines.append((depth, ""))

    for tok in tokens:
        if tok is _SOFT:
            flush(False)
        elif tok is _PARA:
            paragraph()
        elif tok is _QUOTE_IN:
            paragraph()
            depth += 1
        elif tok is _QUOTE_OUT:
            flush(False)
            while lines and not lines[-1][1] and lines[-1][0] == depth:
                lines.pop()  # no trailing empty ">" lines inside the quote
            depth = max(0, depth - 1)
            paragraph()
        elif "\n" in tok:
            pieces = tok.split("\n")
            for piece in pieces[:-1]:
                current.append(piece)
                flush(True)
            current.append(pieces[-1])
        else:
            current.append(tok)
    flush(False)

    out: list[str] = []
    for d, text in lines:
        line = ("> " * d + text) if text else (">" * d)
        if not text and out and out[-1] == line:
            continue  # collapse runs of blank lines
        out.append(line)
    return "\n".join(out).strip()


# Stored HTML: an allowlist of formatting, structure, tables and links. No scripts, styles,
# event handlers, forms or frames; no remote images (tracking) - only inline ``cid:`` ones.
_SAFE_TAGS = frozenset({
    "a", "abbr", "address", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt",
    "u", "ul", "var",
})
_SAFE_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "*": {"dir", "lang", "title"},
}
_IMG_WITHOUT_SRC_RE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_SANITIZER = None


def _keep_inline_images_only(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def sanitize_html(html: str) -> str:
    """``html`` reduced to an allowlist (nh3), safe to render: links get ``rel="noopener noreferrer"``."""
    global _SANITIZER
    if _SANITIZER is None:
        import nh3  # local import: keeps module import light

        _SANITIZER = nh3.Cleaner(
            tags=set(_SAFE_TAGS),
            clean_content_tags={"script", "style", "title", "template", "noscript", "textarea", "select"},
            attributes={tag: set(names) for tag, names in _SAFE_ATTRIBUTES.items()},
            attribute_filter=_keep_inline_images_only,
            url_schemes={"http", "https", "mailto", "tel", "cid"},
            url_relative="deny",  # a relative link in an email points nowhere
            link_rel="noopener noreferrer",
            strip_comments=True,
        )
    head_end = html.find("</head>")
    if head_end != -1 and "<head" in html[:head_end]:
        html = html[head_end + 7 :]  # nothing in a head is displayed; Word's styles double the work
    cleaned = _SANITIZER.clean(html)
    return _IMG_WITHOUT_SRC_RE.sub("", cleaned) if "<img" in cleaned else cleaned


# --------------------------------------------------------------------------------------------
# Quoted history
# --------------------------------------------------------------------------------------------

_L = r"[^\n]{0,300}"  # rest of one line, bounded (linear backtracking only)


def _attribution(start: str, end: str) -> str:
    """A quote attribution line ("On <date>, <name> wrote:"), possibly wrapped over two lines."""
    return rf"[ \t]*(?:{start}){_L}(?:\n{_L})?(?:{end})[ \t]*(?=\n)"


_ATTRIBUTIONS = [
    _attribution(r"On[ \t]", r"\bwrote[ \t]*:"),  # English
    _attribution(r"Le[ \t]", r"a[ \t\u00a0]+(?:é|e)crit[ \t\u00a0]*:"),  # French
    _attribution(r"Am[ \t]", r"\bschrieb\b" + _L + r":"),  # German
    _attribution(r"El[ \t]", r"\bescribi(?:ó|o)[ \t]*:"),  # Spanish
    _attribution(r"Em[ \t]", r"\bescreveu[ \t]*:"),  # Portuguese
    _attribution(r"Op[ \t]", r"\bschreef\b" + r"[^\n]{0,300}:"),  # Dutch
    _attribution(r"Il[ \t]", r"\bha[ \t]+scritto[ \t]*:"),  # Italian
    _attribution(r"Den[ \t]", r"\bskrev\b[^\n]{0,300}:"),  # Swedish
    _attribution(r"W[ \t]+dniu[ \t]", r"(?:pisze|napisał(?:a|\(a\))?)[ \t]*:"),  # Polish
    r"[ \t]*\d{4}年\d{1,2}月\d{1,2}日" + _L + r"[:：][ \t]*(?=\n)",  # Gmail (ja)
]
# Japanese Apple Mail / Thunderbird forms have no fixed line start, so the pattern has to be
# tried at every line; it is only compiled into the regex used when the body contains them.
_ATTRIBUTIONS_JA = [_attribution(r"", r"(?:のメッセージ|書きました)[ \t]*[:：]")]
_JA_HINTS = ("のメッセージ", "書きました")

_ORIGINAL_WORDS = (
    r"Original Message|Ursprüngliche Nachricht|Urspr\S{0,2}ngliche Nachricht|"
    r"Message d'origine|Message original|Mensaje original|Messaggio originale|"
    r"Mensagem original|Oorspronkelijk bericht|Originalmeddelande|Ursprungligt meddelande|"
    r"Wiadomość oryginalna|Oryginalna wiadomość|元のメッセージ"
)
_FORWARD_WORDS = (
    r"Forwarded message|Forwarded Message|Message transféré|Message transfere|"
    r"Weitergeleitete Nachricht|Mensaje reenviado|Messaggio inoltrato|Mensagem encaminhada|"
    r"Mensagem reencaminhada|Doorgestuurd bericht|Vidarebefordrat meddelande|"
    r"Wiadomość przekazana dalej|Przekazana wiadomość|転送されたメッセージ|転送メッセージ"
)
_BEGIN_FORWARD = (
    r"Begin forwarded message|Début du message réexpédié|Début du message transféré|"
    r"Anfang der weitergeleiteten Nachricht|Inicio del mensaje reenviado|"
    r"Início da mensagem reencaminhada|Inizio messaggio inoltrato|Begin doorgestuurd bericht|"
    r"Vidarebefordrat brev|Początek przekazywanej wiadomości|転送メッセージ"
)
_HDR_FROM = r"From|De|Von|Van|Da|Från|Od|Fra|差出人|送信者"
_HDR_OTHER = (
    r"Sent|Date|To|Cc|Bcc|Subject|Reply-To|"
    r"Envoyé|Envoy\S{1,2}|À|A|Objet|Répondre à|"
    r"Gesendet|Datum|An|Betreff|Antwort an|"
    r"Enviado|Enviada|Fecha|Para|Asunto|Assunto|Data|"
    r"Inviato|Oggetto|"
    r"Verzonden|Aan|Onderwerp|"
    r"Skickat|Till|Ämne|Kopia|"
    r"Wysłano|Wysłane|Do|Temat|DW|"
    r"送信日時|日時|宛先|件名|CC"
)
_HDR_LINE_END = r"\*{0,2}[ \t]*[:：]" + _L + r"\n(?:[ \t]*\n)?"
_OUTLOOK_BLOCK = (
    r"(?:[ \t]*[_\-=]{8,}[ \t]*\n(?:[ \t]*\n)?)?"  # optional Outlook separator line
    rf"[ \t]*\*{{0,2}}(?:{_HDR_FROM}){_HDR_LINE_END}"
    rf"(?:[ \t]*\*{{0,2}}(?:{_HDR_OTHER}){_HDR_LINE_END}){{2,}}"
)
_HARD_MARKERS = [
    rf"[ \t]*-{{2,}}[ \t]*(?:{_ORIGINAL_WORDS})[ \t]*-{{2,}}[^\n]{{0,20}}(?=\n)",
    rf"[ \t]*-{{2,}}[ \t]*(?:{_FORWARD_WORDS})[ \t]*-{{2,}}[^\n]{{0,20}}(?=\n)",
    rf"[ \t]*(?:{_BEGIN_FORWARD})[ \t]*[:：]?[ \t]*(?=\n)",
    _OUTLOOK_BLOCK,
]



def _marker_re(attributions: list[str]) -> re.Pattern[str]:
    return re.compile(
        # The single literal "\n" in front lets the regex engine jump from line to line.
        "\n(?:(?P<attr>" + "|".join(attributions) + ")|(?P<hard>" + "|".join(_HARD_MARKERS) + "))",
        re.IGNORECASE,
    )


_MARKER_RE = _marker_re(_ATTRIBUTIONS)
_MARKER_RE_JA = _marker_re(_ATTRIBUTIONS + _ATTRIBUTIONS_JA)
_NEXT_IS_QUOTE_RE = re.compile(r"\n(?:[ \t]*\n){0,3}[ \t]*>")
_QUOTE_BLOCK_RE = re.compile(r"\n[ \t]*>[^\n]*(?:\n[ \t]*>[^\n]*)*")
# Cheap pre-filter: only lines whose first two characters can start a marker are handed to
# the full regex (the leading literal "\n" plus a one-character lookahead keep the scan fast).
_MARKER_CANDIDATE_RE = re.compile(
    r"\n[ \t]*(?=[0-9*\-_=OoLlAaEeIiDdWwBbVvPpFf転差送元])"
    r"(?:[0-9*\-_=]|[Oo][NnPpDd]|[Ll][Ee]|[Aa][MmNn]|[Ee][LlMm]|[Ii][LlNn]|[Dd][EeAaéÉ]|[Ww]\s|"
    r"[Bb][Ee]|[Vv][IiOoAaíÍ]|[Pp][Oo]|[Ff][Rr]|転送|差出|送信|元の)"
)


def _iter_markers(body: str, padded: str):
    """Marker matches in ``padded`` ("\n" + body + "\n"), in order, non-overlapping."""
    if any(h in body for h in _JA_HINTS):
        yield from _MARKER_RE_JA.finditer(padded)
        return
    skip_until = -1
    match = _MARKER_RE.match
    for cand in _MARKER_CANDIDATE_RE.finditer(padded):
        pos = cand.start()
        if pos < skip_until:
            continue
        m = match(padded, pos)
        if m is not None:
            skip_until = m.end()
            yield m


def _split_quotes(body: str) -> tuple[str, str | None]:
    """Split ``body`` into (new text, quoted history).

    Hard markers (Outlook header block, "Original Message", forwarded-message banners, an
    attribution line *not* followed by ">" lines) cut everything below them. ">" quote blocks
    above the cut are removed together with the attribution line that introduces them, and
    unquoted text around them is kept (so bottom-posted and interleaved replies survive).
    """
    padded = "\n" + body + "\n"
    cut = len(padded) - 1
    ranges: list[tuple[int, int]] = []  # removed [start, end) ranges in `padded`, before `cut`
    for m in _iter_markers(body, padded):
        if m.group("attr") is not None and _NEXT_IS_QUOTE_RE.match(padded, m.end()):
            ranges.append((m.start(), m.end()))
            continue
        cut = m.start()
        break
    if "\n" in padded[:cut] and ">" in padded[:cut]:
        ranges.extend(mt.span() for mt in _QUOTE_BLOCK_RE.finditer(padded, 0, cut))
    tail = padded[cut + 1 : -1] if cut < len(padded) - 1 else ""
    if not ranges:
        return padded[1:cut], (tail.strip("\n") if tail.strip() else None)
    ranges.sort()
    kept: list[str] = []
    removed: list[str] = []
    prev = 0
    for start, end in ranges:
        if end <= prev:
            continue
        start = max(start, prev)
        kept.append(padded[prev:start])
        removed.append(padded[start:end])
        prev = end
    kept.append(padded[prev:cut])
    if tail.strip():
        removed.append("\n" + tail)
    quoted = "".join(removed).strip("\n")
    return "".join(kept)[1:] if kept[0].startswith("\n") else "".join(kept), (quoted or None)


# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------

_SIG_DELIM_RE = re.compile(r"\n[ \t]*--[ \t]*(?=\n)")
_MOBILE_RE = re.compile(
    r"\n[ \t]*(?:"
    r"Sent from my [^\n]{1,40}|"
    r"Sent from (?:Outlook|Mail|Yahoo Mail|Gmail|ProtonMail|Proton Mail|Samsung|Xiaomi|Huawei)[^\n]{0,40}|"
    r"Sent (?:with|via|using) (?:Spark|Superhuman|BlackBerry|Blackberry|Proton ?Mail|Mailbird|Newton|Airmail|Edison)[^\n]{0,30}|"
    r"Get Outlook for (?:iOS|Android)[^\n]{0,10}|"
    r"Envoyé (?:de|depuis) (?:mon|ma) [^\n]{1,40}|"
    r"Von meinem [^\n]{1,40} gesendet[^\n]{0,5}|Gesendet von (?:meinem )?(?:iPhone|iPad|Android|Samsung|Outlook|Mobilgerät|Handy)[^\n]{0,30}|"
    r"Enviado (?:desde|de) mi [^\n]{1,40}|Enviado do meu [^\n]{1,40}|Enviado de meu [^\n]{1,40}|"
    r"Inviato da(?:l mio)? (?:iPhone|iPad|Android|Samsung|Outlook|dispositivo)[^\n]{0,30}|"
    r"Verzonden (?:met|vanaf) (?:mijn )?[^\n]{1,40}|"
    r"Skickat från min [^\n]{1,40}|"
    r"Wysłane z (?:mojego )?(?:iPhone|iPada?|Androida?|Samsunga?|telefonu|Outlooka?)[^\n]{0,30}|"
    r"[^\n]{0,20}から送信"
    r")[ \t]*(?=\n)",
    re.IGNORECASE,
)
_SIGNOFF_PHRASES = (
    r"best(?: regards| wishes)?|kind(?:est)? regards|warm(?:est)? regards|warmly|"
    r"many thanks|thanks(?: again| a lot| so much| in advance| very much)?|thank you(?: very much| so much| in advance)?|"
    r"thx|ty|cheers|regards|sincerely|yours sincerely|sincerely yours|yours truly|yours faithfully|"
    r"all the best|talk soon|speak soon|brgds|br|rgds|respectfully|"
    r"(?:bien |très )?cordialement|bien à vous|salutations(?: distinguées)?|merci(?: beaucoup| d['’]avance| encore)?|"
    r"(?:très )?bonne (?:journée|soirée|fin de journée|semaine)|à bientôt|"
    r"mit freundlichen grüßen|mit freundlichen gruessen|mit freundlichem gruß|freundliche grüße|mfg|"
    r"viele grüße|beste grüße|liebe grüße|herzliche grüße|schöne grüße|gruß|grüße|vg|lg|danke(?: schön)?|"
    r"saludos(?: cordiales)?|un saludo(?: cordial)?|atentamente|cordialmente|(?:muchas )?gracias|"
    r"abraços|atenciosamente|obrigad[oa]|cumprimentos|"
    r"met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|groeten|groet|bedankt|"
    r"distinti saluti|cordiali saluti|saluti|grazie(?: mille)?|un saluto|"
    r"med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh|tack|"
    r"(?:med )?vennlig(?:st)? hilsen|(?:med )?venlig(?:st)? hilsen|hilsen|ystävällisin terveisin|terveisin|"
    r"z poważaniem|pozdrawiam|pozdrowienia|dziękuję|"
    r"(?:どうぞ)?(?:よろしく|宜しく)お願い(?:いた|致)?します|以上(?:、?よろしくお願いします)?|ありがとうございます"
)
_NAME = r"[^\W\d_][^\W\d_'.\-]*(?:[ .'\-]{1,2}[^\W\d_][^\W\d_'.\-]*){0,3}"
_SIGNOFF_JOIN = r"[ \t]*(?:/|&|\+|,|and|et|und|y|e|och|og|en|i)[ \t]*"  # "Hälsningar / Best regards"
_SIGNOFF_RE = re.compile(
    rf"^[ \t]*(?:{_SIGNOFF_PHRASES})(?:{_SIGNOFF_JOIN}(?:{_SIGNOFF_PHRASES}))*"
    rf"(?:[ \t]*[,\-–—][ \t]*{_NAME})?[ \t]*[,.!:;…~。！]*[ \t]*$",
    re.IGNORECASE,
)
_MAX_SIG_LINES = 6
_MAX_SIG_LINE_LEN = 80

# On ASCII text, IGNORECASE matching is plain matching of the lower-cased pattern against the
# lower-cased text (same positions; no ASCII character has another case-insensitive match in
# these patterns), which lets the regex engine use its fast literal checks: ~2x faster.
_MOBILE_LOWER_RE = re.compile(_MOBILE_RE.pattern.lower())  # escapes: only \n and \t
_SIGNOFF_LOWER_RE = re.compile(_SIGNOFF_RE.pattern)  # its letters are lower-case already
assert set(re.findall(r"\\.", _MOBILE_RE.pattern)) <= {"\\n", "\\t"}
assert not any(ch.isupper() for ch in re.sub(r"\\.", "", _SIGNOFF_RE.pattern))


def _mobile_search(padded: str, pos: int = 0) -> re.Match | None:
    """``_MOBILE_RE.search(padded, pos)``."""
    if padded.isascii():
        return _MOBILE_LOWER_RE.search(padded.lower(), pos)
    return _MOBILE_RE.search(padded, pos)


def _is_signoff(line: str) -> bool:
    """``_SIGNOFF_RE.match(line)``, as a bool."""
    if line.isascii():
        return _SIGNOFF_LOWER_RE.match(line.lower()) is not None
    return _SIGNOFF_RE.match(line) is not None


def _cut_signoff(text: str) -> tuple[str, str | None]:
    """Find a sign-off line followed by at most a few short lines at the end of ``text``."""
    # only the last few lines can hold a sign-off block: split just those off
    lines = text.rstrip().rsplit("\n", 2 * _MAX_SIG_LINES + 6)
    nonblank = 0
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip():
            continue
        if len(line) <= 60 and _is_signoff(line):
            before = "\n".join(lines[:i])
            if not before.strip():
                return text, None  # the sign-off is the whole message: keep it
            after = "\n".join(lines[i + 1 :]).strip("\n")
            return before, (after if after.strip() else None)
        nonblank += 1
        if nonblank > _MAX_SIG_LINES or len(line.strip()) > _MAX_SIG_LINE_LEN:
            return text, None
    return text, None


_PHONE_RE = re.compile(r"\+?\(?\d[\d ().\-/]{6,}\d")
_WEB_RE = re.compile(r"https?://|www\.|[\w.+\-]+@[\w\-]+\.[\w.\-]+|\b[\w\-]+\.(?:com|org|net|io|co|example|de|fr|uk|jp|es|nl|se|app)\b", re.I)
_NAME_PARTICLES = frozenset(
    {"de", "da", "das", "do", "dos", "van", "von", "der", "den", "la", "le", "del", "della", "di", "du", "al", "el", "bin", "ter", "y"}
)


def _looks_like_name(line: str) -> bool:
    words = line.split()
    if not 1 <= len(words) <= 4 or len(line) > 40:
        return False
    for word in words:
        core = word.strip(".,'’-")
        if not core or not all(ch.isalpha() or ch in ".'’-" for ch in core):
            return False
        first = core[0]
        if not (first.isupper() or core.lower() in _NAME_PARTICLES or not first.isascii() and not first.islower()):
            return False
    return True


def _cut_contact_block(text: str) -> tuple[str, str | None]:
    """A trailing paragraph "Name / title / phone-or-URL" without a sign-off line."""
    stripped = text.rstrip()
    cut = stripped.rfind("\n\n")
    if cut == -1 or not stripped[:cut].strip():
        return text, None
    block = [ln.strip() for ln in stripped[cut + 2 :].split("\n") if ln.strip()]
    if not 2 <= len(block) <= _MAX_SIG_LINES or any(len(ln) > 60 for ln in block):
        return text, None
    if not _looks_like_name(block[0]):
        return text, None
    if not any(_PHONE_RE.search(ln) or _WEB_RE.search(ln) for ln in block[1:]):
        return text, None
    return stripped[:cut], "\n".join(block)


def _strip_signature(text: str) -> tuple[str, str | None]:
    sig_parts: list[str] = []
    padded = "\n" + text + "\n"
    m = _SIG_DELIM_RE.search(padded)
    if m:
        cut = m.start()
        sig = text[m.end() :].strip("\n")
        if sig.strip():
            sig_parts.insert(0, sig)
        text = text[:cut]
        padded = "\n" + text + "\n"
    m = _mobile_search(padded)
    while m:
        cut = m.start()
        rest = text[cut:].strip("\n")
        rest_lines = [ln for ln in rest.split("\n") if ln.strip()]
        if len(rest_lines) <= _MAX_SIG_LINES + 1 and all(len(ln) <= _MAX_SIG_LINE_LEN for ln in rest_lines):
            sig_parts.insert(0, rest)
            text = text[:cut]
            break
        # a "Sent from" line in the middle of real text: drop just that line
        line_end = m.end() - 1
        sig_parts.insert(0, text[cut:line_end].strip("\n"))
        text = text[:cut] + text[line_end:]
        padded = "\n" + text + "\n"
        m = _mobile_search(padded, cut)
    if sig_parts:
        # "Noah\n-- \nNoah Fischer, CEO": a bare first-name line right above the signature
        head, _, last = text.rstrip().rpartition("\n")
        first_sig_line = sig_parts[0].lstrip().split("\n", 1)[0]
        if (
            head.strip()
            and last.strip()
            and not head.rstrip(" \t").endswith(":")
            and _looks_like_name(last.strip())
            and first_sig_line.lower().startswith(last.strip().lower())
        ):
            text = head
    before = text
    text, signoff_sig = _cut_signoff(text)
    if text is before and not sig_parts:
        text, signoff_sig = _cut_contact_block(text)
    if signoff_sig:
        sig_parts.insert(0, signoff_sig)
    signature = "\n".join(p.strip("\n") for p in sig_parts if p.strip()).strip()
    return text, (signature or None)


# --- what a signature holds ------------------------------------------------------------------

_TITLE_WORDS_RE = re.compile(
    r"\b(?:manager|directora?|head of|head|vp|svp|evp|vice president|chief|officer|founder|co-founder|"
    r"owner|president|partner|principal|cto|ceo|cfo|coo|cio|ciso|cmo|cro|cpo|engineer|architect|"
    r"analyst|consultant|lead|specialist|coordinator|administrator|developer|scientist|recruiter|"
    r"buyer|executive|representative|associate|assistant|advisor|accountant|counsel|attorney|"
    r"gesch\u00e4ftsf\u00fchrer(?:in)?|leiter(?:in)?|vertrieb|einkauf|inhaber(?:in)?|"  # de
    r"directeur|directrice|responsable|g\u00e9rant|charg\u00e9e? de|"  # fr
    r"gerente|jefe|jefa|diretora?|direttore|responsabile|"  # es, pt, it
    r"chef|ansvarig|s\u00e4ljare|kierownik|dyrektor|prezes|"  # sv, pl
    r"\u90e8\u9577|\u8ab2\u9577|\u4e3b\u4efb|\u62c5\u5f53|\u53d6\u7de0\u5f79|\u793e\u9577)\b",  # ja
    re.IGNORECASE,
)
_COMPANY_SUFFIX_RE = re.compile(
    r"(?:\b(?:inc|llc|l\.l\.c|ltd|limited|gmbh|ag|kg|se|sa|sas|sarl|s\.a|s\.l|sl|srl|s\.r\.l|spa|s\.p\.a|"
    r"bv|b\.v|nv|n\.v|ab|as|a/s|aps|oy|oyj|kk|k\.k|pty|plc|llp|lp|corp|corporation|co|company|group|"
    r"holdings?|labs?|technologies|solutions|systems|consulting|partners|industries|"
    r"sp\. z o\.o|s\.a\.s)\b\.?|\u682a\u5f0f\u4f1a\u793e|\u6709\u9650\u4f1a\u793e)",
    re.IGNORECASE,
)
# A bare title word before a comma names a function, not a company: "Director, Revenue Operations".
_BARE_TITLES = frozenset({"director", "directora", "directeur", "head", "vp", "svp", "evp"})
_SIG_SEGMENT_RE = re.compile(r"\s*\|\s*|\s+[\u2013\u2014\u00b7\u2022-]\s+|(,)\s*")
_SIG_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]|,]+", re.IGNORECASE)
_SIG_NOT_TEXT_RE = re.compile(r"@|https?://|www\.|\d{3}")
_GENERIC_CC_TLDS = frozenset({"io", "co", "ai", "me", "tv", "ly", "fm", "gg", "to", "cc", "ws", "eu", "app"})


@functools.lru_cache(maxsize=512)
def _phone_region(tld: str) -> str:
    """The phone region a sender's ccTLD implies (uk -> GB), else US."""
    import phonenumbers

    if len(tld) != 2 or tld in _GENERIC_CC_TLDS:
        return "US"
    region = "GB" if tld == "uk" else tld.upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else "US"


_PHONENUMBERS = None


def _phonenumbers():
    """The phonenumbers module, with its compiled-pattern cache on: validating a number runs
    dozens of metadata patterns, which otherwise keep falling out of the re module's cache."""
    global _PHONENUMBERS
    if _PHONENUMBERS is None:
        import phonenumbers

        phonenumbers.enable_pattern_cache()
        _PHONENUMBERS = phonenumbers
    return _PHONENUMBERS


@functools.lru_cache(maxsize=4096)
def _e164(candidate: str, region: str) -> str | None:
    """A phone number as written -> E.164, or None unless phonenumbers calls it valid."""
    phonenumbers = _phonenumbers()
    try:
        number = _parse_phone(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    # Valid for the sender's region is the common case and much cheaper to check than valid
    # anywhere (which tries every region sharing the country code, e.g. 25 for +1).
    if not (_is_valid_for_region(number, region) or _is_valid_number(number, region)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# phonenumbers.parse and is_valid_number spend most of their time in generic steps (Unicode digit
# normalisation one character at a time, metadata lookups per region) that, for the commonest way
# a signature writes a number - "+", the country code, then ASCII digits and punctuation - come
# down to a few operations. _parse_phone and _is_valid_number take these steps with phonenumbers'
# own helpers and metadata; every other input goes to phonenumbers itself. The tests compare
# both against phonenumbers on many generated numbers.
_INTERNATIONAL_RE = re.compile(r"\+[0-9][0-9 ().\-/]*[0-9]")
_NOT_DIGITS = bytes(c for c in range(256) if not 0x30 <= c <= 0x39)
_PHONE_HELPERS = None


def _phone_helpers():
    """phonenumbers' internals used below, or False when this version lacks one of them."""
    global _PHONE_HELPERS
    if _PHONE_HELPERS is None:
        try:
            from phonenumbers import phonenumberutil as util

            _PHONE_HELPERS = (
                util._is_viable_phone_number, util._maybe_strip_national_prefix_carrier_code,
                util._test_number_length, util._set_italian_leading_zeros_for_phone_number,
                util._number_type_helper, util.COUNTRY_CODE_TO_REGION_CODE, util.region_code_for_country_code,
                util.PhoneMetadata, util.ValidationResult, util.PhoneNumberType, util._MAX_LENGTH_FOR_NSN,
                util._MAX_LENGTH_COUNTRY_CODE, util._MAX_INPUT_STRING_LENGTH,
            )
        except (ImportError, AttributeError):
            _PHONE_HELPERS = False
    return _PHONE_HELPERS


def _parse_phone(candidate: str, region: str):
    """``phonenumbers.parse(candidate, region)``.

    For "+" followed by ASCII digits and punctuation, parse extracts exactly that string (no
    RFC 3966 context, nothing to trim, no extension: those need letters, "#", "," or ";"),
    which is viable when it has 3 digits or more (all its punctuation is phonenumbers'
    _VALID_PUNCTUATION), strips the "+" and every non-digit, reads the first country calling
    code among the first 1-3 digits, and then, with the metadata of that code's main region,
    strips a national prefix if what remains still has a possible length. Those steps are
    taken here.
    """
    phonenumbers = _phonenumbers()
    helpers = _phone_helpers()
    if not helpers or not candidate.isascii() or not _INTERNATIONAL_RE.fullmatch(candidate):
        return phonenumbers.parse(candidate, region)
    (viable, strip_national_prefix, test_length, set_leading_zeros, _, regions_by_code,
     region_for_code, metadata_store, results, _, max_nsn, max_code, max_input) = helpers
    digits = candidate.encode("ascii").translate(None, _NOT_DIGITS).decode("ascii")
    if len(candidate) > max_input or len(digits) <= 2 or digits[0] == "0":
        return phonenumbers.parse(candidate, region)  # not viable, too short after the "+", or no code
    for length in range(1, min(len(digits), max_code) + 1):
        code = int(digits[:length])
        if code in regions_by_code:
            break
    else:
        return phonenumbers.parse(candidate, region)  # no such country code: parse retries without the "+"
    national = digits[length:]
    metadata = metadata_store.metadata_for_region_or_calling_code(code, region_for_code(code))
    if len(national) < 2 or metadata is None:
        return phonenumbers.parse(candidate, region)
    _, stripped, _ = strip_national_prefix(national, metadata)
    if test_length(stripped, metadata) not in (results.TOO_SHORT, results.IS_POSSIBLE_LOCAL_ONLY, results.INVALID_LENGTH):
        national = stripped
    if not 2 <= len(national) <= max_nsn:
        return phonenumbers.parse(candidate, region)
    number = phonenumbers.PhoneNumber(country_code=code)
    set_leading_zeros(national, number)
    number.national_number = int(national)
    return number


@functools.lru_cache(maxsize=64)
def _regions_of_code(code: int) -> tuple:
    """The regions sharing ``code`` as phonenumbers' region_code_for_number walks them: runs of
    regions with leading digits, as one pattern whose first matching alternative names the
    region (a named group per region, in order), and regions without, as (region, metadata)."""
    helpers = _phone_helpers()
    metadata_store = helpers[7]
    steps: list = []
    run: list = []
    for region in helpers[5].get(code, ()):
        metadata = metadata_store.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            run.append((region, metadata.leading_digits))
            continue
        if run:
            steps.append(_leading_digits_step(run))
            run = []
        steps.append((region, metadata))
    if run:
        steps.append(_leading_digits_step(run))
    return tuple(steps)


def _leading_digits_step(run: list) -> tuple:
    names = {f"r{index}": region for index, (region, _) in enumerate(run)}
    pattern = re.compile("|".join(f"(?P<r{index}>(?:{leading}))" for index, (_, leading) in enumerate(run)))
    return pattern, names


def _valid_in(metadata, national: str) -> bool:
    """``phonenumberutil._number_type_helper(national, metadata) != PhoneNumberType.UNKNOWN``:
    the general description and one of the type descriptions it tries match the number (their
    possible lengths, then their pattern in full), as one compiled pattern per number length."""
    key = (id(metadata), len(national))  # metadata objects live as long as the process
    check = _VALIDITY.get(key)
    if check is None:
        check = _VALIDITY[key] = _validity_pattern(metadata, len(national))
    return check is not False and check.fullmatch(national) is not None


_VALIDITY: dict = {}


def _validity_pattern(metadata, length: int):
    def usable(desc) -> bool:  # phonenumberutil._is_number_matching_desc, minus the pattern match
        if desc is None or not desc.national_number_pattern:
            return False
        return not desc.possible_length or length in desc.possible_length

    general = metadata.general_desc
    if not usable(general):
        return False
    descs = [metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
             metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail, metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:  # else mobile is not tried after fixed_line
        descs.append(metadata.mobile)
    alternatives = [f"(?:{desc.national_number_pattern})" for desc in descs if usable(desc)]
    if not alternatives:
        return False
    return re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(alternatives)})")


def _is_valid_for_region(number, region: str) -> bool:
    """``phonenumbers.is_valid_number_for_region(number, region)`` for a region code of a country
    (not "001"), which _phone_region always gives."""
    helpers = _phone_helpers()
    if not helpers or region == "001":
        return _phonenumbers().is_valid_number_for_region(number, region)
    metadata = helpers[7].metadata_for_region(region.upper(), None)
    if metadata is None or number.country_code != metadata.country_code:
        return False
    return _valid_in(metadata, _phonenumbers().national_significant_number(number))


def _is_valid_number(number, invalid_region: str) -> bool:
    """``phonenumbers.is_valid_number(number)``, knowing that the number is not valid for
    ``invalid_region``: the region phonenumbers attributes a shared country code's number to
    is the first (in its order) whose leading digits match it, or without leading digits, for
    which it is valid; the number is valid if it is valid for that region."""
    phonenumbers = _phonenumbers()
    helpers = _phone_helpers()
    regions = helpers[5].get(number.country_code) if helpers else None
    if not regions or len(regions) == 1:
        return phonenumbers.is_valid_number(number)
    national = phonenumbers.national_significant_number(number)
    for step in _regions_of_code(number.country_code):
        if type(step[0]) is str:  # (region, metadata): valid there means valid
            region, metadata = step
            if region != invalid_region and _valid_in(metadata, national):
                return True
            continue
        pattern, names = step
        m = pattern.match(national)
        if m is not None:
            region = names[m.lastgroup]
            return region != invalid_region and _is_valid_for_region(number, region)
    return False


# The title and company patterns are lower-case: on ASCII text, matching them case-sensitively
# against the lower-cased text is the same as matching with IGNORECASE (no ASCII character has
# another case-insensitive match among their characters), and ~3x faster (literal fast checks).
_TITLE_WORDS_LOWER_RE = re.compile(_TITLE_WORDS_RE.pattern)
_COMPANY_SUFFIX_LOWER_RE = re.compile(_COMPANY_SUFFIX_RE.pattern)
assert _TITLE_WORDS_RE.pattern == _TITLE_WORDS_RE.pattern.lower()
assert _COMPANY_SUFFIX_RE.pattern == _COMPANY_SUFFIX_RE.pattern.lower()


def _has_title_words(text: str) -> bool:
    if text.isascii():
        return _TITLE_WORDS_LOWER_RE.search(text.lower()) is not None
    return _TITLE_WORDS_RE.search(text) is not None


def _has_company_suffix(text: str) -> bool:
    if text.isascii():
        return _COMPANY_SUFFIX_LOWER_RE.search(text.lower()) is not None
    return _COMPANY_SUFFIX_RE.search(text) is not None


@functools.lru_cache(maxsize=4096)  # names, titles and company lines repeat from mail to mail
def _is_mobile_footer(line: str) -> bool:
    padded = "\n" + line
    if padded.isascii():
        return _MOBILE_LOWER_RE.match(padded.lower()) is not None
    return _MOBILE_RE.match(padded) is not None


@functools.lru_cache(maxsize=4096)
def _signature_line(line: str) -> tuple | None:
    """What one signature line offers, independent of the other lines: None for a line that
    cannot hold a title or company (too long, an address, a URL), else (the title with the
    company that follows it on the line, or None; company-like segments in line order).
    """
    if len(line) > 80 or "@" in line or _SIG_URL_RE.search(line):
        return None
    pieces = _SIG_SEGMENT_RE.split(line)  # [text, "," or None, text, ...]
    segments = [seg.strip() for seg in pieces[::2] if seg and seg.strip()]
    comma_after = [sep == "," for seg, sep in zip(pieces[::2], pieces[1::2]) if seg and seg.strip()]
    titled = None
    for pos, seg in enumerate(segments):
        if _has_title_words(seg) and not any(ch.isdigit() for ch in seg):
            title = seg
            rest = segments[pos + 1 :]
            if (rest and title.casefold() in _BARE_TITLES and pos < len(comma_after) and comma_after[pos]
                    and not _has_company_suffix(rest[0])):
                title = f"{title}, {rest.pop(0)}"
            company = rest[0] if rest and not _SIG_NOT_TEXT_RE.search(rest[0]) else None
            titled = (title, company)
            break
    companies = tuple(seg for seg in segments if _has_company_suffix(seg) and not _SIG_NOT_TEXT_RE.search(seg))
    return titled, companies


def signature_fields(signature: str | None, sender: str | None = None) -> dict:
    """Title, company, phone (E.164, region from the sender's ccTLD) and URLs in a signature.

    Heuristic and conservative: a field is None (``urls`` empty) unless a line clearly holds it.
    """
    fields: dict = {"title": None, "company": None, "phone": None, "urls": []}
    if not signature:
        return fields
    lines = [line.strip(" \t|*_") for line in signature.splitlines()]
    lines = [line for line in lines[:12] if line and not _is_mobile_footer(line)]
    urls = []
    for url in _SIG_URL_RE.findall(signature):
        url = url.rstrip(".;:")
        if url not in urls:
            urls.append(url)
    fields["urls"] = urls
    candidates = _PHONE_RE.findall(signature)  # (needs a digit: none, no phone)
    if candidates:
        region = _phone_region((sender or "").rpartition(".")[2].lower())
        for candidate in candidates:
            fields["phone"] = _e164(candidate, region)
            if fields["phone"]:
                break
    title_line = None
    for index, line in enumerate(lines):
        found = _signature_line(line)
        if found is None:
            continue
        titled, companies = found
        if titled is not None and fields["title"] is None:
            fields["title"] = titled[0]
            title_line = index
            if fields["company"] is None and titled[1] is not None:
                fields["company"] = titled[1]
        if fields["company"] is None:
            for seg in companies:
                if seg != fields["title"]:
                    fields["company"] = seg
                    break
    if fields["company"] is None and title_line is not None and title_line + 1 < len(lines):
        candidate = lines[title_line + 1]
        if len(candidate.split()) <= 5 and not _SIG_NOT_TEXT_RE.search(candidate) and not _has_title_words(candidate):
            fields["company"] = candidate
    return fields


# --------------------------------------------------------------------------------------------
# clean_body
# --------------------------------------------------------------------------------------------

_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_BLANK_RUN_RE = re.compile(r"\n(?:[ \t]*\n){3,}")  # > 2 blank lines


_INVISIBLE_CHARS = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u00a0" in text:
        text = text.replace("\u00a0", " ")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if any(ch in text for ch in _INVISIBLE_CHARS):
        text = _INVISIBLE_RE.sub("", text)
    return text


def _finish(text: str) -> str:
    if " \n" in text or "\t\n" in text:
        text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    if "\n\n\n\n" in text:
        text = _BLANK_RUN_RE.sub("\n\n\n", text)
    return text.strip()


def clean_body(text: str | None, html: str | None) -> CleanedBody:
    """Separate what the sender wrote from quoted history and signature.

    Uses ``text`` when it has content, else the HTML: its mail-client quote containers
    (Gmail, Apple Mail, Outlook, Thunderbird, Yahoo) are history, the rest becomes text.
    """
    html_quoted = None
    if text and text.strip():
        body = text
    elif html:
        body, html_quoted = _html_reply(html)
    else:
        body = ""
    if not body and not html_quoted:
        return CleanedBody(reply_text="", signature=None, quoted=None)
    body = _normalise_newlines(body)
    new_text, quoted = _split_quotes(body) if body else ("", None)
    new_text, signature = _strip_signature(new_text)
    if html_quoted:
        html_quoted = _normalise_newlines(html_quoted)
        quoted = f"{quoted}\n\n{html_quoted}" if quoted else html_quoted
    return CleanedBody(
        reply_text=_finish(new_text),
        signature=signature,
        quoted=_finish(quoted) if quoted else None,
    )


# --------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------

_ASCII_ALNUM_RE = re.compile("[A-Za-z0-9]")


def _has_alnum(line: str) -> bool:
    return any(ch.isalnum() for ch in line)


def normalise_for_hash(text: str) -> str:
    """Case-fold, drop punctuation-only lines, collapse all whitespace (incl. line breaks)."""
    if not text:
        return ""
    if text.isascii():  # NFKC is the identity and casefold is lower() on ASCII
        # on ASCII, str.isalnum is exactly [A-Za-z0-9]: filter lines without a Python frame each
        lines = list(filter(_ASCII_ALNUM_RE.search, text.lower().splitlines()))
    else:
        if any(ch in text for ch in _INVISIBLE_CHARS):
            text = _INVISIBLE_RE.sub("", text)
        text = unicodedata.normalize("NFKC", text).casefold()
        lines = [line for line in text.splitlines() if _has_alnum(line)]
    return " ".join(" ".join(lines).split())  # str.split() splits on exactly what \s matches


def content_hash(reply_text: str) -> str:
    """Hex sha256 of :func:`normalise_for_hash` of the reply text."""
    return hashlib.sha256(normalise_for_hash(reply_text or "").encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------------

_LANGID_LOCK = threading.Lock()
_IDENTIFIER = None
_MIN_LETTERS = 20
_MIN_CONFIDENCE = 0.5
# The classifier walks its model byte by byte in Python (~0.3 us per byte): the first few
# hundred characters decide the language of a reply as well as the whole text does.
_LANG_SAMPLE_CHARS = 500
_URLISH_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
_WIDE_LETTERS_RE = re.compile(r"[\u2e80-\U0010ffff]")


def _identifier():
    global _IDENTIFIER
    if _IDENTIFIER is None:
        with _LANGID_LOCK:
            if _IDENTIFIER is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                import numpy

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                # ISO 639-1 only: drop 3-letter codes and 'zxx' (no linguistic content)
                ident.set_languages([c for c in ident.labels if len(c) == 2])
                # set_languages leaves a column-major float16 slice; scoring gathers rows of it,
                # which is 3x faster from a row-major float32 copy (~45 MB, loaded once).
                ident.nb_ptc = numpy.ascontiguousarray(ident.nb_ptc, dtype=numpy.float32)
                _IDENTIFIER = ident
    return _IDENTIFIER


# ASCII bytes that are not letters (str.isalpha on ASCII is exactly A-Z, a-z).
_ASCII_NOT_ALPHA = bytes(c for c in range(128) if not chr(c).isalpha())


def _maybe_urlish(sample: str) -> bool:
    """False when :data:`_URLISH_RE` cannot match: it needs "@", "://" or "www." ("w" has no
    other case-insensitive match), and scanning for it costs ~0.1 us per character."""
    return "@" in sample or "://" in sample or "w." in sample or "W." in sample


def _letter_weight(text: str) -> int:
    """Letters in ``text``; CJK / kana count double (they carry more information per char)."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_NOT_ALPHA))
    letters = sum(map(str.isalpha, text))
    return letters + sum(map(str.isalpha, _WIDE_LETTERS_RE.findall(text)))


# Function words that occur in one of these languages only (and not as loanwords in business
# English). A text dominated by one list is that language: the common case (a clear sentence or
# two) is answered without the statistical model; anything less clear-cut goes to the model.
_FUNCTION_WORDS = {
    "en": "the and of are you your our would could please with this that have has will can not about from "
          "they was were what when how thanks hello looking forward which there been",
    "fr": "et est nous vous pour une dans pas sur avec cette sont votre notre aux au merci bonjour très "
          "souhaitons pouvez serait cordialement vos suis avons être",
    "de": "der und ist nicht wir sie ich mit für ein eine einen zu auf dem sich bitte vielen ihr ihre ihnen "
          "unser unsere auch oder haben sind wird können möchten gerne uns bei nach von aus über grüße freundlichen",
    "es": "el los las y su sus muy gracias hola están pero más nuestro nuestra nuestros podrían quisiéramos "
          "saludos usted ustedes buenos nosotros",
    "pt": "não uma obrigado obrigada olá você vocês são nosso nossa nossos ao gostaríamos poderiam "
          "atenciosamente em muito também isso",
    "nl": "het een dat niet ik voor op zijn hebben graag bedankt uw jullie ons onze ook maar naar bij wordt "
          "kunnen willen groeten hallo wij",
    "it": "di che è sono della delle dei grazie buongiorno vorremmo nostro nostra vostro vostra anche gli alla "
          "siamo saluti questo questa molto sarebbe",
    "sv": "och är inte jag tack också skulle hälsningar att vårt våra gärna",
    "pl": "się że jest są dla czy proszę dzień dobry oraz bardzo nasz nasza państwa prosimy pozdrawiam dziękuję",
}
_FUNCTION_WORD_LANGUAGE = {word: lang for lang, words in _FUNCTION_WORDS.items() for word in words.split()}
_WORD_RE = re.compile(r"[^\W\d_]+")
_ASCII_WORD_RE = re.compile(r"[a-z]+")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")  # hiragana and katakana: Japanese only
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")


def _clear_language(sample: str, letters: int) -> str | None:
    """The language of a text that leaves no doubt, or None (then the model decides)."""
    if not sample.isascii():
        if len(_KANA_RE.findall(sample)) * 5 >= letters:
            return "ja"
        if len(_HANGUL_RE.findall(sample)) * 2 >= letters:
            return "ko"
    # on ASCII text, [^\W\d_] is exactly the letters, and lower() leaves only a-z of them
    words = (_ASCII_WORD_RE if sample.isascii() else _WORD_RE).findall(sample.lower())
    hits: dict[str, int] = {}
    for word in words:
        lang = _FUNCTION_WORD_LANGUAGE.get(word)
        if lang is not None:
            hits[lang] = hits.get(lang, 0) + 1
    if not hits:
        return None
    best = max(hits, key=hits.__getitem__)
    count = hits[best]
    runner_up = max((n for lang, n in hits.items() if lang != best), default=0)
    if count >= 3 and count >= 3 * runner_up and count * 6 >= len(words):
        return best
    return None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``, or None if too short/unsure.

    Clear-cut texts are decided by function words and script; the rest by py3langid (loaded
    lazily), both offline.
    """
    if not text:
        return None
    sample = text[:_LANG_SAMPLE_CHARS]
    if _maybe_urlish(sample):
        sample = _URLISH_RE.sub(" ", sample)
    letters = _letter_weight(sample)
    if letters < _MIN_LETTERS:
        return None
    clear = _clear_language(sample, letters)
    if clear is not None:
        return clear
    return _model_language(sample)


@functools.lru_cache(maxsize=1024)  # short replies ("Thanks, see below") come again and again
def _model_language(sample: str) -> str | None:
    lang, confidence = _identifier().classify(sample)
    if confidence < _MIN_CONFIDENCE or len(lang) != 2:
        return None
    return lang
