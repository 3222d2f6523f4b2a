"""``hub sharing``: what an operator asks of the sharing records."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli_support import prepared_state, print_json

sharing_app = typer.Typer(help="Sharing: holders' access logs.", no_args_is_help=True)


@sharing_app.command("log")
def log(
    holder_kind: Annotated[str, typer.Option("--holder-kind", help="111 (person) or 001 (organization).")],
    holder_code: Annotated[str, typer.Option("--holder-code", help="Identity number or USCC.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """Print a holder's access log (who used their data, when, for which item and why), newest first."""
    from hub.services import HOLDER_VISIBLE
    from kernel.db import unit_of_work
    from sharing.holders import holder_ref
    from sharing.me import access_log

    state = prepared_state()
    try:
        holder = holder_ref(state.vault, holder_kind, holder_code)
        with unit_of_work(state.read_sessions) as session:
            total, entries = access_log(session, holder, limit=limit, offset=0, actions=HOLDER_VISIBLE)
    finally:
        state.close()
    print_json(
        {
            "total": total,
            "entries": [
                {
                    "at": e.at,
                    "action": e.action,
                    "organization": {"code": e.org_code, "name": e.org_name},
                    "actor": e.actor,
                    "item_code": e.item_code,
                    "use_cause": e.use_cause,
                    "certificates": e.certificates,
                }
                for e in entries
            ],
        }
    )
