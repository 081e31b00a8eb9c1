"""The clamd client against a real clamd (started by the fixture, with an offline EICAR signature)."""

from lead_pipeline.attachments.scanning import CLEAN, ERROR, INFECTED, UNSCANNED, ClamdScanner, scanner_for
from lead_pipeline_tests.attachments.standins import EICAR, EICAR_SIGNATURE, clean_pdf


def test_eicar_is_infected_and_named(clamd_url):
    verdict = ClamdScanner(clamd_url).scan(EICAR)
    assert verdict.status == INFECTED
    assert EICAR_SIGNATURE in verdict.detail


def test_clean_pdf_and_empty_bytes_pass(clamd_url):
    scanner = ClamdScanner(clamd_url)
    assert scanner.scan(clean_pdf()).status == CLEAN
    assert scanner.scan(b"").status == CLEAN


def test_large_files_stream_in_chunks(clamd_url):
    # Several INSTREAM chunks; the EICAR hash signature matches whole files only.
    assert ClamdScanner(clamd_url).scan(clean_pdf() * 2000).status == CLEAN


def test_a_bare_socket_path_is_a_unix_socket(clamd_url):
    assert ClamdScanner(clamd_url.removeprefix("unix://")).scan(EICAR).status == INFECTED


def test_unreachable_clamd_is_an_error_not_clean(tmp_path):
    verdict = ClamdScanner(f"unix://{tmp_path}/absent.sock", timeout_s=2).scan(clean_pdf())
    assert verdict.status == ERROR and "unreachable" in verdict.detail
    assert ClamdScanner("tcp://127.0.0.1:9", timeout_s=2).scan(b"x").status == ERROR


def test_no_scanner_configured_means_unscanned():
    scanner = scanner_for(None)
    assert not scanner.configured and scanner.scan(EICAR).status == UNSCANNED
