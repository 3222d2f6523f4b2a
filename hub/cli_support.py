"""What every ``hub`` sub-command shares: a prepared state, JSON output, failing with a message."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from hub.settings import Settings

if TYPE_CHECKING:
    from hub.state import HubState


def prepared_state(settings: Settings | None = None) -> HubState:
    """The hub's state with the schema migrated and keys in place (as ``hub serve`` has it).

    Exits 2 with one line when ``HUB_PUBLIC_URL`` is not the URL the hub's certificates name.
    """
    from hub.bootstrap import prepare
    from hub.public_url import PublicUrlMoved

    try:
        return prepare(settings or Settings())
    except PublicUrlMoved as e:
        raise fail(str(e)) from None


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say what is wrong on stderr; the caller raises the returned Exit (2: bad input)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
