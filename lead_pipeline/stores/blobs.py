"""Content-addressed storage of attachment bytes: one object per sha256, written once.

The store is a local folder (`LEAD_PIPELINE_HOME/blobs`) by default, or any fsspec URL in
production (`s3://bucket/prefix`, credentials and endpoint from the standard `AWS_*` variables or
storage options). Layout under the root:

* `<sha[:2]>/<sha>` — stored attachments, the only ones that may be linked;
* `quarantine/<sha[:2]>/<sha>` — bytes a malware scanner flagged: kept for inspection, never linked.

Download links: `signed_url` returns a short-lived presigned HTTP URL where the backend can sign
(S3 and S3-compatible stores); a local folder cannot, so it returns None and callers show no link.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

QUARANTINE = "quarantine"
DEFAULT_LINK_SECONDS = 900


class BlobStore:
    def __init__(self, root: str | Path, storage_options: dict[str, Any] | None = None):
        root = str(root)
        if "://" in root:
            options = dict(storage_options or {})
            if root.startswith(("s3://", "s3a://")):
                # Links signed with SigV4: SigV2 is deprecated and refused by newer regions.
                options.setdefault("config_kwargs", {"signature_version": "s3v4"})
            self.fs, path = fsspec.core.url_to_fs(root, **options)
            self.root = path.rstrip("/")
            self._protocol = root.split("://", 1)[0]
        else:
            self.fs = LocalFileSystem()
            self.root = str(Path(root).expanduser().resolve())
            self._protocol = "file"
        self.is_local = isinstance(self.fs, LocalFileSystem)

    # -- where ------------------------------------------------------------------------------

    def key_of(self, sha256: str, *, quarantined: bool = False) -> str:
        check_digest(sha256)
        area = f"{self.root}/{QUARANTINE}" if quarantined else self.root
        return f"{area}/{sha256[:2]}/{sha256}"

    def path_of(self, sha256: str) -> Path:
        """The file of a stored blob (local stores only)."""
        if not self.is_local:
            raise ValueError(f"{self._protocol}:// blobs have no local path")
        return Path(self.key_of(sha256))

    def url_of(self, sha256: str) -> str:
        """The stored blob's own URL (`file://...`, `s3://bucket/...`): for operators, not a download link."""
        if self.is_local:
            return self.path_of(sha256).as_uri()
        return f"{self._protocol}://{self.key_of(sha256)}"

    # -- writes -------------------------------------------------------------------------------

    def put(self, content: bytes, *, quarantined: bool = False) -> str:
        """Store bytes under their sha256 and return it; storing the same bytes again is a no-op.

        Quarantined bytes go to the quarantine area only, and a stored copy of them is removed.
        """
        digest = hashlib.sha256(content).hexdigest()
        target = self.key_of(digest, quarantined=quarantined)
        if not self.fs.exists(target):
            self._write(target, content)
        if quarantined:
            self._remove(self.key_of(digest))
        return digest

    def quarantine(self, sha256: str) -> bool:
        """Move a stored blob to the quarantine area; False when it is not stored."""
        source = self.key_of(sha256)
        if not self.fs.exists(source):
            return False
        target = self.key_of(sha256, quarantined=True)
        if self.fs.exists(target):
            self._remove(source)
        else:
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(source, target)
        return True

    def delete(self, sha256: str) -> bool:
        """Remove the blob from both areas (erasure); True when anything was removed."""
        removed = [self._remove(self.key_of(sha256, quarantined=q)) for q in (False, True)]
        return any(removed)

    # -- reads --------------------------------------------------------------------------------

    def has(self, sha256: str) -> bool:
        return self.fs.exists(self.key_of(sha256))

    def is_quarantined(self, sha256: str) -> bool:
        return self.fs.exists(self.key_of(sha256, quarantined=True))

    def read(self, sha256: str) -> bytes:
        """A stored blob's bytes (FileNotFoundError when not stored; quarantined bytes are not served)."""
        return self.fs.cat_file(self.key_of(sha256))

    def signed_url(self, sha256: str, expires_s: int = DEFAULT_LINK_SECONDS) -> str | None:
        """A presigned download URL valid for `expires_s` seconds, or None where the backend cannot sign
        (a local folder) or the blob is not stored (missing, rejected or quarantined)."""
        if self.is_local or not self.has(sha256):
            return None
        try:
            return self.fs.sign(self.key_of(sha256), expiration=expires_s)
        except NotImplementedError:
            return None

    # -- internals ------------------------------------------------------------------------------

    def _write(self, target: str, content: bytes) -> None:
        if not self.is_local:
            self.fs.pipe_file(target, content)  # an object store's PUT is atomic
            return
        folder = Path(target).parent
        folder.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a partial blob under the final name.
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)

    def _remove(self, key: str) -> bool:
        # Checked first: deleting a missing S3 key succeeds, and would read as "removed".
        if not self.fs.exists(key):
            return False
        self.fs.rm_file(key)
        return True


def check_digest(sha256: str) -> None:
    # Keys come from stored metadata; anything but a hex digest could address outside the store.
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
