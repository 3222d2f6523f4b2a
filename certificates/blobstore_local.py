"""``BlobStore`` on a local directory (development, single-node deployments, tests)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from certificates.blobstore import (
    BlobCorrupted,
    checked_cutoff,
    checked_digest,
    digest_of,
    fan_out,
    is_digest,
    verified,
)
from certificates.envelope import EnvelopeCipher, is_sealed
from kernel.errors import NotFound, Unavailable

_TEMP_PREFIX = ".tmp-"


class LocalBlobStore:
    """Files under ``root/ab/cd/<sha256>``, each written atomically and durably."""

    def __init__(self, root: Path | str, cipher: EnvelopeCipher | None = None) -> None:
        self.root = Path(root)
        # None: files stored as they are (tests of the plain contract); the hub always passes one.
        self.cipher = cipher

    def ensure_root(self) -> None:
        """Create the root directory unless it exists (run once at startup, like ``ensure_bucket``)."""
        try:
            self._make_dirs(self.root)
        except OSError as exc:
            raise Unavailable(f"local blob store cannot create {self.root}: {exc.strerror}") from exc

    def path_of(self, sha256: str) -> Path:
        return self.root / fan_out(checked_digest(sha256))

    def put(self, data: bytes) -> str:
        sha256 = digest_of(data)
        path = self.path_of(sha256)
        try:
            if self._holds(path, sha256):
                os.utime(path)  # refresh for the collector's grace period
                return sha256
            self._make_dirs(path.parent)
            self._write_atomically(path, data if self.cipher is None else self.cipher.seal(sha256, data))
        except OSError as exc:
            raise Unavailable(f"local blob store cannot write: {exc.strerror}") from exc
        return sha256

    def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {sha256}") from None
        except OSError as exc:
            raise Unavailable(f"local blob store cannot read: {exc.strerror}") from exc
        return verified(sha256, self._open(sha256, data))

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def delete(self, sha256: str) -> None:
        path = self.path_of(sha256)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise Unavailable(f"local blob store cannot delete: {exc.strerror}") from exc

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        limit = checked_cutoff(cutoff).timestamp()
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir() or len(second.name) != 2:
                    continue
                for entry in sorted(second.iterdir()):
                    if not is_digest(entry.name):  # skips temp files of interrupted writes
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime < limit:
                            yield entry.name

    def ping(self) -> None:
        if not self.root.is_dir():
            raise Unavailable(f"local blob store root {self.root} is not a directory")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise Unavailable(f"local blob store root {self.root} is not writable")

    # -- internals ---------------------------------------------------------------------------------

    def _open(self, sha256: str, stored: bytes) -> bytes:
        return stored if self.cipher is None else self.cipher.open(sha256, stored)

    def _holds(self, path: Path, sha256: str) -> bool:
        """Whether ``path`` already holds intact content, sealed if the store seals; damaged or
        plain content is rewritten by ``put``."""
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            return False
        if self.cipher is not None and not is_sealed(stored):
            return False
        try:
            return digest_of(self._open(sha256, stored)) == sha256
        except BlobCorrupted:
            return False

    def _make_dirs(self, directory: Path) -> None:
        missing: list[Path] = []
        current = directory
        while not current.exists() and current != current.parent:
            missing.append(current)
            current = current.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A new directory entry is durable only once its parent is synced.
        for created in reversed(missing):
            _fsync_dir(created.parent)

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, 0o600)  # certificates hold personal data: owner only
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
