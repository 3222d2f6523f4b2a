"""The migrations are the schema: up, down, up again on both backends, and no drift from the models."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from audit.log import Event, record
from audit.models import AuditNode
from hub import migrate
from hub.db import make_engine
from tests.conftest import BACKENDS, DatabaseFactory


@pytest.mark.parametrize("db_backend", BACKENDS)
def test_migrations_run_up_down_and_up_again_without_drift(
    db_backend: str, databases: DatabaseFactory
) -> None:
    engine = make_engine(databases.create(db_backend))
    try:
        migrate.upgrade(engine)
        assert migrate.current(engine) is not None
        assert migrate.drift(engine) == []
        assert "certificates" in inspect(engine).get_table_names()

        migrate.downgrade(engine, "base")
        assert migrate.current(engine) is None
        leftover = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        assert leftover == []

        migrate.upgrade(engine)
        assert migrate.drift(engine) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_backend", BACKENDS)
def test_upgrade_twice_is_a_no_op(db_backend: str, databases: DatabaseFactory) -> None:
    engine = make_engine(databases.create(db_backend))
    try:
        migrate.upgrade(engine)
        head = migrate.current(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == head
    finally:
        engine.dispose()


def test_no_create_all_anywhere() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(p.relative_to(root))
        for d in ("hub", "catalog", "certificates", "signing", "tests", "migrations")
        for p in (root / d).rglob("*.py")
        if "create_all(" in p.read_text(encoding="utf-8") and p.name != "test_migrations.py"
    ]
    assert offenders == []


@pytest.mark.parametrize("db_backend", BACKENDS)
def test_an_existing_audit_log_gets_its_tree_nodes_from_its_leaves(
    db_backend: str, databases: DatabaseFactory
) -> None:
    engine = make_engine(databases.create(db_backend))
    try:
        migrate.upgrade(engine)
        with Session(engine) as session:
            for i in range(13):
                record(session, Event(action="test.entry", actor="test", details={"i": i}))
            session.commit()
            written = {(n.level, n.idx, n.hash) for n in session.scalars(select(AuditNode))}
        assert len(written) == 13 - bin(13).count("1")  # every complete subtree above the leaves
        migrate.downgrade(engine, "0005")
        migrate.upgrade(engine)
        with Session(engine) as session:
            assert {(n.level, n.idx, n.hash) for n in session.scalars(select(AuditNode))} == written
    finally:
        engine.dispose()
