"""Signing the audit log's checkpoints: on demand, and every ``HUB_AUDIT__CHECKPOINT_INTERVAL_SECONDS``
in each serving process (whichever process comes first signs; the others find it done)."""

from __future__ import annotations

import asyncio
import logging

from audit.checkpoints import make_checkpoint
from audit.models import AuditCheckpoint
from hub.state import HubState
from kernel.db import unit_of_work

log = logging.getLogger("hub.audit")


def sign_checkpoint(state: HubState) -> AuditCheckpoint | None:
    """A new signed, timestamped checkpoint of the log as it stands (None if nothing was added)."""
    with unit_of_work(state.sessions) as session:
        made = make_checkpoint(
            session,
            origin=state.settings.public_url,
            sign=state.signing.sign_checkpoint,
            timestamp=state.signing.timestamp_token,
        )
        if made is not None:
            log.info("audit checkpoint signed", extra={"size": made.size, "root": made.root})
        return made


async def checkpoint_periodically(state: HubState, interval: float) -> None:
    """Run until cancelled: a checkpoint at start, then one per ``interval`` seconds when needed."""
    while True:
        try:
            await asyncio.to_thread(sign_checkpoint, state)
        except Exception:  # a busy or unreachable database: try again next time, never crash serving
            log.exception("audit checkpoint failed")
        await asyncio.sleep(interval)
