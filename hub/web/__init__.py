"""The web pages (server-rendered, Chinese): the router, the static files, the security headers
and the error pages, wired into the app by ``install`` (docs/web.md)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.web import apply, catalog_pages, me, pages, verify
from hub.web.routing import install_error_pages
from hub.web.security import SecurityHeadersMiddleware
from hub.web.templating import STATIC


def install(app: FastAPI) -> None:
    """Add the pages, ``/static`` and the error pages to ``app``; the headers middleware is added
    by ``add_headers`` last, so it wraps every response (API ones too)."""
    app.include_router(pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(me.router)
    app.include_router(apply.router)
    app.include_router(verify.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)


def add_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)
