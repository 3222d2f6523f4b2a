"""Pages answer errors as pages: a 404, 403 or 422 is HTML in the layout, never problem+json.

``PageRoute`` turns what a page's endpoint or its dependencies raise (domain errors, bad query or
form values, HTTP errors) into an error page; ``install_error_pages`` does the same for a browser
asking for a path no route has, outside ``/api/``. API routes keep their problem responses."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.errors import status_for
from hub.web.templating import render
from kernel.errors import DomainError

# What the error page says, by status (its title; the detail adds the reason when there is one).
TITLES = {
    400: "请求有误",
    403: "无权操作",
    404: "页面不存在",
    405: "不支持的操作",
    409: "与现有数据冲突",
    413: "文件太大",
    422: "填写的内容有误",
    429: "操作太频繁，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}


def error_page(request: Request, status: int, detail: str | None = None, code: str | None = None) -> Response:
    """The error page for ``status``; ``detail`` says why in words, ``code`` is the machine code."""
    return render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "出错了"), "detail": detail, "code": code},
        status_code=status,
    )


class PageRoute(APIRoute):
    """A page: what its endpoint or dependencies raise is answered as an error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return error_page(request, status_for(exc), exc.detail, exc.code)
            except RequestValidationError as exc:
                fields = "、".join(str(e.get("loc", ("",))[-1]) for e in exc.errors())
                return error_page(request, 422, f"请检查：{fields}", "validation_failed")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, None, None)

        return page


def wants_page(request: Request) -> bool:
    """A browser asking for a path outside the API that no route answered."""
    if request.scope.get("route") is not None or request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_error_pages(app: FastAPI) -> None:
    """Unknown paths asked for by a browser get the 404 page; everything else keeps its handler."""
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and wants_page(request):
            return error_page(request, exc.status_code)
        response = api_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(StarletteHTTPException, http_error)
