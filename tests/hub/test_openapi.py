"""The OpenAPI document describes the errors the hub really sends (hub/openapi.py).

That every answer of every route is declared is checked by the authorization matrix and by the
Schemathesis run; these tests hold the document's shape."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    errors = [
        (method, path, status, response.get("content"))
        for method, path, op in _operations(document)
        for status, response in op["responses"].items()
        if status[0] in "45"
    ]
    assert errors and all(content == PROBLEM for *_, content in errors), [
        e for e in errors if e[3] != PROBLEM
    ]
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    assert "HTTPValidationError" not in schemas  # FastAPI's 422, which the hub never sends


def test_the_caller_machinery_declares_its_answers(document: dict[str, Any]) -> None:
    """401 wherever a bearer token is read, 403 where a role is required, 400/413/422 with a body."""
    for method, path, op in _operations(document):
        responses = op["responses"]
        if "security" in op:
            assert "401" in responses, (method, path)
        if "requestBody" in op and "/pki/" not in path:  # the DER endpoints read their bodies raw
            assert {"400", "413", "422"} <= set(responses), (method, path)
    admin_only = document["paths"]["/api/v1/audit/events"]["get"]["responses"]
    assert {"401", "403"} <= set(admin_only)


def test_rate_limited_operations_declare_429(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path, method in [
        ("/api/v1/verify", "post"),
        ("/api/v1/verify/{certificate_id}", "get"),
        ("/api/v1/verify/qr", "post"),
        ("/pki/tsa", "post"),
    ]:
        assert "429" in paths[path][method]["responses"], path
