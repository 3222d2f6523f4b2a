"""Application factory and lifespan: engines and clients are built here, never at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import apidocs, errors, web
from hub.checkpointing import checkpoint_periodically
from hub.examples import EXAMPLES
from hub.observability import BodySizeLimitMiddleware, RequestContextMiddleware, configure_logging
from hub.openapi import document_examples, document_problems
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

# The groups of /docs, in the order a newcomer meets them (docs/api.md has the whole contract).
TAGS = [
    {
        "name": "catalog",
        "description": "The catalog (目录): organizations by 统一社会信用代码 (USCC), certificate types "
        "(证照类型), data resources (数据资源目录), service items (事项) and one-things (一件事) with their "
        "progressive questionnaires, and search over them. Anyone reads it; the hub's operators write it.",
    },
    {
        "name": "certificates",
        "description": "Electronic certificates (电子证照): a department issues them (one or a batch), "
        "reads them and their sealed PDF, changes their status (revoke, suspend …) and issues new versions. "
        "Identifiers follow GB/T 36904.",
    },
    {
        "name": "sharing",
        "description": "Data sharing (数据共享) for portals: a holder's certificates (lookup), a one-thing's "
        "checklist with a prefilled form (plan), annotated copies (加注件) and data checks (核验), each use "
        "recorded in the holder's access log, under the sharing levels and the holder's consent.",
    },
    {
        "name": "applications",
        "description": "Applications for a one-thing (一件事一次办): pre-review (智能预审), filing, the "
        "departments' tasks and decisions, supplements (补正), unified issuance (统一发证), written "
        "commitments (告知承诺) and ratings (好差评).",
    },
    {
        "name": "holders",
        "description": "What a signed-in citizen (持证人, a holder) sees of their own: certificates, "
        "applications, who used their data (access log) and the consents they gave portals.",
    },
    {
        "name": "verification",
        "description": "Verification (验证) for anyone: a sealed PDF, an identifier with its verification "
        "code, or the offline QR code printed on a certificate; and the keys those QR codes are signed with.",
    },
    {
        "name": "pki",
        "description": "The hub's public key infrastructure: RFC 3161 timestamps (时间戳), OCSP and CRLs for "
        "the seal certificates (电子印章), and the CA certificates to trust.",
    },
    {
        "name": "audit",
        "description": "The append-only audit log (审计日志): signed checkpoints, inclusion and consistency "
        "proofs anyone can check, and the events for the hub's operators.",
    },
    {
        "name": "operations",
        "description": "Liveness and readiness probes for the orchestrator (运维).",
    },
]


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
        openapi_tags=TAGS,
        docs_url=None,  # FastAPI's pages load from a CDN: hub/apidocs.py serves them offline
        redoc_url=None,
    )
    errors.install(app)
    apidocs.install(app)
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
    document_examples(app, EXAMPLES)
    web.install(app)  # the pages, /static and the error pages (hub/web, docs/web.md)

    limits = (state.settings if state else settings or Settings()).limits
    routes = limits.pdf_routes() + limits.small_routes()
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=limits.max_body_bytes, routes=routes)
    app.add_middleware(RequestContextMiddleware)
    web.add_headers(app)  # outermost: every response, API and pages, gets the security headers
    return app
