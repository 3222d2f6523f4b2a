"""FileKeyStore: encrypted key files, idempotent and race-free creation, cached signers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from signing.errors import KeyNotFound, PKIError
from signing.filekeys import FileKeyStore
from tests.signing.conftest import MASTER_KEY, HubEnv


def _ensure(directory: str) -> bytes:
    return bytes(FileKeyStore(Path(directory), MASTER_KEY).ensure_key("contested").dump())


def test_ensure_key_is_idempotent(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, MASTER_KEY)
    assert store.ensure_key("a").dump() == store.ensure_key("a").dump()
    assert FileKeyStore(tmp_path, MASTER_KEY).ensure_key("a").dump() == store.ensure_key("a").dump()


def test_keys_are_ec_p256(tmp_path: Path) -> None:
    key = FileKeyStore(tmp_path, MASTER_KEY).ensure_key("a")
    assert key.algorithm == "ec" and key.curve == ("named", "secp256r1")


def test_concurrent_ensure_key_yields_one_key(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_ensure, [str(tmp_path)] * 4)
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["contested.key.pem"]


@pytest.mark.usefixtures("permissive_umask")
def test_seal_key_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    FileKeyStore(tmp_path / "keys", MASTER_KEY).ensure_key("a")
    assert oct((tmp_path / "keys" / "a.key.pem").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"


def test_key_files_are_encrypted(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, MASTER_KEY).ensure_key("a")
    assert (tmp_path / "a.key.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_has_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, MASTER_KEY)
    assert not store.has_key("a")
    store.ensure_key("a")
    assert store.has_key("a")


def test_signer_for_a_missing_key(tmp_path: Path, hub: HubEnv) -> None:
    with pytest.raises(KeyNotFound):
        FileKeyStore(tmp_path, MASTER_KEY).signer("nope", hub.seal.cert, hub.pki.chain)


def test_labels_cannot_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyNotFound):
        FileKeyStore(tmp_path, MASTER_KEY).ensure_key("../evil")


def test_wrong_master_key_cannot_load(tmp_path: Path, hub: HubEnv) -> None:
    FileKeyStore(tmp_path, MASTER_KEY).ensure_key("a")
    with pytest.raises(PKIError):
        FileKeyStore(tmp_path, b"a different 32-byte master key!!").signer("a", hub.seal.cert, hub.pki.chain)


def test_short_master_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PKIError):
        FileKeyStore(tmp_path, b"short")


def test_signer_signs_with_the_stored_key(hub: HubEnv) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from signing.pki.convert import to_crypto

    signer = hub.keystore.signer(hub.seal.label, hub.seal.cert, hub.pki.chain)
    signature = signer.sign_raw(b"hello", "sha256")
    public = to_crypto(hub.seal.cert).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"hello", ec.ECDSA(hashes.SHA256()))
