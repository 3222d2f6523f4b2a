"""Schema migrations, run programmatically (``hub db upgrade``, ``hub serve`` on start, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

import migrations
from migrations.env_support import include_object
from migrations.metadata import metadata

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)

log = logging.getLogger("hub.migrate")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["engine"] = engine
    return cfg


def _with_connection(engine: Engine, fn: str, *args: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two processes starting at once: the second waits, then finds nothing to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        getattr(command, fn)(cfg, *args)
        after = MigrationContext.configure(conn).get_current_revision()
    # One line when a migration ran (Alembic's own lines show at DEBUG); none when there was nothing to do.
    if after != before:
        log.info("database schema migrated from %s to %s", before or "empty", after or "empty")


def upgrade(engine: Engine, revision: str = "head") -> None:
    _with_connection(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _with_connection(engine, "downgrade", revision)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated schema (empty when they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        return list(compare_metadata(ctx, metadata))
