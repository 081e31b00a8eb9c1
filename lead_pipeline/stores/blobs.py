"""Content-addressed storage of attachment bytes: one file per sha256, written once."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        """Store bytes under their sha256 and return it; storing the same bytes again is a no-op."""
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_of(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a partial blob under the final name.
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, target)
        return digest

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def url_of(self, sha256: str) -> str:
        return self.path_of(sha256).resolve().as_uri()

    def delete(self, sha256: str) -> bool:
        """Remove a blob (erasure, retention); returns whether it existed."""
        try:
            self.path_of(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()
