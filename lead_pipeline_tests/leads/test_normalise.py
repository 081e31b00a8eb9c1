import pytest

from lead_pipeline.leads import normalise as norm


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Alex.Chen@Example.COM ", "alex.chen@example.com"),
    ("<bob@acme-robotics.example>", "bob@acme-robotics.example"),
    ("not an address", None),
    ("a@localhost", None),
    ("", None),
])
def test_normalise_email(raw, expected):
    assert norm.normalise_email(raw) == expected


@pytest.mark.parametrize(("host", "expected"), [
    ("sales.brightfield.co.uk", "brightfield.co.uk"),
    ("mail.acme-robotics.example", "acme-robotics.example"),
    ("example.com", "example.com"),
    ("localhost", None),
])
def test_registrable_domain_uses_the_public_suffix_list_offline(host, expected):
    assert norm.registrable_domain(host) == expected


def test_free_mail_and_disposable_senders_have_no_company_domain():
    assert norm.company_domain_of("someone@gmail.com") is None
    assert norm.company_domain_of("someone@yahoo.co.jp") is None
    assert norm.company_domain_of("someone@mailinator.com") is None
    assert norm.company_domain_of("someone@sales.brightfield.co.uk") == "brightfield.co.uk"


@pytest.mark.parametrize(("raw", "expected"), [
    ("CHEN, ALEX", "Alex Chen"),
    ("alex chen", "Alex Chen"),
    ("Mary McDonald", "Mary McDonald"),
    ('"Priya Natarajan"', "Priya Natarajan"),
    ("bob@example.com", None),
    (None, None),
])
def test_normalise_person_name(raw, expected):
    assert norm.normalise_person_name(raw) == expected


def test_phone_region_follows_the_country_code_domain():
    assert norm.region_for_domain("brightfield.co.uk") == "GB"
    assert norm.region_for_domain("firma.de") == "DE"
    assert norm.region_for_domain("acme.com") == "US"
    assert norm.normalise_phone("020 7946 0958", "GB") == "+442079460958"
    assert norm.normalise_phone("+1 123 456", "DE") is None
    assert norm.normalise_phone("+1 (212) 736-5000", "DE") == "+12127365000"


def test_find_phone_in_a_signature():
    signature = "Jana Novak\nHead of Data, Firma GmbH\nTel. +49 30 901820\nwww.firma.de"
    assert norm.find_phone(signature, "DE") == "+4930901820"
    assert norm.find_phone("no digits here", "US") is None


def test_company_name_from_domain():
    assert norm.company_name_from_domain("acme-robotics.example") == "Acme Robotics"
