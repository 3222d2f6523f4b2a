"""One contract for every ``BlobStore``, run over a local directory and a real SeaweedFS server."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certificates.blobstore import BlobCorrupted, BlobStore
from certificates.blobstore_local import LocalBlobStore
from certificates.blobstore_s3 import S3BlobStore
from certificates.envelope import EnvelopeCipher, MasterKeyWrap
from kernel.errors import NotFound, Unavailable, ValidationFailed
from tests.seaweed import SeaweedS3

PDF_LIKE = b"%PDF-1.7\n" + bytes(range(256)) * 40


@dataclass
class Case:
    store: BlobStore
    corrupt: Callable[[str, bytes], None]  # overwrite a stored blob behind the store's back


CIPHER = EnvelopeCipher(MasterKeyWrap(b"test-master-key-0123456789abcdef"))


def _local_case(root: Path, cipher: EnvelopeCipher | None = None) -> Case:
    store = LocalBlobStore(root, cipher)
    store.ensure_root()

    def corrupt(sha256: str, data: bytes) -> None:
        store.path_of(sha256).write_bytes(data)

    return Case(store, corrupt)


def _s3_case(server: SeaweedS3, bucket: str, cipher: EnvelopeCipher | None = None) -> Case:
    store = S3BlobStore(
        server.endpoint,
        server.access_key,
        server.secret_key,
        bucket,
        cipher=cipher,
        server_side_encryption=cipher is not None,
    )
    store.ensure_bucket()

    def corrupt(sha256: str, data: bytes) -> None:
        store.client.put_object(bucket, store.object_name(sha256), io.BytesIO(data), len(data))

    return Case(store, corrupt)


# "sealed": the files encrypted at rest as the hub stores them (and, on S3, server-side encrypted too).
@pytest.fixture(params=["local", "local-sealed", "s3", "s3-sealed"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    cipher = CIPHER if request.param.endswith("-sealed") else None
    if request.param.startswith("local"):
        return _local_case(tmp_path / "blobs", cipher)
    server = request.getfixturevalue("seaweed_s3")
    bucket = request.getfixturevalue("seaweed_bucket")
    return _s3_case(server, bucket, cipher)


@pytest.fixture
def store(case: Case) -> BlobStore:
    return case.store


# -- the contract ------------------------------------------------------------------------------------


def test_put_returns_the_sha256_and_get_returns_the_bytes(store: BlobStore) -> None:
    sha256 = store.put(PDF_LIKE)
    assert sha256 == hashlib.sha256(PDF_LIKE).hexdigest()
    assert store.get(sha256) == PDF_LIKE


def test_empty_blob_round_trips(store: BlobStore) -> None:
    assert store.get(store.put(b"")) == b""


def test_putting_the_same_bytes_twice_is_idempotent(store: BlobStore) -> None:
    first = store.put(PDF_LIKE)
    second = store.put(PDF_LIKE)
    assert first == second
    assert store.get(first) == PDF_LIKE
    assert list(store.list_older_than(datetime.now(UTC) + timedelta(minutes=1))) == [first]


def test_exists_tells_stored_from_absent(store: BlobStore) -> None:
    sha256 = store.put(PDF_LIKE)
    assert store.exists(sha256)
    assert not store.exists(hashlib.sha256(b"never stored").hexdigest())


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.get(hashlib.sha256(b"never stored").hexdigest())


def test_read_verifies_the_hash(case: Case) -> None:
    sha256 = case.store.put(PDF_LIKE)
    case.corrupt(sha256, PDF_LIKE[:-1] + b"X")
    with pytest.raises(BlobCorrupted):
        case.store.get(sha256)


def test_put_repairs_a_corrupted_blob(case: Case) -> None:
    sha256 = case.store.put(PDF_LIKE)
    case.corrupt(sha256, b"damaged")
    assert case.store.put(PDF_LIKE) == sha256
    assert case.store.get(sha256) == PDF_LIKE


def test_delete_removes_the_blob_and_tolerates_absence(store: BlobStore) -> None:
    sha256 = store.put(PDF_LIKE)
    store.delete(sha256)
    assert not store.exists(sha256)
    with pytest.raises(NotFound):
        store.get(sha256)
    store.delete(sha256)


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64, ""])
def test_names_that_are_not_sha256_digests_are_refused(store: BlobStore, name: str) -> None:
    with pytest.raises(ValidationFailed):
        store.get(name)


def test_list_older_than_yields_blobs_written_before_the_cutoff(store: BlobStore) -> None:
    old = store.put(b"old blob")
    time.sleep(1.2)  # S3 Last-Modified has one-second resolution
    cutoff = datetime.now(UTC)
    time.sleep(1.2)
    new = store.put(b"new blob")
    assert list(store.list_older_than(cutoff)) == [old]
    assert sorted(store.list_older_than(datetime.now(UTC) + timedelta(minutes=1))) == sorted([old, new])
    assert list(store.list_older_than(cutoff - timedelta(hours=1))) == []
    # Referencing the old blob again protects it from the next collection.
    store.put(b"old blob")
    assert list(store.list_older_than(cutoff)) == []


def test_list_older_than_refuses_a_naive_cutoff(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        list(store.list_older_than(datetime.now()))  # naive on purpose


def test_ping_passes_when_the_store_is_usable(store: BlobStore) -> None:
    store.ping()


# -- local directory specifics -------------------------------------------------------------------------


def test_local_blobs_fan_out_in_two_directory_levels(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha256 = store.put(PDF_LIKE)
    assert (tmp_path / sha256[:2] / sha256[2:4] / sha256).read_bytes() == PDF_LIKE


def test_local_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha256 = store.put(PDF_LIKE)
    assert os.listdir(store.path_of(sha256).parent) == [sha256]


def test_local_listing_skips_leftovers_of_interrupted_writes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha256 = store.put(PDF_LIKE)
    (store.path_of(sha256).parent / ".tmp-abandoned").write_bytes(b"partial")
    assert list(store.list_older_than(datetime.now(UTC) + timedelta(minutes=1))) == [sha256]


def test_local_ping_fails_when_the_root_is_missing(tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        LocalBlobStore(tmp_path / "absent").ping()


# -- S3 specifics ------------------------------------------------------------------------------------------


def test_ensure_bucket_is_idempotent(seaweed_s3: SeaweedS3, seaweed_bucket: str) -> None:
    store = S3BlobStore(seaweed_s3.endpoint, seaweed_s3.access_key, seaweed_s3.secret_key, seaweed_bucket)
    store.ensure_bucket()
    store.ensure_bucket()
    store.ping()


def test_ping_reports_a_missing_bucket(seaweed_s3: SeaweedS3, seaweed_bucket: str) -> None:
    store = S3BlobStore(seaweed_s3.endpoint, seaweed_s3.access_key, seaweed_s3.secret_key, seaweed_bucket)
    with pytest.raises(Unavailable) as caught:
        store.ping()
    assert caught.value.code == "bucket_missing"


def test_wrong_credentials_are_unavailable_not_a_crash(seaweed_s3: SeaweedS3, seaweed_bucket: str) -> None:
    store = S3BlobStore(seaweed_s3.endpoint, seaweed_s3.access_key, "wrong-secret", seaweed_bucket)
    with pytest.raises(Unavailable):
        store.ping()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


OPERATIONS: dict[str, Callable[[S3BlobStore], object]] = {
    "put": lambda store: store.put(PDF_LIKE),
    "get": lambda store: store.get(hashlib.sha256(PDF_LIKE).hexdigest()),
    "exists": lambda store: store.exists(hashlib.sha256(PDF_LIKE).hexdigest()),
    "delete": lambda store: store.delete(hashlib.sha256(PDF_LIKE).hexdigest()),
    "list_older_than": lambda store: list(store.list_older_than(datetime.now(UTC))),
    "ping": lambda store: store.ping(),
    "ensure_bucket": lambda store: store.ensure_bucket(),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_unreachable_s3_fails_fast_as_unavailable(closed_port: int, operation: str) -> None:
    store = S3BlobStore(f"127.0.0.1:{closed_port}", "key", "secret", "bucket", region="us-east-1")
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        OPERATIONS[operation](store)
    assert time.monotonic() - started < 3
    assert caught.value.retry_after > 0


def test_silent_s3_times_out_as_unavailable(silent_server: int) -> None:
    store = S3BlobStore(
        f"127.0.0.1:{silent_server}", "key", "secret", "bucket", region="us-east-1", read_timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(Unavailable):
        store.ping()
    assert time.monotonic() - started < 3
