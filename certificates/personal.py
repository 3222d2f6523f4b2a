"""Personal face fields (个人信息) at rest: encrypted, blind-indexed, masked for most readers.

A certificate type marks the face fields that hold personal data (type ``identity_number``, or
``personal: true``; ``CertificateTypeView.personal_fields``). Their values never reach the
``certificates.data`` column: they are sealed together with AES-GCM under a key derived from the
master key (bound to the certificate's identifier, so a ciphertext moved to another row does not
open), and each is findable only through a keyed blind index (``certificate_personal_index``).
Readers other than the holder and the issuer see them masked like the holder code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from certificates.models import Certificate, PersonalIndex
from certificates.privacy import HolderVault, mask

PURPOSE = b"face:"


def split_face(data: Mapping[str, Any], personal: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` as (what is stored in clear, the personal values to seal)."""
    names = set(personal)
    public = {k: v for k, v in data.items() if k not in names}
    private = {k: v for k, v in data.items() if k in names and v is not None and v != ""}
    return public, private


def seal_personal(vault: HolderVault, certificate_id: str, values: Mapping[str, Any]) -> bytes | None:
    """The ciphertext of ``values`` for the row ``certificate_id``; None when there are none."""
    if not values:
        return None
    text = json.dumps(dict(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return vault.encrypt(text, purpose=PURPOSE + certificate_id.encode())


def index_rows(vault: HolderVault, certificate_id: str, values: Mapping[str, Any]) -> list[PersonalIndex]:
    """One blind-index row per personal value."""
    return [
        PersonalIndex(certificate_id=certificate_id, field=name, value_index=vault.value_index(str(value)))
        for name, value in sorted(values.items())
    ]


def protect(vault: HolderVault, cert: Certificate, data: Mapping[str, Any], personal: Iterable[str]) -> None:
    """Store ``data`` on ``cert`` (not yet flushed): personal values sealed and indexed, the rest in clear."""
    public, private = split_face(data, personal)
    cert.data = public
    cert.personal_enc = seal_personal(vault, cert.id, private)
    cert.personal_index = index_rows(vault, cert.id, private)


def personal_values(vault: HolderVault, cert: Certificate) -> dict[str, Any]:
    """The certificate's personal face values, opened."""
    if cert.personal_enc is None:
        return {}
    opened: dict[str, Any] = json.loads(vault.decrypt(cert.personal_enc, purpose=PURPOSE + cert.id.encode()))
    return opened


def face_of(vault: HolderVault, cert: Certificate, *, masked: bool = False) -> dict[str, Any]:
    """The whole face as issued (personal fields last); ``masked``: the personal values masked like
    a holder code (``3101**********4523``), as everyone but the holder and the issuer sees them."""
    values = personal_values(vault, cert)
    if masked:
        values = {name: mask(str(value)) for name, value in values.items()}
    return {**cert.data, **values}


def certificates_mentioning(
    session: Session, vault: HolderVault, value: str, *, issuer_code: str | None = None
) -> list[str]:
    """Identifiers of the certificates whose personal face fields hold ``value`` (by blind index
    only: the database cannot be searched for the number itself), optionally of one issuer."""
    query = (
        select(PersonalIndex.certificate_id)
        .where(PersonalIndex.value_index == vault.value_index(value))
        .distinct()
        .order_by(PersonalIndex.certificate_id)
    )
    if issuer_code is not None:
        query = query.join(Certificate, Certificate.id == PersonalIndex.certificate_id).where(
            Certificate.issuer_code == issuer_code
        )
    return list(session.scalars(query))


def protect_stored(session: Session, vault: HolderVault, types: Mapping[str, frozenset[str]]) -> int:
    """Seal the personal values still held in clear (certificates stored before personal fields were
    sealed, or before their type marked a field personal); ``types``: each type's personal fields.
    Returns the number of certificates changed; running it again changes none."""
    changed = 0
    for type_code, personal in sorted(types.items()):
        if not personal:
            continue
        ids = list(session.scalars(select(Certificate.id).where(Certificate.type_code == type_code)))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for cert in session.scalars(select(Certificate).where(Certificate.id.in_(chunk))):
                if personal & set(cert.data):
                    _reseal(session, vault, cert, personal)
                    changed += 1
            session.flush()
    return changed


def _reseal(session: Session, vault: HolderVault, cert: Certificate, personal: frozenset[str]) -> None:
    sealed = personal_values(vault, cert)
    public, private = split_face({**cert.data, **sealed}, personal | set(sealed))
    session.execute(delete(PersonalIndex).where(PersonalIndex.certificate_id == cert.id))
    cert.data = public
    cert.personal_enc = seal_personal(vault, cert.id, private)
    session.add_all(index_rows(vault, cert.id, private))
