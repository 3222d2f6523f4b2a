"""Who may do what with a certificate — the one place it is decided.

| who                              | read it | see private parts* | download its file | change it |
|----------------------------------|---------|--------------------|-------------------|-----------|
| its issuing department           | yes     | yes                | yes               | yes       |
| its holder (a signed-in citizen) | yes     | yes                | yes               | no        |
| the hub's operators (admin)      | yes     | no (masked)        | no (403)          | no        |
| anyone else (other departments, portals) | no: the certificate does not exist for them (404) |

*the holder code, the verification code and the personal face fields (certificates.personal); the
file prints them, so whoever sees them masked does not download it.

Only departments issue (and then only the types the catalog lists them for, checked at issuance).
Anyone may *verify* a certificate (``certificates.verification``): that needs no access at all.
"""

from __future__ import annotations

from certificates.errors import CertificateNotFound, NotTheIssuer, PersonalData
from certificates.models import Certificate
from certificates.privacy import HolderVault
from kernel.actor import Actor, Role
from kernel.errors import Forbidden


class CertificateAccess:
    """The rules above, for one hub (the vault recognises a holder by the blind index)."""

    def __init__(self, vault: HolderVault) -> None:
        self.vault = vault

    def is_holder(self, actor: Actor, cert: Certificate) -> bool:
        citizen = actor.citizen
        return (
            citizen is not None
            and citizen.holder_kind == cert.holder_kind
            and self.vault.blind_index(citizen.holder_kind, citizen.holder_code) == cert.holder_index
        )

    def may_read(self, actor: Actor | None, cert: Certificate) -> bool:
        if actor is None:
            return False
        if actor.role is Role.ADMIN:
            return True
        return actor.is_department(cert.issuer_code) or self.is_holder(actor, cert)

    def sees_private_codes(self, actor: Actor | None, cert: Certificate) -> bool:
        """The holder code unmasked and the verification code: issuer and holder only."""
        if actor is None:
            return False
        return actor.is_department(cert.issuer_code) or self.is_holder(actor, cert)

    def check_read(self, actor: Actor, cert: Certificate) -> Certificate:
        """``cert`` if the actor may read it; otherwise it does not exist for them."""
        if not self.may_read(actor, cert):
            raise CertificateNotFound("no such certificate")
        return cert

    def check_read_file(self, actor: Actor, cert: Certificate) -> Certificate:
        """``cert`` if the actor may download its sealed file: the printed page shows what the
        masked reading hides (identity numbers), so only those who see them unmasked."""
        self.check_read(actor, cert)
        if not self.sees_private_codes(actor, cert):
            raise PersonalData("the file prints personal data: only its issuer and its holder download it")
        return cert

    def check_change(self, actor: Actor, cert: Certificate) -> Certificate:
        """``cert`` if the actor may change it (status, versions): its issuing department only.

        Whoever may not read it — another department included — learns nothing: 404, exactly as for
        an identifier that does not exist (no existence oracle). A reader who is not the issuer (the
        holder, an admin) is refused (403)."""
        if actor.is_department(cert.issuer_code):
            return cert
        self.check_read(actor, cert)
        raise NotTheIssuer("only the issuing department changes a certificate")


ISSUING_ROLES = frozenset({Role.DEPARTMENT})


def check_may_issue(actor: Actor) -> Actor:
    """Only departments issue certificates (which types, the catalog decides at issuance)."""
    if actor.role not in ISSUING_ROLES:
        raise Forbidden("this needs the role department", code="forbidden")
    return actor
