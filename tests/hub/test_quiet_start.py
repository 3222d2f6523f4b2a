"""Start-up is quiet: Alembic's INFO lines (its context, every revision: nine at each start) show
only at DEBUG; a migration that runs says so in one line of the hub's, and a start with nothing to
migrate says nothing about it.

Every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub import migrate
from hub.db import make_engine
from hub.observability import configure_logging
from tests.conftest import DatabaseFactory
from tests.live import LiveHubs

Configure = Callable[[str], io.StringIO]
QUIETED = ("uvicorn.access", "alembic", "pyhanko.sign.signers.pdf_signer")


@pytest.fixture
def configured() -> Iterator[Configure]:
    """``configure_logging(level)`` as the hub calls it, writing to a buffer; undone at the end."""
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        [(logging.getLogger(n).level, logging.getLogger(n).disabled) for n in QUIETED],
    )

    def configure(level: str) -> io.StringIO:
        configure_logging(level)
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        return stream

    yield configure
    root.handlers[:], root.level = saved[0], saved[1]
    for name, (level, disabled) in zip(QUIETED, saved[2], strict=True):
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).disabled = disabled


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_migration_that_runs_says_so_in_one_line(
    backend: str, databases: DatabaseFactory, configured: Configure
) -> None:
    stream = configured("INFO")
    engine = make_engine(databases.create(backend))
    try:
        migrate.upgrade(engine)
        head = migrate.current(engine)
    finally:
        engine.dispose()
    lines = _lines(stream)
    assert [(line["logger"], line["level"]) for line in lines] == [("hub.migrate", "INFO")], lines
    assert lines[0]["msg"] == f"database schema migrated from empty to {head}"


def test_a_start_with_nothing_to_migrate_says_nothing(
    backend: str, databases: DatabaseFactory, configured: Configure
) -> None:
    engine = make_engine(databases.create(backend))
    try:
        migrate.upgrade(engine)
        stream = configured("INFO")
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert _lines(stream) == []


def test_alembics_own_lines_show_at_debug(
    backend: str, databases: DatabaseFactory, configured: Configure
) -> None:
    stream = configured("DEBUG")
    engine = make_engine(databases.create(backend))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    alembic = [line["msg"] for line in _lines(stream) if line["logger"].startswith("alembic")]
    assert any(msg.startswith("Running upgrade") for msg in alembic), alembic


def test_hub_serve_starts_without_alembics_lines(live_hubs: LiveHubs) -> None:
    hub = live_hubs.start(env={"HUB_LOG_LEVEL": "INFO"})
    hub.stop()
    hub.restart()
    hub.stop()
    starts = hub.log_path.read_text().split("--- start #")[1:]
    loggers = [
        [json.loads(line)["logger"] for line in start.splitlines() if line.startswith("{")]
        for start in starts
    ]
    assert len(loggers) == 2
    assert not [name for names in loggers for name in names if name.startswith("alembic")], loggers
    assert [names.count("hub.migrate") for names in loggers] == [1, 0], loggers
