"""`hub pki import`: an existing CA becomes the issuing CA; seals chain to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from hub.cli import app as cli
from tests.conftest import DatabaseFactory


def _ca(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "示范市电子证照 CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "ca.pem", tmp_path / "ca.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_imported_ca_issues_the_seals(
    tmp_path: Path, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, db_backend: str
) -> None:
    cert_path, key_path = _ca(tmp_path)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_DATABASE_URL", databases.create(db_backend))
    monkeypatch.setenv("HUB_MASTER_KEY", "import-test-master-key-0123456789abcdef")
    runner = CliRunner()
    r = runner.invoke(cli, ["pki", "import", "--cert", str(cert_path), "--key", str(key_path)])
    assert r.exit_code == 0, r.output
    again = runner.invoke(cli, ["pki", "import", "--cert", str(cert_path), "--key", str(key_path)])
    assert again.exit_code == 2  # the PKI directory is no longer empty

    r = runner.invoke(
        cli, ["orgs", "add", "--code", "11310000MB2F00010D", "--name", "示范市卫健委", "--kind", "department"]
    )
    assert r.exit_code == 0, r.output
    from certificates.seals import current_seal
    from hub.bootstrap import prepare
    from hub.settings import Settings

    state = prepare(Settings())
    try:
        with state.sessions() as session:
            seal = current_seal(session, "11310000MB2F00010D")
            assert seal is not None
            seal_cert = x509.load_pem_x509_certificate(seal.certificate_pem.encode())
        ca = x509.load_pem_x509_certificate(cert_path.read_bytes())
        assert seal_cert.issuer == ca.subject
        seal_cert.verify_directly_issued_by(ca)
    finally:
        state.close()
