"""Sign-in and sign-out (the development identity
provider). Pages translate HTTP to the same domain calls the API routers make, and decide nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from hub.demo import DEMO_CITIZEN
from hub.deps import StateDep
from hub.identity import HOLDER_KINDS
from hub.web.routing import PageRoute, error_page
from hub.web.security import RequireCsrf
from hub.web.signin import end_session, start_session
from hub.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KIND_NAMES = {"111": "居民身份证", "001": "统一社会信用代码"}


def _local(target: str | None) -> str:
    """Where to go after signing in or out: a path of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/signin")
def signin_form(request: Request, state: StateDep, next: str | None = None) -> Response:
    return render(
        request,
        "signin.html",
        {
            "enabled": state.dev_idp is not None,
            "kinds": KIND_NAMES,
            "demo": DEMO_CITIZEN,
            "next": _local(next),
        },
    )


@router.post("/signin", dependencies=[RequireCsrf])
def signin(
    request: Request,
    state: StateDep,
    kind: Annotated[str, Form(min_length=3, max_length=3)],
    code: Annotated[str, Form(min_length=1, max_length=64)],
    name: Annotated[str, Form(min_length=1, max_length=64)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    if state.dev_idp is None:
        return error_page(
            request, 403, "开发用身份认证已关闭，请通过正式的统一身份认证登录。", "dev_provider_off"
        )
    if kind not in HOLDER_KINDS:
        return error_page(
            request, 422, "证件类型只能是居民身份证（111）或统一社会信用代码（001）。", "invalid_kind"
        )
    response = RedirectResponse(_local(next), status_code=303)
    start_session(response, state, state.dev_idp.token(kind, code.strip(), name.strip()))
    return response


@router.post("/signout", dependencies=[RequireCsrf])
def signout(state: StateDep) -> Response:
    response = RedirectResponse("/", status_code=303)
    end_session(response, state)
    return response
