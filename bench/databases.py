"""A fresh, migrated database for one benchmark run: SQLite in a temp dir, or a new PostgreSQL
database next to the given server's (dropped afterwards)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from hub import migrate
from hub.db import make_engine


@contextmanager
def fresh_database(server_url: str | None) -> Iterator[Engine]:
    """An engine on a new database migrated to head by Alembic, as in production."""
    admin = created = None
    if server_url:
        admin = make_engine(server_url)
        created = f"hub_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'CREATE DATABASE "{created}"'))
        url = make_url(server_url).set(database=created).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text(f'DROP DATABASE "{created}" WITH (FORCE)'))
            admin.dispose()
