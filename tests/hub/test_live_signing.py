"""Against a running hub, over real HTTP: sealing with a timestamp authority reached over HTTP, and
poppler's pdfsig checking the seal's status online at the hub's own OCSP responder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.live import LiveHubs


@pytest.mark.slow
def test_http_tsa_and_online_ocsp_make_pdfsig_trust_the_seal(live_hubs: LiveHubs, tmp_path: Path) -> None:
    hub = live_hubs.server()
    # The timestamp source is an HTTP TSA (pyHanko's HTTPTimeStamper) — here the hub's own /pki/tsa.
    hub.env_overrides["HUB_SIGNING__TSA_URL"] = f"{hub.url}/pki/tsa"
    hub.start()
    issuer = hub.setup_issuer()
    with hub.client(issuer.token) as http:
        r = http.post("/api/v1/certificates", json=issuer.body())
        assert r.status_code == 201, r.text
        cert = r.json()
        assert cert["signature_level"] == "B-LT"
        pdf = http.get(f"/api/v1/certificates/{cert['id']}/file").content
        root_pem = http.get("/api/v1/trust").json()["roots"][0]

    path, nss = tmp_path / "c.pdf", tmp_path / "nss"
    path.write_bytes(pdf)
    nss.mkdir()
    (tmp_path / "root.pem").write_text(root_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "hubroot",
            "-t",
            "CT,C,C",
            "-i",
            str(tmp_path / "root.pem"),
        ],
        check=True,
    )

    def pdfsig() -> str:
        return subprocess.run(
            ["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True, check=False
        ).stdout

    online = pdfsig()  # NSS asks the seal certificate's OCSP URL: the hub's responder
    assert "Signature is Valid." in online and "Certificate is Trusted." in online, online

    # Revoke the seal: the same responder now says so, and pdfsig stops trusting the certificate.
    hub.cli("seals", "revoke", "--org", issuer.org_code)
    revoked = pdfsig()
    assert "Signature is Valid." in revoked and "Certificate is Trusted." not in revoked, revoked

    # The hub's own verdict on the file agrees.
    verdict = httpx.post(f"{hub.url}/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}).json()
    assert verdict["signature"]["timestamped"] is True
