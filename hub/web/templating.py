"""The pages' Jinja2 environment (autoescaped) and ``render``, which every page answers with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hub.web.security import csrf_field
from hub.web.signin import signed_in

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt variable fails the test that renders it, not silently
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["csrf_field"] = csrf_field

# The labels of the header's navigation, in order (path, label).
NAV = [("/", "首页"), ("/guide", "办事指南"), ("/verify", "证照核验"), ("/me", "我的")]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """A page: ``template`` in the layout, with the signed-in holder and the navigation."""
    holder = signed_in(request)
    page = environment.get_template(template).render(
        request=request,
        holder=holder.citizen if holder is not None else None,
        nav=NAV,
        path=request.url.path,
        # this page with its query: where sign-in comes back to
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **(context or {}),
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
