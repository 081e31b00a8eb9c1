"""The blob store on a real S3-compatible server (moto) on 127.0.0.1, configured by the AWS_* variables."""

import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lead_pipeline.stores.blobs import BlobStore


@pytest.fixture
def s3_blobs(s3_env):
    import s3fs

    bucket = f"leads-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return BlobStore(f"s3://{bucket}/attachments")


def test_s3_store_keeps_the_same_layout_and_api(s3_blobs):
    digest = s3_blobs.put(b"%PDF-1.7 deck")
    assert s3_blobs.put(b"%PDF-1.7 deck") == digest
    assert s3_blobs.has(digest) and s3_blobs.read(digest) == b"%PDF-1.7 deck"
    assert s3_blobs.url_of(digest) == f"s3://{s3_blobs.root}/{digest[:2]}/{digest}"
    assert s3_blobs.quarantine(digest) and s3_blobs.is_quarantined(digest) and not s3_blobs.has(digest)
    assert s3_blobs.signed_url(digest) is None  # quarantined: never linked
    assert s3_blobs.delete(digest) and not s3_blobs.is_quarantined(digest)
    assert not s3_blobs.delete(digest)


def test_s3_signed_link_downloads_the_bytes_for_a_limited_time(s3_blobs):
    content = b"%PDF-1.7 signed " + uuid.uuid4().bytes
    digest = s3_blobs.put(content)
    link = s3_blobs.signed_url(digest, expires_s=120)
    assert link.startswith("http://127.0.0.1:")
    assert httpx.get(link).content == content
    assert httpx.get(link.split("?", 1)[0]).status_code == 403  # the same object without the signature
    # moto serves a presigned URL without checking its expiry, so the signed validity is read from the link.
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["120"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60


def test_only_stored_blobs_get_links(s3_blobs):
    assert s3_blobs.signed_url("0" * 64) is None
