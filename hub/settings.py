"""Settings from ``HUB_``-prefixed environment variables, in small nested sections.

Nested values use a double underscore: ``HUB_STORAGE__BACKEND=s3``. ``HUB_DATABASE_URL`` is
accepted as a shortcut for ``HUB_DATABASE__URL`` (the public contract names it).
Outside development the settings refuse placeholder or missing secrets; beyond the embedded
default (SQLite in the data directory, local blobs, file keys) they require ``HUB_MASTER_KEY``.
"""

from __future__ import annotations

import os
import re
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from limits import RateLimitItem
from limits import parse as parse_rate
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
_HTTP_URL = TypeAdapter(HttpUrl)

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "dev", "development", "test", "xxx"}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _a_database_url(value: str | None) -> str | None:
    if value:
        try:
            make_url(value)
        except ArgumentError:
            # never echoed: a database URL may carry a password
            raise ValueError(
                "must be a database URL such as postgresql://user:password@host:5432/hub"
            ) from None
    return value


class DatabaseSettings(Section):
    # None: an SQLite file inside the data directory.
    url: str | None = None
    pool_size: int = 10
    echo: bool = False

    _url = field_validator("url")(_a_database_url)


class StorageSettings(Section):
    backend: Literal["local", "s3"] = "local"
    # local: a directory; None means <data dir>/blobs
    directory: Path | None = None
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "hub-certificates"
    s3_secure: bool = False
    s3_region: str | None = None
    # Ask the server to encrypt objects too (SSE-S3), besides the hub's own per-file encryption.
    # A MinIO without a KMS refuses it: set false there.
    s3_server_side_encryption: bool = True
    # unreferenced blobs younger than this survive `hub storage gc`
    gc_grace_seconds: int = 3600


class SearchSettings(Section):
    backend: Literal["embedded", "elasticsearch"] = "embedded"
    elasticsearch_url: str | None = None
    index_prefix: str = "hub"


class SigningSettings(Section):
    keystore: Literal["file", "pkcs11"] = "file"
    pkcs11_library: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token: str = "hub"  # noqa: S105 (a token label, not a secret)
    pkcs11_pin: SecretStr = SecretStr("")
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-LT"
    # None: the hub's own RFC 3161 authority, called in-process
    tsa_url: str | None = None
    # directory with the hub's PKI; None means <data dir>/pki
    pki_directory: Path | None = None
    ca_name: str = "Hub"
    # The hub operator (e.g. the city's 大数据中心): its USCC and name are written into the hub's own
    # seal, which seals annotated copies (加注件). The default is a placeholder code.
    operator_code: str = "12310000MB0HUB000J"
    operator_name: str | None = None  # None: ca_name


class IdentitySettings(Section):
    dev_provider: bool = True
    issuer: str = "hub-dev-idp"
    audience: str = "hub"
    jwks_url: str | None = None
    jwks_file: Path | None = None
    algorithms: list[str] = Field(default_factory=lambda: ["ES256", "RS256"])
    token_ttl_seconds: int = 3600
    leeway_seconds: int = 30


# What a body holds besides the PDF: a multipart part's headers and boundaries; an issuance's
# other fields (face data stays far below this: it must fit on one page).
UPLOAD_ENVELOPE_BYTES = 64 * 1024
JSON_ENVELOPE_BYTES = 1024 * 1024
QR_BODY_BYTES = 64 * 1024
# An RFC 3161 timestamp query or an OCSP request: a hash or a few serial numbers.
PKI_REQUEST_BYTES = 64 * 1024


RATE_STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+unix")


class Limits(Section):
    max_body_bytes: int = 64 * 1024 * 1024
    max_pdf_bytes: int = 10 * 1024 * 1024
    max_batch_items: int = 1000
    # PDFs one application (or one supplement) may carry, each of at most ``max_pdf_bytes``.
    max_application_files: int = Field(default=8, ge=1, le=100)
    # Calls per client (an authenticated caller) or else per address, in the ``limits`` notation
    # ("60/minute", "1000 per hour"); "0" or "" turns a limit off. ``verify``: the three public
    # verification endpoints together (a PDF costs ~0.35 s of CPU); ``tsa``: ``POST /pki/tsa``.
    verify_rate: str = "60/minute"
    tsa_rate: str = "60/minute"
    # Refused bearer tokens per address; past it the address may not try again (429) until the
    # oldest failure leaves the window, whatever token it sends.
    auth_failure_rate: str = "10/minute"
    # Where the counts are kept: memory:// in each process (``hub serve --workers N`` then allows
    # N times the rates), redis://host:6379/0 shared by every worker and server.
    rate_storage_url: str = "memory://"
    rate_key_prefix: str = "hub-limits"

    @field_validator("verify_rate", "tsa_rate", "auth_failure_rate")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        value = value.strip()
        if value not in ("", "0"):
            try:
                parse_rate(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a rate such as '60/minute' ('0' turns it off)") from None
        return value

    @field_validator("rate_storage_url")
    @classmethod
    def _a_storage(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if scheme not in RATE_STORAGE_SCHEMES:
            raise ValueError(f"rate counts are kept in {', '.join(s + '://' for s in RATE_STORAGE_SCHEMES)}")
        return value

    def rate(self, name: Literal["verify", "tsa", "auth_failure"]) -> RateLimitItem | None:
        """A limit by name, None when it is off."""
        value: str = getattr(self, f"{name}_rate")
        return None if value in ("", "0") else parse_rate(value)

    # A PDF from outside (a /verify upload, a department's own file) is read in one of
    # ``pdf_check_workers`` worker processes per server process, with at most ``pdf_check_seconds``
    # of CPU time (and three times as much wall time, for a machine busy with other work) and an
    # address space of ``pdf_check_memory_bytes``; past either the answer is 422 pdf_too_complex
    # (hub/isolation.py, docs/signing.md "Untrusted PDFs").
    pdf_check_seconds: float = Field(default=5.0, gt=0)
    pdf_check_memory_bytes: int = Field(default=1024 * 1024 * 1024, ge=256 * 1024 * 1024)
    pdf_check_workers: int = Field(default=2, ge=1)

    def pdf_routes(self) -> list[tuple[str, str, int]]:
        """The endpoints that take one PDF, with the largest body that can hold one of
        ``max_pdf_bytes``: the file plus a multipart envelope for ``/verify``; its base64 plus the
        rest of the JSON body for an issuance or a new version. Bodies over it are refused (413)
        before they are read (``hub.observability.BodySizeLimitMiddleware``)."""
        multipart = self.max_pdf_bytes + UPLOAD_ENVELOPE_BYTES
        base64_json = 4 * -(-self.max_pdf_bytes // 3) + JSON_ENVELOPE_BYTES
        files_json = self.max_application_files * 4 * -(-self.max_pdf_bytes // 3) + JSON_ENVELOPE_BYTES
        return [
            ("POST", "/api/v1/verify", multipart),
            ("POST", "/verify/pdf", multipart),  # the /verify page's upload
            ("POST", "/api/v1/certificates", base64_json),
            ("POST", "/api/v1/certificates/[^/]+/versions", base64_json),
            ("POST", "/api/v1/applications(/pre-review)?", files_json),
            ("POST", "/api/v1/applications/[^/]+/supplements", files_json),
            ("POST", "/api/v1/commitments/[^/]+/fulfil", base64_json),
            # the guide's 提交申请 form (hub/web/apply.py): the application's files as multipart
            ("POST", "/guide/[^/]+/apply", self.max_application_files * multipart),
        ]

    def small_routes(self) -> list[tuple[str, str, int]]:
        """Endpoints whose bodies are small by nature, refused (413) past their size before they are
        read: a QR text is a few kilobytes (an anonymous 60 MB body once took the server to 1.75 GB);
        a sharing call names a holder, an item and a few answers; a timestamp or OCSP request, a
        hash or a few serial numbers (the PKI endpoints read their raw body whole)."""
        return [
            ("POST", "/api/v1/verify/qr", QR_BODY_BYTES),
            ("POST", "/verify/(qr|code)", QR_BODY_BYTES),  # the /verify page's forms
            ("POST", "/pki/(tsa|ocsp)", PKI_REQUEST_BYTES),
            ("POST", "/api/v1/sharing/.*", JSON_ENVELOPE_BYTES),
            ("POST", "/api/v1/me/.*", JSON_ENVELOPE_BYTES),
            ("POST", "/api/v1/tasks/.*", JSON_ENVELOPE_BYTES),
            ("POST", "/api/v1/applications/[^/]+/rating", JSON_ENVELOPE_BYTES),
            ("POST", "/api/v1/commitments/[^/]+/breach", JSON_ENVELOPE_BYTES),
        ]


class AuditSettings(Section):
    # Every worker signs a checkpoint of the audit log this often when entries were added since the
    # last one (0: only on demand, ``hub audit checkpoint`` or ``POST /api/v1/audit/checkpoint``).
    checkpoint_interval_seconds: int = Field(default=300, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./var")
    # The root secret: encrypts keys at rest and derives the keys that protect personal data.
    # Generated into <data dir>/master.key when absent — only in development with the embedded
    # default (SQLite in the data dir, local blobs, file keys); required everywhere else.
    master_key: SecretStr | None = None
    # The base URL verifiers reach the hub at, written into every seal certificate (OCSP, CRL, CA
    # issuers): http(s), a host, no query or fragment, no trailing slash. Unset, ``hub serve``
    # derives it from the address it serves (``served_url``).
    public_url: str = DEFAULT_PUBLIC_URL
    # The 行政区划代码 certificates issued on an application's approval carry (统一发证), unless the
    # application names its own.
    area_code: str = Field(default="310000", pattern=r"^[1-9]\d{5}$")
    log_level: str = "INFO"
    database_url: str | None = None

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    limits: Limits = Field(default_factory=Limits)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    _database_url = field_validator("database_url")(_a_database_url)

    @field_validator("log_level")
    @classmethod
    def _a_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)} (got {value!r})")
        return level

    @field_validator("public_url")
    @classmethod
    def _a_public_url(cls, value: str) -> str:
        return normalise_public_url(value)

    @model_validator(mode="after")
    def _require_a_master_key_beyond_the_embedded_default(self) -> Settings:
        # A key generated into one server's data directory protects data that lives elsewhere:
        # a second server (or a new disk) would derive other keys and read nothing back.
        if self.master_key is None and (beyond := self.beyond_the_embedded_default()):
            raise ValueError(f"HUB_MASTER_KEY must be set when {' and '.join(beyond)}")
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Settings:
        if self.env is Environment.DEVELOPMENT:
            return self
        problems = []
        if (
            self.master_key is None
            or _placeholder(self.master_key)
            or len(self.master_key.get_secret_value()) < 32
        ):
            problems.append("HUB_MASTER_KEY must be set to a random value of at least 32 characters")
        if self.identity.dev_provider:
            problems.append(
                "the development identity provider must be off (HUB_IDENTITY__DEV_PROVIDER=false)"
            )
        if not self.identity.dev_provider and not (self.identity.jwks_url or self.identity.jwks_file):
            problems.append("an identity provider JWKS is required (HUB_IDENTITY__JWKS_URL or _FILE)")
        if self.storage.backend == "s3" and _placeholder(self.storage.s3_secret_key):
            problems.append("HUB_STORAGE__S3_SECRET_KEY must be set")
        if self.signing.keystore == "pkcs11" and _placeholder(self.signing.pkcs11_pin):
            problems.append("HUB_SIGNING__PKCS11_PIN must be set")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def beyond_the_embedded_default(self) -> list[str]:
        """What lies outside the embedded deployment (SQLite in the data directory, blobs on local
        disk, keys in files): there the master key cannot be generated into the data directory."""
        beyond = []
        if not self._database_is_embedded():
            beyond.append("the database is not the embedded SQLite in the data directory")
        if self.storage.backend == "s3":
            beyond.append("storage is S3")
        if self.signing.keystore == "pkcs11":
            beyond.append("the keystore is PKCS#11")
        return beyond

    def _database_is_embedded(self) -> bool:
        url = make_url(self.effective_database_url)
        if url.get_backend_name() != "sqlite":
            return False
        if url.database in (None, "", ":memory:"):
            return True
        return Path(url.database).resolve().is_relative_to(self.data_dir.resolve())

    @property
    def effective_database_url(self) -> str:
        url = self.database_url or self.database.url
        if url:
            return url
        return f"sqlite:///{(self.data_dir / 'hub.db').resolve()}"

    @property
    def blob_directory(self) -> Path:
        return self.storage.directory or self.data_dir / "blobs"

    @property
    def pki_directory(self) -> Path:
        return self.signing.pki_directory or self.data_dir / "pki"


def normalise_public_url(value: str) -> str:
    """``value`` as the hub writes it into certificates: an http(s) URL with a host and no query,
    fragment or credentials, without a trailing slash (host lower-cased, default port dropped)."""
    try:
        url = _HTTP_URL.validate_python(value.strip())
    except ValidationError:
        raise ValueError(
            f"must be an http(s) URL such as https://hub.example.gov.cn (got {value!r})"
        ) from None
    if url.query is not None or url.fragment is not None:
        raise ValueError(f"must have no query or fragment (got {value!r})")
    if url.username is not None or url.password is not None:
        raise ValueError("must not carry a user name or password")
    return str(url).rstrip("/")


def served_url(host: str, port: int) -> str:
    """The public URL of a hub served at ``host:port`` (``hub serve --host --port``) when
    ``HUB_PUBLIC_URL`` is not set. A wildcard address (0.0.0.0, ::) names no host a verifier can
    reach: the loopback address stands for it."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (naming the wildcard, not binding it)
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return normalise_public_url(f"http://{host}:{port}")


def _placeholder(secret: SecretStr | None) -> bool:
    return secret is None or secret.get_secret_value().strip().lower() in PLACEHOLDERS


def load_master_key(settings: Settings) -> bytes:
    """The master key: from settings, or (development only) a file generated on first use."""
    if settings.master_key is not None:
        return settings.master_key.get_secret_value().encode()
    if settings.env is not Environment.DEVELOPMENT or settings.beyond_the_embedded_default():
        raise RuntimeError("HUB_MASTER_KEY is required outside the embedded development setup")
    path = settings.data_dir / "master.key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
            f.flush()
            os.fsync(f.fileno())
    for _ in range(50):
        text = path.read_text().strip()
        if text:
            return text.encode()
        time.sleep(0.05)
    raise RuntimeError(f"{path} is empty")


def describe_refusal(error: ValidationError | SettingsError) -> str:
    """Why the environment's settings were refused, in one line naming each variable:
    ``HUB_STORAGE__BACKEND: must be one of local, s3 (got 'foo')``."""
    if isinstance(error, SettingsError):
        # pydantic-settings could not decode a variable of a section or list as JSON.
        field = re.search(r'field "([^"]+)"', str(error))
        name = f"HUB_{field.group(1).upper()}" if field else "HUB_"
        return (
            f"{name} or one of its {name}__… variables: could not be read (a list or a section is "
            """JSON, e.g. HUB_IDENTITY__ALGORITHMS='["ES256"]')"""
        )
    return "; ".join(_describe(e) for e in error.errors())


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    name = "HUB_" + "__".join(loc).upper() if loc else ""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        choices = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        message = f"must be one of {choices} (got {error['input']!r})"
    elif kind == "extra_forbidden":
        message = "is not a setting (check its spelling)"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}" if name else message
