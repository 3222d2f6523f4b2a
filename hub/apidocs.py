"""/docs (Swagger UI) and /redoc (ReDoc) that work offline: no CDN, no inline script.

Swagger UI 5 and ReDoc come from the ``fastapi-offline`` package, served from where pip put them
(never copied into the repository); our one file beside them, ``apidocs_static/swagger-init.js``,
starts Swagger UI, so the two pages carry a Content-Security-Policy that allows scripts of the
hub's origin only. FastAPI's own pages load their assets from a CDN and start Swagger UI inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

STATIC_URL = "/static/apidocs"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
OWN_FILES = Path(__file__).parent / "apidocs_static"

# What Swagger UI and ReDoc need and nothing more: their scripts from the hub, inline styles (both
# style elements from script), data: images and fonts in their CSS, the document fetched from the
# hub (Swagger UI's "Try it out" too), blob: images of responses, and ReDoc's search in a blob: worker.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_COMMON_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}

_SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API (Swagger UI)</title>
<link rel="icon" type="image/png" href="{static}/favicon.png">
<link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}" data-oauth2-redirect-url="{oauth2}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API (ReDoc)</title>
<link rel="icon" type="image/png" href="{static}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="{static}/redoc.standalone.js"></script>
</body>
</html>
"""


def _script_hash(page: str) -> str:
    """The CSP source of a page's one inline script (its SHA-256), so that script alone may run."""
    match = re.search(r"<script>(.*?)</script>", page, re.DOTALL)
    if match is None:  # pragma: no cover - FastAPI changed its page: the tests say so
        raise RuntimeError("FastAPI's OAuth2 redirect page has no inline script to allow")
    digest = hashlib.sha256(match.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def install(app: FastAPI) -> None:
    """Serve /docs, /redoc, /docs/oauth2-redirect and their assets (the app has docs_url=None)."""
    app.mount(
        STATIC_URL,
        StaticFiles(directory=OWN_FILES, packages=[("fastapi_offline", "static")]),
        name="apidocs-static",
    )

    def page(template: str, request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        html = template.format(
            title=escape(app.title),
            static=escape(root + STATIC_URL),
            openapi=escape(root + (app.openapi_url or "/openapi.json")),
            oauth2=escape(root + OAUTH2_REDIRECT_URL),
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": _DOCS_CSP, **_COMMON_HEADERS})

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return page(_SWAGGER_PAGE, request)

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return page(_REDOC_PAGE, request)

    # Swagger UI opens this page after an OAuth2 sign-in; it is FastAPI's, and its one inline
    # script is allowed by its hash.
    redirect = get_swagger_ui_oauth2_redirect_html()
    script = _script_hash(bytes(redirect.body).decode())
    redirect_csp = f"default-src 'none'; script-src {script}; frame-ancestors 'none'"

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return HTMLResponse(
            redirect.body, headers={"Content-Security-Policy": redirect_csp, **_COMMON_HEADERS}
        )
