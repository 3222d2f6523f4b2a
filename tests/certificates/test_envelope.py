"""Stored files encrypted at rest — certificates/envelope.py, through both blob stores."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from certificates.blobstore import BlobCorrupted
from certificates.blobstore_local import LocalBlobStore
from certificates.blobstore_s3 import S3BlobStore
from certificates.envelope import MAGIC, EnvelopeCipher, MasterKeyWrap, is_sealed
from certificates.maintenance import seal_stored_files
from tests.seaweed import SeaweedS3

SECRET = b"310104199203154523"
PDF = b"%PDF-1.7\n" + SECRET + bytes(range(256)) * 8
CIPHER = EnvelopeCipher(MasterKeyWrap(b"test-master-key-0123456789abcdef"))


def test_a_sealed_file_holds_none_of_its_bytes_and_opens_to_them() -> None:
    name = hashlib.sha256(PDF).hexdigest()
    stored = CIPHER.seal(name, PDF)
    assert stored.startswith(MAGIC) and SECRET not in stored
    assert CIPHER.open(name, stored) == PDF


def test_each_file_gets_its_own_key() -> None:
    name = hashlib.sha256(PDF).hexdigest()
    assert CIPHER.seal(name, PDF) != CIPHER.seal(name, PDF)


def test_a_sealed_file_does_not_open_under_another_name_or_another_master_key() -> None:
    name = hashlib.sha256(PDF).hexdigest()
    stored = CIPHER.seal(name, PDF)
    with pytest.raises(BlobCorrupted):
        CIPHER.open("0" * 64, stored)
    with pytest.raises(BlobCorrupted):
        EnvelopeCipher(MasterKeyWrap(b"another-master-key-0123456789abc")).open(name, stored)


@pytest.mark.parametrize("cut", [len(MAGIC), len(MAGIC) + 3, 40, -1])
def test_a_damaged_envelope_is_corrupted_not_a_crash(cut: int) -> None:
    name = hashlib.sha256(PDF).hexdigest()
    stored = CIPHER.seal(name, PDF)
    with pytest.raises(BlobCorrupted):
        CIPHER.open(name, stored[:cut])


def test_the_local_store_writes_files_sealed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, CIPHER)
    name = store.put(PDF)
    on_disk = store.path_of(name).read_bytes()
    assert is_sealed(on_disk) and SECRET not in on_disk
    assert store.get(name) == PDF


def test_a_file_stored_in_clear_before_is_read_and_sealed_when_put_again(tmp_path: Path) -> None:
    name = LocalBlobStore(tmp_path).put(PDF)  # as a hub before encryption stored it
    store = LocalBlobStore(tmp_path, CIPHER)
    assert store.get(name) == PDF
    assert store.put(PDF) == name
    assert is_sealed(store.path_of(name).read_bytes())


def test_the_s3_store_writes_objects_sealed_and_server_side_encrypted(
    seaweed_s3: SeaweedS3, seaweed_bucket: str
) -> None:
    store = S3BlobStore(
        seaweed_s3.endpoint,
        seaweed_s3.access_key,
        seaweed_s3.secret_key,
        seaweed_bucket,
        cipher=CIPHER,
        server_side_encryption=True,
    )
    store.ensure_bucket()
    name = store.put(PDF)
    raw = store.client.get_object(seaweed_bucket, store.object_name(name))
    try:
        stored, headers = raw.read(), raw.headers
    finally:
        raw.close()
        raw.release_conn()
    assert is_sealed(stored) and SECRET not in stored
    assert headers.get("x-amz-server-side-encryption") == "AES256"
    assert store.get(name) == PDF


def test_seal_stored_files_seals_what_was_stored_in_clear_and_skips_damage(tmp_path: Path) -> None:
    plain = LocalBlobStore(tmp_path)
    names = [plain.put(PDF), plain.put(PDF + b"2")]
    damaged = plain.put(PDF + b"3")
    plain.path_of(damaged).write_bytes(b"not what was stored")
    store = LocalBlobStore(tmp_path, CIPHER)
    assert seal_stored_files(store) == 2
    for name in names:
        assert is_sealed(store.path_of(name).read_bytes()) and store.get(name).startswith(PDF)
    assert store.path_of(damaged).read_bytes() == b"not what was stored"
    assert seal_stored_files(store) == 2  # idempotent: read again, nothing changes
    assert all(store.get(name).startswith(PDF) for name in names)
