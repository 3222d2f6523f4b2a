"""The public URL the hub's PKI was made with, read back from its certificates.

``HUB_PUBLIC_URL`` is written into every certificate the hub's CA issues — the seals' OCSP, CRL and
CA issuers addresses, the timestamping certificate's CRL, the issuing CA's pointer to the root's
CRL — and stays there for as long as the certificate lives. A hub started with another URL would
seal new certificates pointing elsewhere than the ones already handed out, so ``hub serve`` (and
every command that prepares the hub) refuses to: ``check`` compares the setting with the URL its
PKI's certificates name, read back from one of them. There is no other record to drift from them.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from hub.settings import Settings, normalise_public_url
from signing.pki.profiles import CRL_PATH

# The timestamping certificate: issued by the hub's CA with its public URL in the CRL distribution
# point when the PKI is made (under an imported CA too), renewed on the same URL. Removing it is how
# an operator moves the hub's new certificates to another URL (docs/signing.md): the next start
# issues it again on the same key, naming the URL set then.
WITNESS = "tsa.crt.pem"


class PublicUrlMoved(Exception):
    """``HUB_PUBLIC_URL`` is not the URL the hub's certificates name."""


def recorded_public_url(pki_directory: Path) -> str | None:
    """The public URL the PKI in ``pki_directory`` was made with; None when there is no PKI yet
    (or its record was removed to move the hub to another URL)."""
    try:
        cert = x509.load_pem_x509_certificate((pki_directory / WITNESS).read_bytes())
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (FileNotFoundError, ValueError, x509.ExtensionNotFound):
        return None
    for point in points:
        for uri in point.full_name or []:
            if isinstance(uri, x509.UniformResourceIdentifier) and uri.value.endswith(CRL_PATH):
                try:
                    return normalise_public_url(uri.value.removesuffix(CRL_PATH))
                except ValueError:
                    continue
    return None


def check_public_url(settings: Settings) -> None:
    """Raise ``PublicUrlMoved`` (its message one line for the operator) when the PKI exists and
    names another URL than ``settings.public_url``."""
    recorded = recorded_public_url(settings.pki_directory)
    if recorded is None or recorded == settings.public_url:
        return
    raise PublicUrlMoved(
        f"HUB_PUBLIC_URL is {settings.public_url} but the hub's certificates in {settings.pki_directory} "
        f"name {recorded} (every seal certificate points verifiers there for good): set "
        f"HUB_PUBLIC_URL={recorded} and keep that URL reaching this hub (a DNS name or reverse proxy "
        f"in front of wherever it is served), or start over with an empty data directory; "
        f'see "Moving a hub to another URL" in docs/signing.md'
    )
