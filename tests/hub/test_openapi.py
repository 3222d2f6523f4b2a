"""The OpenAPI document describes the errors the hub really sends (hub/openapi.py).

That every answer of every route is declared is checked by the authorization matrix and by the
Schemathesis run; these tests hold the document's shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from certificates.uploads import check_uploaded_pdf

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


def _components(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _components(document)[ref.rsplit("/", 1)[-1]] if ref else schema


def test_every_field_is_described(document: dict[str, Any]) -> None:
    """Every member of every schema — request bodies, answers, problems — says what it is."""
    bare = [
        f"{name}.{field}"
        for name, schema in _components(document).items()
        for field, member in schema.get("properties", {}).items()
        if not member.get("description")
    ]
    assert bare == [], f"{len(bare)} fields without a description"


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    """JSON bodies show one (in the operation or in its schema); raw files (a PDF, DER) have none."""
    bare = []
    for method, path, op in _operations(document):
        for media_type, content in op.get("requestBody", {}).get("content", {}).items():
            schema = _resolve(document, content.get("schema", {}))
            if schema.get("format") == "binary" or media_type == "multipart/form-data":
                continue
            if not ({"example", "examples"} & (set(content) | set(schema))):
                bare.append(f"{method.upper()} {path} {media_type}")
    assert bare == [], "request bodies without an example"


def test_request_body_examples_are_accepted(client: TestClient) -> None:
    """An example is a body the route's own model accepts: it can be pasted as it is."""
    document = client.get("/openapi.json").json()
    checked = 0
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if not isinstance(route, APIRoute) or route.body_field is None or not route.include_in_schema:
            continue  # the web pages' forms (hub/web) are not part of the API's document
        adapter: TypeAdapter[Any] = TypeAdapter(route.body_field.field_info.annotation)
        for method in context.methods or ():
            content = document["paths"][context.path_format][method.lower()]["requestBody"]["content"]
            media = content.get("application/json")
            if media is None:
                continue
            schema = _resolve(document, media["schema"])
            examples = [e["value"] for e in media.get("examples", {}).values()] + schema.get("examples", [])
            for example in examples:
                adapter.validate_python(example)
                checked += 1
    assert checked > 0


def test_every_tag_is_described(document: dict[str, Any]) -> None:
    described = {tag["name"]: tag.get("description") for tag in document.get("tags", ())}
    used = {tag for _, _, op in _operations(document) for tag in op.get("tags", ())}
    assert used and used <= set(described), used - set(described)
    assert all(described[tag] for tag in used), described


def test_the_problem_names_its_request(document: dict[str, Any]) -> None:
    """Every problem body carries the request's id (also in X-Request-ID), for a support ticket."""
    member = _components(document)["Problem"]["properties"]["request_id"]
    assert member["anyOf"][0]["type"] == "string" or member.get("type") == "string", member
    assert "request_id" not in _components(document)["Problem"]["required"]


def test_fastapi_validation_error_is_never_referenced(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text


def test_requests_and_parameters_declare_422(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        if op.get("parameters") or ("requestBody" in op and "/pki/" not in path):
            assert "422" in op["responses"], (method, path)


# Operations that reach the database or the blob store through their own units of work (not the
# request's session, whose dependency declares 503) or read PDFs in the worker processes.
OUTAGES = [
    ("/api/v1/certificates", "post"),
    ("/api/v1/certificates/batch", "post"),
    ("/api/v1/applications/pre-review", "post"),
    ("/api/v1/applications", "post"),
    ("/api/v1/applications/{application_id}", "get"),
    ("/api/v1/applications/{application_id}", "delete"),
    ("/api/v1/applications/{application_id}/supplements", "post"),
    ("/api/v1/applications/{application_id}/rating", "post"),
    ("/api/v1/tasks/{task_id}/decision", "post"),
    ("/api/v1/commitments/{commitment_id}/fulfil", "post"),
    ("/api/v1/commitments/{commitment_id}/breach", "post"),
    ("/api/v1/verify", "post"),
]


@pytest.mark.parametrize(("path", "method"), OUTAGES)
def test_operations_reaching_a_backend_declare_503(document: dict[str, Any], path: str, method: str) -> None:
    assert "503" in document["paths"][path][method]["responses"]


def test_every_parameter_is_described(document: dict[str, Any]) -> None:
    """Every query, path and header parameter of every operation says what it is."""
    bare = [
        f"{method.upper()} {path} {parameter['in']}:{parameter['name']}"
        for method, path, op in _operations(document)
        for parameter in op.get("parameters", ())
        if parameter["in"] in {"query", "path", "header"} and not parameter.get("description")
    ]
    assert bare == [], f"{len(bare)} parameters without a description: {bare}"


def _example_values(document: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (f"{method.upper()} {path}", example["value"])
        for method, path, op in _operations(document)
        for media in op.get("requestBody", {}).get("content", {}).values()
        for example in media.get("examples", {}).values()
    ]


def _members(value: Any, name: str) -> list[Any]:
    """Every value of member ``name`` at any depth of a JSON value."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == name] + [
            found for v in value.values() for found in _members(v, name)
        ]
    if isinstance(value, list):
        return [found for v in value for found in _members(v, name)]
    return []


def test_file_examples_are_pdfs_the_hub_accepts(document: dict[str, Any]) -> None:
    """A base64 ``file`` in an example is a whole PDF the upload check takes, not a placeholder."""
    files = [(where, f) for where, value in _example_values(document) for f in _members(value, "file")]
    assert files
    for _, text in files:
        check_uploaded_pdf(base64.b64decode(text, validate=True), max_bytes=1024 * 1024)


def test_the_qr_example_is_a_code_in_the_hubs_format(client: TestClient, document: dict[str, Any]) -> None:
    """The QR example unwraps (EC1:, base45, zlib, COSE_Sign1) and fails only on its example key."""
    payloads = [v["payload"] for where, v in _example_values(document) if where == "POST /api/v1/verify/qr"]
    assert payloads
    for payload in payloads:
        answer = client.post("/api/v1/verify/qr", json={"payload": payload})
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == "invalid"
        assert answer.json()["problems"] == [
            "the code was signed with an unknown key (kid QP5Kp38HrpY), not in the trust list"
        ]
