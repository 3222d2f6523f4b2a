"""What ``hub serve`` does before it answers: check the public URL, migrate, create keys and the
CA — idempotently.

Safe to run twice or in two processes at once: migrations take an advisory lock (PostgreSQL) or
the write lock (SQLite); key material is created under file locks, first writer wins.
"""

from __future__ import annotations

from hub import migrate
from hub.public_url import check_public_url
from hub.settings import Settings
from hub.state import HubState, build_state


def prepare(settings: Settings) -> HubState:
    """A ready state: schema at head and every key the hub needs in place.

    Raises ``hub.public_url.PublicUrlMoved`` before opening anything when ``HUB_PUBLIC_URL`` is not
    the URL the existing PKI's certificates name (nothing is created or renewed then).
    """
    check_public_url(settings)
    state = build_state(settings)
    migrate.upgrade(state.engine)
    # Create the blob store's bucket or root directory, so readiness holds on a fresh deployment.
    for name in ("ensure_bucket", "ensure_root"):
        ensure = getattr(state.blobs, name, None)
        if ensure is not None:
            ensure()
    return state
