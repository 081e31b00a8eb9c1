import hashlib
import pytest

from lead_pipeline.stores.blobs import BlobStore


def test_blobs_are_stored_once_under_their_sha256(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"%PDF-1.4 resume")
    assert digest == hashlib.sha256(b"%PDF-1.4 resume").hexdigest()
    assert blobs.put(b"%PDF-1.4 resume") == digest
    assert blobs.path_of(digest).read_bytes() == b"%PDF-1.4 resume"
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [digest]
    assert blobs.has(digest) and not blobs.has("0" * 64)
    assert blobs.url_of(digest).startswith("file://")
    assert blobs.read(digest) == b"%PDF-1.4 resume"


def test_local_blobs_have_no_download_link(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    assert blobs.signed_url(blobs.put(b"bytes")) is None


def test_quarantined_bytes_are_kept_apart_and_never_served(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    stored = blobs.put(b"later found bad")
    assert blobs.quarantine(stored) and not blobs.has(stored) and blobs.is_quarantined(stored)
    assert (tmp_path / "blobs" / "quarantine" / stored[:2] / stored).read_bytes() == b"later found bad"
    with pytest.raises(FileNotFoundError):
        blobs.read(stored)
    direct = blobs.put(b"bad on arrival", quarantined=True)
    assert blobs.is_quarantined(direct) and not blobs.has(direct)
    assert not blobs.quarantine("f" * 64)


def test_delete_erases_a_blob_from_both_areas(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"erase me")
    blobs.put(b"erase me", quarantined=True)
    assert blobs.delete(digest)
    assert not blobs.has(digest) and not blobs.is_quarantined(digest)
    assert not blobs.delete(digest)


def test_keys_must_be_sha256_digests(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            blobs.has(bad)
