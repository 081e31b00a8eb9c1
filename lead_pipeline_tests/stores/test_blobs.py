import hashlib

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
