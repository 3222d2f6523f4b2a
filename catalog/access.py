"""Who may do what with the catalog: anyone reads it (it is the public 一次告知 of what each service
needs); only the hub's operators write it (organizations, types, resources, items, one-things)."""

from __future__ import annotations

from kernel.actor import Actor, Role
from kernel.errors import Forbidden

CATALOG_EDITORS = frozenset({Role.ADMIN})


def check_may_edit(actor: Actor) -> Actor:
    """``actor`` if they may write the catalog, else Forbidden."""
    if actor.role not in CATALOG_EDITORS:
        raise Forbidden("this needs the role admin", code="forbidden")
    return actor
