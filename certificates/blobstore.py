"""Content-addressed storage of certificate files behind one small protocol.

Two implementations honour the same contract (``tests/certificates/test_blobstore.py``):
``LocalBlobStore`` (a directory) and ``S3BlobStore`` (any S3 server, SeaweedFS in tests).
A blob's name is the SHA-256 of its bytes, so writing is idempotent and reading can prove integrity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from datetime import datetime
from typing import Protocol, runtime_checkable

from kernel.errors import DomainError, ValidationFailed

_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobCorrupted(DomainError):
    """The stored bytes no longer hash to their name: storage damage, never the caller's fault."""

    code = "blob_corrupted"


@runtime_checkable
class BlobStore(Protocol):
    """Blobs named by the lowercase hex SHA-256 of their content."""

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 hex.

        Storing the same bytes again is harmless and refreshes the blob's timestamp, so a garbage
        collection with a grace period does not remove a blob that was just referenced again.
        """
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes named ``sha256``; ``NotFound`` if absent, ``BlobCorrupted`` if they do not hash to it."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove the blob; removing an absent blob is not an error."""
        ...

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        """Names of blobs last written before ``cutoff`` (timezone-aware): candidates for collection."""
        ...

    def ping(self) -> None:
        """Raise ``Unavailable`` unless the store can be used."""
        ...


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked_digest(sha256: str) -> str:
    """``sha256`` if it is a blob name (64 lowercase hex digits); refusing anything else keeps paths safe."""
    if not isinstance(sha256, str) or not _DIGEST.fullmatch(sha256):
        raise ValidationFailed("not a SHA-256 hex digest", field="sha256", code="invalid_sha256")
    return sha256


def is_digest(name: str) -> bool:
    return _DIGEST.fullmatch(name) is not None


def verified(sha256: str, data: bytes) -> bytes:
    """``data`` if it hashes to ``sha256``, else ``BlobCorrupted``."""
    if digest_of(data) != sha256:
        raise BlobCorrupted(f"stored blob {sha256} does not match its hash")
    return data


def checked_cutoff(cutoff: datetime) -> datetime:
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError("cutoff must be timezone-aware")
    return cutoff


def fan_out(sha256: str) -> str:
    """``ab/cd/abcd…``: two directory levels keep any one directory small."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class WriteBehind:
    """A ``BlobStore`` whose writes run on background threads while the caller renders the next file.

    ``put`` returns the digest at once; ``failure(sha256)`` waits for that write and returns its
    error, if any. A batch asks for every blob before it commits the rows naming them, so nothing
    is recorded that is not durably stored — and the fsyncs (or S3 round trips) of one certificate
    overlap the rendering and sealing of the next.
    """

    def __init__(self, inner: BlobStore, pool: Executor) -> None:
        self.inner, self._pool = inner, pool
        self._writes: dict[str, Future[str]] = {}

    def put(self, data: bytes) -> str:
        sha256 = digest_of(data)
        if sha256 not in self._writes:
            self._writes[sha256] = self._pool.submit(self.inner.put, data)
        return sha256

    def failure(self, sha256: str) -> DomainError | None:
        """Wait for the write of ``sha256``: None once it is stored, else the error it failed with."""
        write = self._writes.get(sha256)
        if write is None:
            return None
        exception = write.exception()
        if exception is None:
            return None
        if isinstance(exception, DomainError):
            return exception
        raise exception

    def get(self, sha256: str) -> bytes:
        return self.inner.get(sha256)

    def exists(self, sha256: str) -> bool:
        return self.inner.exists(sha256)

    def delete(self, sha256: str) -> None:
        self.inner.delete(sha256)

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        return self.inner.list_older_than(cutoff)

    def ping(self) -> None:
        self.inner.ping()
