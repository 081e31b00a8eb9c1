import pytest

from lead_pipeline.leads import signals


@pytest.mark.parametrize(("url", "anchor", "suspicious"), [
    ("https://bit.ly/3xYz", None, True),
    ("http://203.0.113.7/login", None, True),
    ("http://[2001:db8::1]/x", None, True),
    ("https://evil.example/login", "www.yourbank.com", True),
    ("https://www.acme.com/pricing", "acme.com/pricing", False),
    ("https://docs.acme.com/", "Read the docs", False),
])
def test_link_is_suspicious(url, anchor, suspicious):
    assert signals.link_is_suspicious(url, anchor) is suspicious


def test_suspicious_links_are_counted_in_html_and_text_once_each():
    html = '<a href="https://bit.ly/abc">offer</a> <a href="https://acme.com">acme.com</a>'
    text = "see https://bit.ly/abc and http://198.51.100.4/verify"
    assert signals.suspicious_link_count(text, html) == 2


@pytest.mark.parametrize(("alias", "subject", "text", "expected"), [
    ("jobs@yourcompany.example", "Hello", "Please find my CV attached", "job_application"),
    ("jobs@yourcompany.example", "Hello", "Hiring? We are a recruitment agency", "other"),
    ("sales@yourcompany.example", "Application for Data Engineer", "my resume attached", "job_application"),
    ("sales@yourcompany.example", "Question", "We get an error when we call the API", "support"),
    ("sales@yourcompany.example", "Reseller partnership", "We are an agency", "partnership"),
    ("demo@yourcompany.example", "Enterprise pricing", "How much for 200 seats?", "pricing"),
    ("demo@yourcompany.example", "Demo and pricing", "Could we see a demo? Also your prices.", "demo"),
    ("support@yourcompany.example", "Export fails", "Also, what does the next plan cost?", "support"),
    ("demo@yourcompany.example", "Demande de démonstration", "Nous voudrions une démonstration", "demo"),
    ("demo@yourcompany.example", "デモのお願い", "御社の製品のデモをお願いします", "demo"),
    ("sales@yourcompany.example", "Hi", "Tell me more", "other"),
])
def test_classify_intent(alias, subject, text, expected):
    pitch = signals.is_vendor_pitch(text)
    assert signals.classify_intent(alias, subject, text, is_spam=False, is_vendor_pitch=pitch) == expected


def test_an_attached_document_makes_mail_to_jobs_an_application():
    assert signals.classify_intent("jobs@yourcompany.example", "Hello", "See attached", is_spam=False,
                                   has_document=True) == "job_application"
    assert signals.classify_intent("jobs@yourcompany.example", "Hello", "See attached", is_spam=False) == "other"


def test_spam_wins_over_every_other_intent():
    assert signals.classify_intent("jobs@yourcompany.example", "Job", "", is_spam=True) == "spam"


def test_spam_lexicon_hits():
    assert signals.spam_lexicon_hits("You have won", "Claim your bitcoin now, click here") == 3
    assert signals.spam_lexicon_hits("Demo request", "We would like a demo") == 0


def test_role_from_signature_picks_the_title_line():
    assert signals.role_from_signature("Alex Chen\nVP Engineering\nAcme Robotics\n+1 212 736 5000") == "VP Engineering"
    assert signals.role_from_signature("Alex\nAcme Robotics") is None


@pytest.mark.parametrize(("signature", "person", "company", "role"), [
    ("Noah Fischer, CEO, Quillstack", "Noah Fischer", "Quillstack", "CEO"),
    ("Harriet Cole | Inside Sales Manager", "Harriet Cole", None, "Inside Sales Manager"),
    ("Managing Director, Nordlys Solutions AB", None, "Nordlys Solutions", "Managing Director"),
    ("Director, Revenue Operations\nAcme", None, "Acme", "Director, Revenue Operations"),
    ("Responsable commerciale - Atelier Lumière SARL", None, "Atelier Lumiere", "Responsable commerciale"),
])
def test_role_leaves_out_the_persons_and_companys_names(signature, person, company, role):
    assert signals.role_from_signature(signature, person, company) == role


@pytest.mark.parametrize(("subject", "header", "expected"), [
    ("Automatic reply: Following up", None, True),
    ("Out of Office: back Monday", None, True),
    ("Réponse automatique : absent", None, True),
    ("Re: demo", "auto-replied", True),
    ("Re: demo", "no", False),
    ("Office furniture pricing", None, False),
])
def test_is_auto_reply(subject, header, expected):
    assert signals.is_auto_reply(subject, header) is expected
