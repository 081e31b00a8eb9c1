import phonenumbers
import pytest
from phonenumbers import PhoneMetadata

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


def test_find_phone_prefers_an_office_line_and_reads_line_by_line_as_the_whole_text():
    text = "Call me: mobile +44 7911 123456\nOffice +44 20 7946 0958 ext. 12\nAt 10:30 on 2026-03-01, 1,500 seats"
    assert norm.find_phone(text, "GB") == "+442079460958"
    whole = [phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
             for m in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.VALID)]
    by_line = [phone for line in text.split("\n") for _, phone in norm._phones_in_line(line, "GB")]
    assert whole == by_line == ["+447911123456", "+442079460958"]


def test_no_region_has_a_valid_number_shorter_than_the_line_filter():
    lengths = [
        metadata.general_desc.possible_length
        for metadata in [PhoneMetadata.metadata_for_region(region) for region in phonenumbers.SUPPORTED_REGIONS]
        + [PhoneMetadata.metadata_for_nongeo_region(code) for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    ]
    assert all(lengths)  # an empty list would mean any length
    assert min(min(found) for found in lengths) == norm.MIN_PHONE_DIGITS


def test_company_name_from_domain():
    assert norm.company_name_from_domain("acme-robotics.example") == "Acme Robotics"
