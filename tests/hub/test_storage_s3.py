"""The hub on S3 object storage (a real SeaweedFS), end to end through ``hub serve`` and the CLI:
issuance writes the sealed file to the bucket, downloads come from it, and ``hub storage gc``
removes an unreferenced object past the grace period but never a referenced one."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator

import pytest
from minio import Minio

from certificates.blobstore import fan_out
from tests.conftest import DatabaseFactory
from tests.live import HubServer, Issuer, LiveHubs
from tests.seaweed import SeaweedS3

pytestmark = pytest.mark.slow


@pytest.fixture
def s3_hub(
    live_hubs: LiveHubs, databases: DatabaseFactory, seaweed_s3: SeaweedS3, seaweed_bucket: str
) -> Iterator[tuple[HubServer, Minio, str]]:
    hub = live_hubs.start(
        database_url=databases.create("sqlite"),
        env={
            "HUB_STORAGE__BACKEND": "s3",
            "HUB_STORAGE__S3_ENDPOINT": seaweed_s3.endpoint,
            "HUB_STORAGE__S3_ACCESS_KEY": seaweed_s3.access_key,
            "HUB_STORAGE__S3_SECRET_KEY": seaweed_s3.secret_key,
            "HUB_STORAGE__S3_BUCKET": seaweed_bucket,
        },
    )
    yield hub, seaweed_s3.client(), seaweed_bucket


def _object(client: Minio, bucket: str, sha256: str) -> bytes | None:
    try:
        response = client.get_object(bucket, fan_out(sha256))
    except Exception:
        return None
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def _issue(hub: HubServer, issuer: Issuer, count: int) -> list[dict[str, object]]:
    with hub.client(issuer.token) as http:
        single = http.post("/api/v1/certificates", json=issuer.body())
        assert single.status_code == 201, single.text
        batch = http.post(
            "/api/v1/certificates/batch", json={"items": [issuer.body() for _ in range(count - 1)]}
        )
        assert batch.status_code == 200, batch.text
        results = batch.json()["results"]
        assert {r["status"] for r in results} == {201}, results
    return [single.json(), *(r["certificate"] for r in results)]


def test_issuance_stores_sealed_files_in_the_bucket_and_serves_them(
    s3_hub: tuple[HubServer, Minio, str],
) -> None:
    hub, s3, bucket = s3_hub
    issuer = hub.setup_issuer()
    assert s3.bucket_exists(bucket)  # created at start
    with hub.client() as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["storage"] == "ok"

    certificates = _issue(hub, issuer, 4)
    with hub.client(issuer.token) as http:
        for cert in certificates:
            sha256 = str(cert["sha256"])
            sealed = _object(s3, bucket, sha256)
            assert sealed is not None, f"no object for {cert['id']} in the bucket"
            stored = hub.stored_file(sealed, sha256)
            assert hashlib.sha256(stored).hexdigest() == sha256
            r = http.get(f"/api/v1/certificates/{cert['id']}/file")
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            assert r.content == stored
            assert r.content.startswith(b"%PDF")
    # Nothing went to the local blob directory.
    local = [p for p in hub.blob_dir.rglob("*") if p.is_file()] if hub.blob_dir.exists() else []
    assert local == []


def test_storage_gc_removes_an_old_unreferenced_object_but_not_a_referenced_one(
    s3_hub: tuple[HubServer, Minio, str],
) -> None:
    hub, s3, bucket = s3_hub
    issuer = hub.setup_issuer()
    certificates = _issue(hub, issuer, 2)

    orphan = f"orphan {uuid.uuid4()}".encode()
    orphan_sha = hashlib.sha256(orphan).hexdigest()
    s3.put_object(bucket, fan_out(orphan_sha), io.BytesIO(orphan), len(orphan))

    # Within the grace period (default one hour) nothing goes, not even the orphan.
    assert hub.cli_json("storage", "gc")["removed"] == 0
    assert _object(s3, bucket, orphan_sha) == orphan

    # Grace 0: the orphan is older than the cutoff and unreferenced, so it goes; the rest stays.
    assert hub.cli_json("storage", "gc", "--grace", "0")["removed"] == 1
    assert _object(s3, bucket, orphan_sha) is None
    with hub.client(issuer.token) as http:
        for cert in certificates:
            sha256 = str(cert["sha256"])
            assert _object(s3, bucket, sha256) is not None
            r = http.get(f"/api/v1/certificates/{cert['id']}/file")
            assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha256

    # Collecting again finds nothing more.
    assert hub.cli_json("storage", "gc", "--grace", "0")["removed"] == 0
