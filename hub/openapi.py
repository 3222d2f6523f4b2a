"""The OpenAPI document declares every problem response (RFC 9457) an operation can give.

Statuses that come from shared machinery are declared by that machinery, once:

* a dependency marked with ``answers`` (``hub/deps.py``): 401 where the caller is needed, 403
  where a role is, 503 where the database is (down, or locked past the busy timeout);
* a request body: 400 (it cannot be parsed: not UTF-8, a broken multipart), 413 (the size limits
  of ``hub.observability``) and 422 (validation); parameters: 422 (FastAPI's rule).

Statuses that come from an endpoint's own domain — 404 ``certificate_not_found``, 409
``invalid_transition``, 410 ``copy_gone``, 429 where requests are rate limited … — are declared on
its route with ``problems``. Every 4xx and 5xx response is then described by one ``Problem`` schema
under ``application/problem+json``: what ``hub.errors`` really sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import PROBLEM_JSON, TITLES

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# FastAPI's own description of a 422, which the hub never sends (it sends a Problem).
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class ProblemFieldError(BaseModel):
    field: str | None = Field(description="the field at fault, as a path: holder.code, items[2].data")
    message: str = Field(description="what is wrong with it, for people")


class PreReviewProblem(BaseModel):
    item_code: str | None = Field(description="the service item at fault (null: the application as a whole)")
    code: str = Field(description="material_missing, field_missing, field_mismatch, certificate_not_usable …")
    detail: str = Field(description="what the pre-review found, for people")
    material: str | None = Field(default=None, description="the material at fault, by its code in the item")
    field: str | None = Field(default=None, description="the form field at fault")


class Problem(BaseModel):
    """An error answer (RFC 9457): what went wrong for people, and ``code`` for programs."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="https://hub.example/problems/<code>")
    title: str = Field(description="the HTTP status's reason phrase: Not Found, Unprocessable Content …")
    status: int = Field(description="the HTTP status code of the answer, repeated")
    detail: str = Field(description="what went wrong in this request, for people")
    code: str = Field(description="machine-readable, snake_case: certificate_not_found, consent_required …")
    field: str | None = Field(default=None, description="the request field at fault, when there is one")
    errors: list[ProblemFieldError] | None = Field(default=None, description="422: every field at fault")
    problems: list[PreReviewProblem] | None = Field(
        default=None, description="422 pre_review_failed: every problem the pre-review found (智能预审)"
    )
    request_id: str | None = Field(
        default=None,
        description="the id of the request (also in the X-Request-ID header): quote it when asking",
    )


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the error statuses it answers; every operation using it declares them."""

    def mark(dependency: F) -> F:
        dependency.__problems__ = frozenset(statuses)  # type: ignore[attr-defined]
        return dependency

    return mark


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for the error statuses its own domain answers."""
    return {status: {"description": TITLES[status]} for status in statuses}


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare every operation's problem responses (see the module)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:  # the document is generated once and cached: complete it once
            _complete(app, document, schemas)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(app: FastAPI, document: dict[str, Any], schemas: dict[str, Any]) -> None:
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        statuses = set(_answered(route.dependant))
        if route.body_field is not None:
            statuses |= {400, 413, 422}
        for method in context.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            responses = operation["responses"]
            if operation.get("parameters"):
                statuses.add(422)
            for status in statuses:
                responses.setdefault(str(status), {"description": TITLES[status]})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            operation["responses"] = dict(sorted(responses.items()))
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def _answered(dependant: Dependant) -> Iterator[int]:
    yield from getattr(dependant.call, "__problems__", ())
    for sub in dependant.dependencies:
        yield from _answered(sub)


def document_examples(app: FastAPI, examples: Mapping[type[BaseModel], list[dict[str, Any]]]) -> None:
    """Show ``examples`` (by body model) on every JSON request body of that model in ``app.openapi()``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or route.body_field is None or not route.include_in_schema:
                continue
            shown = examples.get(route.body_field.field_info.annotation)  # type: ignore[arg-type]
            for method in context.methods or ():
                operation = document["paths"][context.path_format][method.lower()]
                media = operation["requestBody"]["content"].get("application/json")
                if shown and media is not None and "examples" not in media:
                    media["examples"] = {
                        f"example{i}" if i else "example": {"value": value} for i, value in enumerate(shown)
                    }
        return document

    app.openapi = openapi  # type: ignore[method-assign]
