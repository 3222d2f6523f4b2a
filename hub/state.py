"""Everything the running hub holds: built once in the lifespan (or by the CLI), closed at the end."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.clients import token_hash_key
from certificates.access import CertificateAccess
from certificates.blobstore import BlobStore
from certificates.drafts import DraftRenderer
from certificates.envelope import DeviceKeyWrap, EnvelopeCipher, MasterKeyWrap, SecretKeyDevice
from certificates.issuance import UnitsOfWork
from certificates.ports import CertificateServices, Renderer
from certificates.privacy import HolderVault
from hub.db import make_engine, make_sessionmaker
from hub.extras import require_extra
from hub.identity import DevIdentityProvider, TokenVerifier, load_jwks_file
from hub.observability import Metrics
from hub.pdf_checks import PdfChecks
from hub.sealing import HubSigning
from hub.settings import Settings, load_master_key
from kernel.db import unit_of_work
from sharing.copies import CopyServices
from signing.trust import TrustList
from signing.validation import SignatureReport


@dataclass
class HubState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    master_key: bytes
    token_hash_key: bytes
    verifier: TokenVerifier
    dev_idp: DevIdentityProvider | None
    metrics: Metrics
    vault: HolderVault
    blobs: BlobStore
    signing: HubSigning
    renderer: Renderer
    access: CertificateAccess
    # Where PDFs from outside are read (in worker processes); shared by ``with_sessions`` copies,
    # stopped by ``close``.
    pdf_checks: PdfChecks
    search: Any = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _qr_trust: TrustList | None = None

    def with_sessions(self, factory: sessionmaker[Session]) -> HubState:
        """This state with every session taken from ``factory`` (tests bind it to one transaction)."""
        return replace(self, sessions=factory, read_sessions=factory)

    def today(self) -> date:
        return self.clock().date()

    def validate(self, session: Session, pdf: bytes) -> SignatureReport:
        """The seal's report for a PDF, validated in a PDF worker (``PdfChecks.validate``)."""
        return self.pdf_checks.validate(session, pdf)

    def qr_trust(self) -> TrustList:
        """The QR keys offline verifiers trust (the hub's one QR key), built once, not per request."""
        if self._qr_trust is None:
            self._qr_trust = self.signing.qr_trust()
        return self._qr_trust

    def readiness_probes(self) -> dict[str, Callable[[], None]]:
        """Checks beyond the database, by name: each raises when its backend is unreachable."""
        probes: dict[str, Callable[[], None]] = {"storage": self.blobs.ping}
        if self.search is not None and hasattr(self.search, "ping"):
            probes["search"] = self.search.ping
        return probes

    def certificate_services(self, session: Session) -> CertificateServices:
        """What issuance needs, bound to this request's session (seals it may have just created)."""
        return CertificateServices(
            vault=self.vault,
            blobs=self.blobs,
            sealing=self.signing.sealing_for(session),
            render=self.renderer,
            check_upload=self.pdf_checks.check_upload,
            today=self.today,
        )

    def units(self) -> UnitsOfWork:
        """Read and write units of work on this hub's database (issuance runs in phases)."""
        return UnitsOfWork(
            read=partial(unit_of_work, self.read_sessions), write=partial(unit_of_work, self.sessions)
        )

    def copy_services(self, session: Session) -> CopyServices:
        """What annotated copies need: the originals, their validation, the hub's own seal."""
        return CopyServices(
            blobs=self.blobs,
            validate=lambda pdf: self.validate(session, pdf),
            seal=lambda pdf: self.signing.seal_as_hub(session, pdf),
        )

    def close(self) -> None:
        self.pdf_checks.close()
        self.engine.dispose()


def build_state(settings: Settings) -> HubState:
    # Files the hub creates hold personal data and keys: owner-only, whatever the caller's umask
    # (the database, its WAL, blobs, key files: 0600 in 0700 directories).
    os.umask(0o077)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)
    master_key = load_master_key(settings)
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.database.pool_size,
        echo=settings.database.echo,
    )
    ident = settings.identity
    dev_idp = None
    keys: dict[str, Any] = {}
    if ident.dev_provider:
        dev_idp = DevIdentityProvider(
            settings.data_dir / "identity" / "dev-idp.pem",
            issuer=ident.issuer,
            audience=ident.audience,
            ttl_seconds=ident.token_ttl_seconds,
        )
        keys[dev_idp.kid] = dev_idp.public_key
    if ident.jwks_file is not None:
        keys.update(load_jwks_file(ident.jwks_file))
    import jwt

    jwks_client = jwt.PyJWKClient(ident.jwks_url, cache_keys=True) if ident.jwks_url else None
    verifier = TokenVerifier(
        issuer=ident.issuer,
        audience=ident.audience,
        algorithms=ident.algorithms,
        keys=keys,
        jwks_client=jwks_client,
        leeway=ident.leeway_seconds,
    )
    sessions = make_sessionmaker(engine)
    signing = HubSigning(settings, master_key)
    vault = HolderVault(master_key)
    return HubState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=make_sessionmaker(engine, read_only=True),
        master_key=master_key,
        token_hash_key=token_hash_key(master_key),
        verifier=verifier,
        dev_idp=dev_idp,
        metrics=Metrics(),
        vault=vault,
        blobs=build_blob_store(settings, file_cipher(signing, master_key)),
        signing=signing,
        renderer=DraftRenderer(signing.qr),
        access=CertificateAccess(vault),
        pdf_checks=PdfChecks(settings.limits, signing),
        search=build_search_index(settings),
    )


def file_cipher(signing: HubSigning, master_key: bytes) -> EnvelopeCipher:
    """Stored files' keys are wrapped inside the HSM when seals are kept there, else under the
    master key; files wrapped under the master key stay readable after a move to the HSM."""
    by_master_key = MasterKeyWrap(master_key)
    if isinstance(signing.keystore, SecretKeyDevice):
        return EnvelopeCipher(DeviceKeyWrap(signing.keystore), also_opens=[by_master_key])
    return EnvelopeCipher(by_master_key)


def build_blob_store(settings: Settings, cipher: EnvelopeCipher) -> BlobStore:
    """The configured store; every file it writes is sealed by ``cipher`` (certificates.envelope)."""
    if settings.storage.backend == "s3":
        require_extra("s3")
        from certificates.blobstore_s3 import S3BlobStore

        store = S3BlobStore(
            settings.storage.s3_endpoint,
            settings.storage.s3_access_key,
            settings.storage.s3_secret_key.get_secret_value(),
            settings.storage.s3_bucket,
            secure=settings.storage.s3_secure,
            region=settings.storage.s3_region,
            cipher=cipher,
            server_side_encryption=settings.storage.s3_server_side_encryption,
        )
        return store
    from certificates.blobstore_local import LocalBlobStore

    return LocalBlobStore(settings.blob_directory, cipher)


def build_search_index(settings: Settings) -> Any:
    """The external search index (Elasticsearch), or None: the embedded one lives in the database."""
    if settings.search.backend != "elasticsearch":
        return None
    if not settings.search.elasticsearch_url:
        raise ValueError("HUB_SEARCH__ELASTICSEARCH_URL is required with HUB_SEARCH__BACKEND=elasticsearch")
    require_extra("elasticsearch")
    from catalog.search_es import ElasticsearchSearchIndex

    return ElasticsearchSearchIndex(settings.search.elasticsearch_url, settings.search.index_prefix)
