"""Against a running hub, over real HTTP: sealing with a timestamp authority reached over HTTP, and
poppler's pdfsig checking the seal's status online at the hub's own OCSP responder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live import LiveHubs
from tests.pdfsig import Pdfsig


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

    pdfsig = Pdfsig(tmp_path, root_pem)

    online = pdfsig(pdf)  # NSS asks the seal certificate's OCSP URL: the hub's responder
    assert "Signature is Valid." in online and "Certificate is Trusted." in online, online

    # Revoke the seal: the same responder now says so, and pdfsig stops trusting the certificate.
    hub.cli("seals", "revoke", "--org", issuer.org_code)
    revoked = pdfsig(pdf)
    assert "Signature is Valid." in revoked and "Certificate is Trusted." not in revoked, revoked

    # The hub's own verdict on the file agrees.
    verdict = httpx.post(f"{hub.url}/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}).json()
    assert verdict["signature"]["timestamped"] is True
