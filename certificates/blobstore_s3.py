"""``BlobStore`` on an S3-compatible object store (SeaweedFS, MinIO, …) through the ``minio`` SDK."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.sse import SseS3
from urllib3.exceptions import HTTPError
from urllib3.util import Retry, Timeout

from certificates.blobstore import (
    checked_cutoff,
    checked_digest,
    digest_of,
    fan_out,
    is_digest,
    verified,
)
from certificates.envelope import EnvelopeCipher
from kernel.errors import NotFound, Unavailable

T = TypeVar("T")

_MISSING_OBJECT = {"NoSuchKey", "NoSuchObject"}
RETRY_AFTER_SECONDS = 5


class S3BlobStore:
    """Objects ``ab/cd/<sha256>`` in one bucket.

    The HTTP pool has short timeouts and few retries: when the store is down a request fails within
    a few seconds into ``Unavailable`` instead of holding a worker for minutes (minio's defaults).
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        retries: int = 1,
        cipher: EnvelopeCipher | None = None,
        server_side_encryption: bool = False,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        # None: objects stored as they are (tests of the plain contract); the hub always passes one.
        self.cipher = cipher
        # The server encrypts too (SSE-S3, its own keys): a second layer for a bucket copied off it.
        self.sse = SseS3() if server_side_encryption else None
        http = urllib3.PoolManager(
            timeout=Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=Retry(
                total=retries,
                connect=retries,
                read=retries,
                backoff_factor=0.1,
                status_forcelist=[500, 502, 503, 504],
                raise_on_status=False,
            ),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )

    def object_name(self, sha256: str) -> str:
        return fan_out(checked_digest(sha256))

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (run once at startup, not per request)."""

        def create() -> None:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    # Another worker may have won the race.
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

        self._call(create)

    def put(self, data: bytes) -> str:
        sha256 = digest_of(data)
        name = self.object_name(sha256)
        # Writing again also refreshes Last-Modified, which the collector's grace period relies on.
        stored = data if self.cipher is None else self.cipher.seal(sha256, data)
        self._call(
            lambda: self.client.put_object(
                self.bucket,
                name,
                io.BytesIO(stored),
                len(stored),
                content_type="application/octet-stream",
                sse=self.sse,
            )
        )
        return sha256

    def get(self, sha256: str) -> bytes:
        name = self.object_name(sha256)

        def read() -> bytes:
            response = self.client.get_object(self.bucket, name)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        stored = self._call(read, missing=sha256)
        return verified(sha256, stored if self.cipher is None else self.cipher.open(sha256, stored))

    def exists(self, sha256: str) -> bool:
        name = self.object_name(sha256)
        try:
            self._call(lambda: self.client.stat_object(self.bucket, name), missing=sha256)
        except NotFound:
            return False
        return True

    def delete(self, sha256: str) -> None:
        name = self.object_name(sha256)
        self._call(lambda: self.client.remove_object(self.bucket, name))

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        checked_cutoff(cutoff)
        listing = self.client.list_objects(self.bucket, recursive=True)
        while True:
            item = self._call(lambda: next(listing, None))
            if item is None:
                return
            name = (item.object_name or "").rsplit("/", 1)[-1]
            if is_digest(name) and item.last_modified is not None and item.last_modified < cutoff:
                yield name

    def ping(self) -> None:
        if not self._call(lambda: self.client.bucket_exists(self.bucket)):
            raise Unavailable(
                f"bucket {self.bucket} does not exist", retry_after=RETRY_AFTER_SECONDS, code="bucket_missing"
            )

    def _call(self, operation: Callable[[], T], *, missing: str | None = None) -> T:
        """Run one SDK call, translating its failures into domain errors."""
        try:
            return operation()
        except S3Error as exc:
            if missing is not None and exc.code in _MISSING_OBJECT:
                raise NotFound(f"no blob {missing}") from None
            raise Unavailable(
                f"object store refused the request: {exc.code}", retry_after=RETRY_AFTER_SECONDS
            ) from exc
        except (MinioException, HTTPError, OSError) as exc:
            raise Unavailable(
                f"object store at {self.endpoint} unreachable: {type(exc).__name__}",
                retry_after=RETRY_AFTER_SECONDS,
            ) from exc
