"""HubPKI: created once, reopened identically, safe under concurrent first start."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from signing.errors import PKIError
from signing.filekeys import FileKeyStore
from signing.pades import Sealer, SealIdentity
from signing.pki import profiles
from signing.pki.authority import HubPKI
from signing.pki.convert import to_crypto
from signing.validation import Indication, validate_pdf
from tests.signing.conftest import DEPT, MASTER_KEY, USCC, HubEnv, make_pdf

BASE = "https://hub.example.gov.cn"


def _open(directory: Path) -> HubPKI:
    return HubPKI.open_or_create(directory, MASTER_KEY, org_name="测试市大数据局", base_url=BASE)


def _root_fingerprint(directory: str) -> str:
    return _open(Path(directory)).root_cert.sha256.hex()


def test_reopening_gives_the_same_pki(tmp_path: Path) -> None:
    first, second = _open(tmp_path), _open(tmp_path)
    for name in ("root_cert", "issuing_cert", "tsa_cert", "ocsp_cert"):
        assert getattr(first, name).dump() == getattr(second, name).dump()
    assert first.qr_key.kid == second.qr_key.kid


def test_two_processes_creating_at_once_agree(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        fingerprints = pool.map(_root_fingerprint, [str(tmp_path)] * 2)
    assert fingerprints[0] == fingerprints[1] == _root_fingerprint(str(tmp_path))


def test_private_keys_are_never_written_in_clear(tmp_path: Path) -> None:
    _open(tmp_path)
    key_files = sorted(tmp_path.glob("*.key.pem"))
    names = ("root", "issuing", "tsa", "ocsp", "qr", "audit")
    assert {p.name for p in key_files} == {f"{n}.key.pem" for n in names}
    for path in key_files:
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


@pytest.mark.usefixtures("permissive_umask")
def test_private_key_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    # the library writes them 0600 itself: the bench scripts and `hub pki import` use it directly
    _open(tmp_path)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.glob("*.key.pem")}
    assert set(modes) == {f"{n}.key.pem" for n in ("root", "issuing", "tsa", "ocsp", "qr", "audit")}
    assert set(modes.values()) == {"0o600"}, modes


def test_wrong_master_key_is_refused(tmp_path: Path) -> None:
    _open(tmp_path)
    with pytest.raises(PKIError):
        HubPKI.open_or_create(tmp_path, b"another master key, 32 bytes...", org_name="x", base_url=BASE)


def _seal_cert(hub: HubEnv) -> x509.Certificate:
    return to_crypto(hub.seal.cert)


def test_seal_certificate_names_the_department_and_its_uscc(hub: HubEnv) -> None:
    subject = _seal_cert(hub).subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == DEPT
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEPT
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == USCC
    assert subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == USCC


def test_seal_certificate_usages(hub: HubEnv) -> None:
    cert = _seal_cert(hub)
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature and key_usage.value.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # NSS refuses documentSigning alone
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku


def test_key_usage_asserts_exactly_the_usages_it_is_given() -> None:
    assert profiles.key_usage("key_cert_sign", "crl_sign") == x509.KeyUsage(
        False, False, False, False, False, True, True, False, False
    )
    assert profiles.CA_KEY_USAGE == x509.KeyUsage(True, False, False, False, False, True, True, False, False)


def test_seal_certificate_points_at_the_hubs_ocsp_and_crl(hub: HubEnv) -> None:
    cert = _seal_cert(hub)
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    urls = {d.access_method: d.access_location.value for d in aia}
    assert urls[x509.AuthorityInformationAccessOID.OCSP] == f"{hub.pki.base_url}/pki/ocsp"
    assert x509.AuthorityInformationAccessOID.CA_ISSUERS in urls
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == f"{hub.pki.base_url}/pki/crl"


def test_seal_serials_are_random_and_large(hub: HubEnv) -> None:
    key = hub.keystore.ensure_key("serial-check")
    serials = {int(hub.pki.issue_seal_certificate(key, DEPT, USCC).serial_number) for _ in range(5)}
    assert len(serials) == 5 and all(s.bit_length() > 120 for s in serials)


def test_tsa_certificate_is_for_timestamping_only(hub: HubEnv) -> None:
    eku = to_crypto(hub.pki.tsa_cert).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_ocsp_responder_certificate_is_not_itself_checked(hub: HubEnv) -> None:
    cert = to_crypto(hub.pki.ocsp_cert)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING
    ]
    assert cert.extensions.get_extension_for_oid(ExtensionOID.OCSP_NO_CHECK)


def test_qr_kid_is_truncated_spki_hash(hub: HubEnv) -> None:
    import base64
    import hashlib

    expected = base64.urlsafe_b64encode(hashlib.sha256(hub.pki.qr_key.public_key_der).digest()[:8])
    assert hub.pki.qr_key.kid == expected.rstrip(b"=").decode()


def test_issued_certificates_chain_to_the_root(hub: HubEnv) -> None:
    root, issuing = to_crypto(hub.pki.root_cert), to_crypto(hub.pki.issuing_cert)
    issuing.verify_directly_issued_by(root)
    for cert in (hub.seal.cert, hub.pki.tsa_cert, hub.pki.ocsp_cert):
        to_crypto(cert).verify_directly_issued_by(issuing)


def _external_ca(tmp_path: Path) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Provincial CA")])
    now = datetime.now(UTC)
    cert = (
        profiles.certificate_builder(
            name,
            name,
            key.public_key(),
            now - timedelta(days=1),
            now + timedelta(days=3650),
            x509.BasicConstraints(ca=True, path_length=None),
        )
        .add_extension(profiles.CA_KEY_USAGE, critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_imported_ca_issues_seals_that_validate(tmp_path: Path) -> None:
    cert_pem, key_pem = _external_ca(tmp_path)
    pki = HubPKI.import_ca(
        tmp_path / "pki", MASTER_KEY, ca_cert_pem=cert_pem, ca_key_pem=key_pem, org_name="测试", base_url=BASE
    )
    assert pki.root_cert.dump() == pki.issuing_cert.dump()
    assert (tmp_path / "pki" / "issuing.key.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    keys = FileKeyStore(tmp_path / "keys", MASTER_KEY)
    seal_cert = pki.issue_seal_certificate(keys.ensure_key("d"), DEPT, USCC)
    pdf = Sealer(pki, keys, timestamper=None, level="B-B").seal(
        make_pdf(), SealIdentity("d", seal_cert, DEPT, USCC)
    )
    assert validate_pdf(pdf.pdf, [pki.root_cert]).indication is Indication.TOTAL_PASSED
    reopened = _open(tmp_path / "pki")
    assert reopened.issuing_cert.dump() == pki.issuing_cert.dump()


def test_import_refuses_a_key_that_does_not_match(tmp_path: Path) -> None:
    cert_pem, _ = _external_ca(tmp_path)
    _, other_key = _external_ca(tmp_path)
    with pytest.raises(PKIError):
        HubPKI.import_ca(
            tmp_path, MASTER_KEY, ca_cert_pem=cert_pem, ca_key_pem=other_key, org_name="x", base_url=BASE
        )
