"""Who may read a certificate, see its private codes, change it — certificates/access.py."""

from __future__ import annotations

import pytest

from certificates.access import CertificateAccess, check_may_issue
from certificates.errors import CertificateNotFound, NotTheIssuer
from certificates.models import Certificate
from certificates.privacy import HolderVault
from kernel.actor import Actor, Citizen, Role
from kernel.errors import Forbidden

VAULT = HolderVault(b"k" * 32)
ACCESS = CertificateAccess(VAULT)
ISSUER = "11310000MB00000017"
HOLDER = Citizen("111", "110101199003074514", "张三")

CERT = Certificate(
    id="1.2.156.3005.2.X",
    issuer_code=ISSUER,
    holder_kind="111",
    holder_index=VAULT.blind_index("111", "110101199003074514"),
)

ISSUING_DEPARTMENT = Actor(Role.DEPARTMENT, client_id="a", org_code=ISSUER)
OTHER_DEPARTMENT = Actor(Role.DEPARTMENT, client_id="b", org_code="11310000MB00000025")
ADMIN = Actor(Role.ADMIN, client_id="c")
PORTAL = Actor(Role.PORTAL, client_id="d", org_code="12310000MB00000033")
THE_HOLDER = Actor.for_citizen(HOLDER)
THE_HOLDER_LOWERCASE = Actor.for_citizen(Citizen("111", "110101199003074514".lower(), "张三"))
ANOTHER_CITIZEN = Actor.for_citizen(Citizen("111", "110101199003076918", "李四"))
SAME_CODE_OTHER_KIND = Actor.for_citizen(Citizen("001", "110101199003074514", "张三"))

# actor -> (may read, sees private codes)
TABLE = [
    (ISSUING_DEPARTMENT, True, True),
    (THE_HOLDER, True, True),
    (THE_HOLDER_LOWERCASE, True, True),
    (ADMIN, True, False),
    (OTHER_DEPARTMENT, False, False),
    (PORTAL, False, False),
    (ANOTHER_CITIZEN, False, False),
    (SAME_CODE_OTHER_KIND, False, False),
    (None, False, False),
]


@pytest.mark.parametrize(("actor", "reads", "sees"), TABLE)
def test_who_reads_and_who_sees_the_private_codes(actor: Actor | None, reads: bool, sees: bool) -> None:
    assert ACCESS.may_read(actor, CERT) is reads
    assert ACCESS.sees_private_codes(actor, CERT) is sees


@pytest.mark.parametrize(("actor", "reads", "sees"), [row for row in TABLE if row[0] is not None])
def test_a_certificate_one_may_not_read_does_not_exist(actor: Actor, reads: bool, sees: bool) -> None:
    if reads:
        assert ACCESS.check_read(actor, CERT) is CERT
    else:
        with pytest.raises(CertificateNotFound):
            ACCESS.check_read(actor, CERT)


def test_only_the_issuing_department_changes_it() -> None:
    assert ACCESS.check_change(ISSUING_DEPARTMENT, CERT) is CERT
    for reader in (THE_HOLDER, ADMIN):
        with pytest.raises(NotTheIssuer):
            ACCESS.check_change(reader, CERT)
    # Another department may not read it either: to it the certificate does not exist.
    for stranger in (PORTAL, ANOTHER_CITIZEN, OTHER_DEPARTMENT):
        with pytest.raises(CertificateNotFound):
            ACCESS.check_change(stranger, CERT)


def test_only_departments_issue() -> None:
    assert check_may_issue(ISSUING_DEPARTMENT) is ISSUING_DEPARTMENT
    for actor in (ADMIN, PORTAL, THE_HOLDER):
        with pytest.raises(Forbidden):
            check_may_issue(actor)
