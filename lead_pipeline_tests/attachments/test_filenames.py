import pytest

from lead_pipeline.attachments.filenames import FALLBACK_NAME, MAX_NAME_BYTES, sanitise_filename


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\system.ini", "system.ini"),
    ("/absolute/path/Quote 2026.pdf", "Quote 2026.pdf"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("COM1.tar.gz", "_COM1.tar.gz"),
    ("lpt9", "_lpt9"),
    ("console.txt", "console.txt"),
    (".htaccess", "htaccess"),
    ("report. . ", "report"),
    ("in\x00voice\x1f.pdf", "invoice.pdf"),
    ("resume\u202egpj.exe", "resumegpj.exe"),  # a right-to-left override would show it as ...exe.jpg
    ('a<b>:"c"|?*.txt', "a_b___c____.txt"),
    ("tab\tand\nnewline.txt", "tabandnewline.txt"),
    ("", FALLBACK_NAME),
    (None, FALLBACK_NAME),
    ("...", FALLBACK_NAME),
    ("../..", FALLBACK_NAME),
])
def test_names_are_made_safe(given, expected):
    assert sanitise_filename(given) == expected


def test_long_names_are_capped_keeping_the_extension():
    for stem in ("x" * 400, "é" * 300):
        name = sanitise_filename(stem + ".docx")
        assert name.endswith(".docx") and len(name.encode("utf-8")) <= MAX_NAME_BYTES
        assert name.startswith(stem[:50])
