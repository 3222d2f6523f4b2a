"""Application factory and lifespan: engines and clients are built here, never at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import errors
from hub.checkpointing import checkpoint_periodically
from hub.observability import BodySizeLimitMiddleware, RequestContextMiddleware, configure_logging
from hub.openapi import document_problems
from hub.ratelimit import RateLimits
from hub.routers import (
    applications,
    audit,
    catalog,
    certificates,
    me,
    ops,
    organizations,
    pki,
    questionnaire,
    search,
    sharing,
    verify,
)
from hub.settings import Settings
from hub.state import HubState, build_state


def create_app(
    settings: Settings | None = None,
    *,
    state: HubState | None = None,
    checkpoints: bool | None = None,
    warm_pdf_workers: bool | None = None,
) -> FastAPI:
    """A hub application. ``state`` lets tests hand in a prepared state (their own engine).

    ``checkpoints``: sign audit checkpoints in the background while serving — by default when the
    app builds its own state (a worker of ``hub serve --workers N``); ``hub serve`` with one worker
    hands in its state and asks for them explicitly; tests hand in theirs and do not.
    ``warm_pdf_workers``: start the PDF worker processes at start-up rather than at the first PDF,
    likewise by default when the app builds its own state, and for ``hub serve``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = state is None
        sign = own if checkpoints is None else checkpoints
        if own:
            # A worker process started by uvicorn (``hub serve --workers N``): it sets up its own logs.
            configure_logging((settings or Settings()).log_level)
        hub_state = state if state is not None else build_state(settings or Settings())
        app.state.hub = hub_state
        # Counts of this app (this process) or shared in Redis; a test's app starts from zero.
        rate_limits = app.state.rate_limits = RateLimits(hub_state.settings.limits)
        if own if warm_pdf_workers is None else warm_pdf_workers:
            hub_state.pdf_checks.start()  # they import in the background; the first upload finds them ready
        interval = hub_state.settings.audit.checkpoint_interval_seconds
        background = (
            asyncio.create_task(checkpoint_periodically(hub_state, interval)) if sign and interval else None
        )
        try:
            yield
        finally:
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            rate_limits.close()
            if own:
                hub_state.close()

    app = FastAPI(
        title="The hub",
        version="1",
        description="Electronic certificates (电子证照), catalog and data sharing for 一件事一次办.",
        lifespan=lifespan,
    )
    errors.install(app)
    for router in (
        ops.router,
        organizations.router,
        catalog.router,
        search.router,
        questionnaire.router,
        certificates.router,
        sharing.router,
        applications.router,
        me.router,
        verify.router,
        pki.router,
        audit.router,
    ):
        app.include_router(router)
    document_problems(app)

    limits = (state.settings if state else settings or Settings()).limits
    routes = limits.pdf_routes() + limits.small_routes()
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=limits.max_body_bytes, routes=routes)
    app.add_middleware(RequestContextMiddleware)
    return app
