import pytest

from lead_pipeline_tests.attachments.standins import running_clamd, running_s3


@pytest.fixture(scope="session")
def clamd_url(tmp_path_factory):
    with running_clamd(tmp_path_factory.mktemp("clamd")) as address:
        yield address


@pytest.fixture(scope="session")
def s3_endpoint():
    with running_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """The standard AWS variables pointing at the local S3 server, as production would set them."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_endpoint
