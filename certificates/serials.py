"""Serial numbers (顺序号) of an issuer's certificates: allocated by the hub or chosen by the department."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates.models import Certificate, SerialCounter

SERIAL_SEQUENCE = "certificate_serial_seq"  # PostgreSQL, created by migration 0002


def next_serial(session: Session, issuer_code: str) -> str:
    """The issuer's next serial, unique even with many processes issuing at once.

    PostgreSQL: a sequence, which holds no lock for the rest of the transaction, so one issuer's
    certificates are sealed in parallel (serials are then unique across issuers too). SQLite: the
    issuer's counter row, incremented under the database write lock every writer holds anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(select(func.nextval(SERIAL_SEQUENCE))).scalar_one()
        return f"{value:010d}"
    stmt = (
        update(SerialCounter)
        .where(SerialCounter.issuer_code == issuer_code)
        .values(last_value=SerialCounter.last_value + 1)
        .returning(SerialCounter.last_value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    if value is None:
        try:
            with session.begin_nested():
                session.add(SerialCounter(issuer_code=issuer_code, last_value=0))
        except IntegrityError:
            pass  # another transaction created it first
        value = session.execute(stmt).scalar_one()
    return f"{value:010d}"


def serial_used(session: Session, issuer_code: str, serial: str) -> bool:
    """Whether any version of the issuer's certificates carries ``serial``."""
    used = select(Certificate.id).where(Certificate.issuer_code == issuer_code, Certificate.serial == serial)
    return session.scalar(used.limit(1)) is not None


def unused_serial(session: Session, issuer_code: str) -> str:
    """The next allocated serial that no certificate uses yet.

    A department may have chosen a serial the counter reaches later: skip over it."""
    serial = next_serial(session, issuer_code)
    while serial_used(session, issuer_code, serial):
        serial = next_serial(session, issuer_code)
    return serial
