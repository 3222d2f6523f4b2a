"""PKCS11KeyStore against a real SoftHSM2 token: real keys, real signatures, no mocks."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive, PinIncorrect
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.errors import KeyNotFound
from signing.keystore import KeyStore
from signing.pkcs11 import PKCS11KeyStore, PKCS11KeyStoreError, key_id_for_label
from signing.pki.profiles import SEAL_KEY_USAGE, certificate_builder, key_usage
from tests.softhsm import SoftHSMToken, softhsm_token  # noqa: F401  (pytest fixture)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(softhsm_token: SoftHSMToken, tmp_path: Path) -> Iterator[PKCS11KeyStore]:  # noqa: F811
    lib_path, label, pin = softhsm_token
    with PKCS11KeyStore(lib_path, label, pin, lock_dir=str(tmp_path)) as ks:
        yield ks


@pytest.fixture
def raw_session(softhsm_token: SoftHSMToken, store: PKCS11KeyStore) -> Iterator[pkcs11.Session]:  # noqa: F811
    """A session of our own, to look at the token behind the store's back.

    PKCS#11 login state is per process, so this session rides on the store's login instead of
    logging in again (which the token would refuse).
    """
    lib_path, label, _ = softhsm_token
    store.has_key("login")
    with pkcs11.lib(lib_path).get_token(token_label=label).open() as session:
        yield session


class ThrowawayCA:
    """A one-level test PKI made with ``cryptography``: a root that certifies token keys."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway Test Root")])
        self.cert = (
            certificate_builder(
                name, name, self.key.public_key(), NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=3650),
                x509.BasicConstraints(ca=True, path_length=0),
            )
            .add_extension(key_usage("key_cert_sign", "crl_sign"), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))

    def issue_seal_cert(self, public_key: asn1_keys.PublicKeyInfo, name: str) -> asn1_x509.Certificate:
        subject_key = serialization.load_der_public_key(public_key.dump())
        assert isinstance(subject_key, ec.EllipticCurvePublicKey)
        cert = (
            certificate_builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), self.cert.subject, subject_key,
                NOW - dt.timedelta(hours=1), NOW + dt.timedelta(days=365),
                x509.BasicConstraints(ca=False, path_length=None),
            )
            .add_extension(SEAL_KEY_USAGE, critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def blank_pdf() -> bytes:
    writer = PdfFileWriter()
    contents = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (seal) Tj ET"))
    writer.insert_page(PageObject(contents=contents, media_box=(0, 0, 595, 842)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign_pdf(signer: signers.Signer, pdf: bytes) -> bytes:
    out = io.BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Seal"),
        signer=signer,
        output=out,
    )
    return out.getvalue()


def validate(pdf: bytes, ca: ThrowawayCA) -> tuple[bool, bool, bool]:
    reader = PdfFileReader(io.BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    status = validate_pdf_signature(
        embedded, ValidationContext(trust_roots=[ca.asn1], moment=NOW, allow_fetching=False)
    )
    return status.intact, status.valid, status.trusted


# -- keys -------------------------------------------------------------------------------------


def test_ensure_key_creates_p256_key_pair(store: PKCS11KeyStore) -> None:
    assert not store.has_key("org-seal")

    public = store.ensure_key("org-seal")

    assert store.has_key("org-seal")
    assert public.algorithm == "ec"
    assert public.curve == ("named", "secp256r1")


def test_ensure_key_is_idempotent(store: PKCS11KeyStore, raw_session: pkcs11.Session) -> None:
    first = store.ensure_key("org-seal")
    second = store.ensure_key("org-seal")

    assert first.dump() == second.dump()
    private_keys = list(raw_session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
    assert len(private_keys) == 1


def test_keys_under_different_labels_are_different(store: PKCS11KeyStore) -> None:
    assert store.ensure_key("org-a").dump() != store.ensure_key("org-b").dump()


def test_key_pair_carries_label_and_id_derived_from_label(
    store: PKCS11KeyStore, raw_session: pkcs11.Session
) -> None:
    store.ensure_key("org-seal")

    for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
        (obj,) = raw_session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: "org-seal"})
        assert obj[Attribute.ID] == key_id_for_label("org-seal")


def test_private_key_cannot_be_extracted(store: PKCS11KeyStore, raw_session: pkcs11.Session) -> None:
    store.ensure_key("org-seal")
    key = raw_session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="org-seal")

    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.ALWAYS_SENSITIVE] is True
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    with pytest.raises(AttributeSensitive):
        key[Attribute.VALUE]


def test_store_keys_persist_on_the_token_across_sessions(
    softhsm_token: SoftHSMToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    lib_path, label, pin = softhsm_token
    with PKCS11KeyStore(lib_path, label, pin, lock_dir=str(tmp_path)) as first:
        created = first.ensure_key("org-seal")
    with PKCS11KeyStore(lib_path, label, pin, lock_dir=str(tmp_path)) as second:
        assert second.has_key("org-seal")
        assert second.ensure_key("org-seal").dump() == created.dump()


def test_wrong_pin_is_refused(softhsm_token: SoftHSMToken, tmp_path: Path) -> None:  # noqa: F811
    lib_path, label, _ = softhsm_token
    with PKCS11KeyStore(lib_path, label, "0000", lock_dir=str(tmp_path)) as ks, pytest.raises(PinIncorrect):
        ks.has_key("org-seal")


def test_unknown_token_is_reported(softhsm_token: SoftHSMToken, tmp_path: Path) -> None:  # noqa: F811
    lib_path, _, pin = softhsm_token
    with PKCS11KeyStore(lib_path, "no-such-token", pin) as ks, pytest.raises(PKCS11KeyStoreError):
        ks.has_key("org-seal")


def test_ensure_key_from_racing_processes_creates_one_key(
    softhsm_token: SoftHSMToken,  # noqa: F811
    raw_session: pkcs11.Session,
    tmp_path: Path,
) -> None:
    lib_path, label, pin = softhsm_token
    # Each process logs in first and then waits for "go", so the ensure_key calls really overlap.
    script = (
        "import sys\n"
        "from signing.pkcs11 import PKCS11KeyStore\n"
        "lib, token, pin, lock_dir = sys.argv[1:]\n"
        "with PKCS11KeyStore(lib, token, pin, lock_dir=lock_dir) as ks:\n"
        "    ks.has_key('contested')\n"
        "    print('ready', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    print(ks.ensure_key('contested').dump().hex())\n"
    )
    argv = [sys.executable, "-c", script, lib_path, label, pin, str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for _ in range(4):  # started one after another: SoftHSM's start-up is not multi-process safe
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", proc.communicate(timeout=60)[1].decode()
        procs.append(proc)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=60) for proc in procs]

    assert all(p.returncode == 0 for p in procs), [err.decode() for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1
    query = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: "contested"}
    keys = list(raw_session.get_objects(query))
    assert len(keys) == 1


# -- signing ----------------------------------------------------------------------------------


def test_signed_pdf_validates_against_the_issuing_ca(store: PKCS11KeyStore) -> None:
    ca = ThrowawayCA()
    keystore: KeyStore = store  # PKCS11KeyStore satisfies the protocol
    cert = ca.issue_seal_cert(keystore.ensure_key("org-seal"), "Test Organization Seal")

    signed = sign_pdf(keystore.signer("org-seal", cert, [ca.asn1]), blank_pdf())

    assert validate(signed, ca) == (True, True, True)


def test_signature_does_not_validate_against_another_ca(store: PKCS11KeyStore) -> None:
    ca, stranger = ThrowawayCA(), ThrowawayCA()
    cert = ca.issue_seal_cert(store.ensure_key("org-seal"), "Test Organization Seal")

    signed = sign_pdf(store.signer("org-seal", cert, []), blank_pdf())

    intact, valid, trusted = validate(signed, stranger)
    assert (intact, valid, trusted) == (True, True, False)


def test_tampered_signed_pdf_is_not_intact(store: PKCS11KeyStore) -> None:
    ca = ThrowawayCA()
    cert = ca.issue_seal_cert(store.ensure_key("org-seal"), "Test Organization Seal")
    signed = bytearray(sign_pdf(store.signer("org-seal", cert, [ca.asn1]), blank_pdf()))

    at = signed.index(b"(seal)")
    signed[at + 1 : at + 5] = b"fake"

    assert validate(bytes(signed), ca)[0] is False


def test_signers_share_one_session(store: PKCS11KeyStore) -> None:
    ca = ThrowawayCA()
    cert = ca.issue_seal_cert(store.ensure_key("org-seal"), "Test Organization Seal")

    first = store.signer("org-seal", cert, [])
    second = store.signer("org-seal", cert, [])

    assert first.pkcs11_session is second.pkcs11_session


def test_concurrent_signing_from_threads_produces_valid_signatures(store: PKCS11KeyStore) -> None:
    ca = ThrowawayCA()
    cert = ca.issue_seal_cert(store.ensure_key("org-seal"), "Test Organization Seal")
    pdf = blank_pdf()

    def one(_: int) -> bytes:
        return sign_pdf(store.signer("org-seal", cert, [ca.asn1]), pdf)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(16)))

    assert all(validate(signed, ca) == (True, True, True) for signed in results)


def test_signer_for_missing_key_is_refused(store: PKCS11KeyStore) -> None:
    ca = ThrowawayCA()
    cert = ca.issue_seal_cert(store.ensure_key("org-seal"), "Test Organization Seal")

    with pytest.raises(KeyNotFound):
        store.signer("nobody", cert, [])


def test_repr_does_not_show_the_pin(store: PKCS11KeyStore, softhsm_token: SoftHSMToken) -> None:  # noqa: F811
    assert softhsm_token.pin not in repr(store)


def test_two_stores_on_one_token_share_the_login(
    store: PKCS11KeyStore,
    softhsm_token: SoftHSMToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    lib_path, label, pin = softhsm_token
    store.ensure_key("org-seal")
    with PKCS11KeyStore(lib_path, label, pin, lock_dir=str(tmp_path)) as second:
        assert second.has_key("org-seal")
    # Closing the second store must not log the first one out.
    assert store.has_key("org-seal")


def test_wrong_pin_cannot_ride_on_an_existing_login(
    store: PKCS11KeyStore,
    softhsm_token: SoftHSMToken,  # noqa: F811
) -> None:
    lib_path, label, _ = softhsm_token
    store.ensure_key("org-seal")
    with PKCS11KeyStore(lib_path, label, "0000") as intruder, pytest.raises(PKCS11KeyStoreError):
        intruder.has_key("org-seal")


def test_a_secret_key_made_on_the_token_encrypts_and_refuses_other_associated_data(
    softhsm_token: SoftHSMToken,  # noqa: F811 (the fixture)
) -> None:
    token = softhsm_token
    with PKCS11KeyStore(token.lib_path, token.label, token.pin) as store:
        store.ensure_secret_key("files")
        store.ensure_secret_key("files")  # idempotent: still one key
        sealed = store.encrypt("files", b"a data key", b"context")
        assert b"a data key" not in sealed and sealed != store.encrypt("files", b"a data key", b"context")
        assert store.decrypt("files", sealed, b"context") == b"a data key"
        with pytest.raises(PKCS11KeyStoreError):
            store.decrypt("files", sealed, b"another context")
        with pytest.raises(KeyNotFound):
            store.encrypt("absent", b"x", b"")
