"""Schemathesis over /openapi.json: requests generated for every operation, sent in-process with
valid credentials and the seeded world's ids, get no 5xx and no answer the document does not
describe (status code, content type, body schema).

Schemathesis's own engine runs its phases here — examples, coverage (boundary and invalid values),
fuzzing — as ``st run`` would; the operations get the seeded identifiers half of the time and
generated ones otherwise (an unknown id must answer well too). The run is derandomized and bounded
for CI by ``HUB_SCHEMATHESIS_EXAMPLES``; docs/testing.md has the longer one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from asn1crypto import algos, tsp
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.engine import Status, events, from_schema
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.state import HubState
from tests.conftest import with_limits
from tests.hub.callers import ADMIN, HOLDER, ISSUER, PORTAL_WITH_CONSENT
from tests.hub.world import DATA_RESOURCE, ITEM, ONE_THING, World, seed_world

EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "10"))
SEED = int(os.environ.get("HUB_SCHEMATHESIS_SEED", "20261125"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@st.composite
def timestamp_queries(draw: st.DrawFn) -> bytes:
    """RFC 3161 requests: any digest, any nonce (negative and huge ones too), with or without certs."""
    algorithm = draw(st.sampled_from(["sha256", "sha384", "sha512", "sha1", "md5"]))
    query: dict[str, Any] = {
        "version": draw(st.sampled_from([1, 2, 0])),
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm}),
            "hashed_message": draw(st.binary(max_size=80)),
        },
        "cert_req": draw(st.booleans()),
    }
    nonce = draw(st.none() | st.integers(min_value=-(2**200), max_value=2**200))
    if nonce is not None:
        query["nonce"] = nonce
    return bytes(tsp.TimeStampReq(query).dump())


# The DER endpoints read their bodies raw: requests that parse, and bytes that do not.
schemathesis.openapi.media_type("application/timestamp-query", timestamp_queries() | st.binary(max_size=512))
schemathesis.openapi.media_type("application/ocsp-request", st.binary(max_size=512))


def credentials(world: World) -> list[dict[str, Any]]:
    """The caller each operation is for: the holder on /me, the portal with consent on sharing, the
    issuing department on certificates, the operators everywhere else (public operations ignore it)."""
    by_path = {
        "^/api/v1/me/": HOLDER,
        "^/api/v1/sharing/": PORTAL_WITH_CONSENT,
        "^/api/v1/certificates": ISSUER,
        "^/(?!api/v1/(me|sharing|certificates))": ADMIN,
    }
    return [{"include-path-regex": regex, "headers": world[caller]} for regex, caller in by_path.items()]


def seeded_ids(world: World) -> dict[str, Any]:
    """Dictionaries of the world's identifiers, bound to the parameters and body fields naming them."""
    values: dict[str, list[str]] = {
        "certificate": [world.certificate_id],
        "code": [ONE_THING, DATA_RESOURCE, world.issuer_org],
        "type": [world.type_code],
        "item": [ITEM],
        "consent": [world.consent_id],
        "copy": [world.copy_token],
        "verification_code": [world.verification_code],
        "holder": [world.holder["code"]],
        "portal": [world.portal_org],
        "one_thing": [ONE_THING],
        "qr": [world.qr_payload],
    }
    bindings = {
        "path.certificate_id": "certificate",
        "body.certificate_id": "certificate",
        "path.code": "code",
        "path.type_code": "type",
        "body.type_code": "type",
        "body.type_codes[*]": "type",
        "path.item_code": "item",
        "body.item_code": "item",
        "body.items[*]": "item",
        "path.consent_id": "consent",
        "path.token": "copy",
        "query.code": "verification_code",
        "body.holder.code": "holder",
        "body.grantee": "portal",
        "body.one_thing": "one_thing",
        "body.payload": "qr",
    }
    return {
        "dictionaries": {name: {"values": entries} for name, entries in values.items()},
        "parameters": {key: {"dictionary": name, "probability": 0.5} for key, name in bindings.items()},
    }


def config(world: World) -> schemathesis.Config:
    checks: dict[str, Any] = {"enabled": False} | {name: {"enabled": True} for name in CHECKS}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            # Stateful links are not in the document; the world gives the ids instead.
            "phases": {"stateful": {"enabled": False}},
            "checks": checks,
            "operations": credentials(world),
            **seeded_ids(world),
        }
    )


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    status: int | None
    curl: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.check} — {self.title} (answered {self.status})\n    {self.curl}"


def findings(stream: Iterator[events.EngineEvent]) -> tuple[list[Finding], list[str], int]:
    """The failed checks of a run, its errors, and how many requests it sent."""
    found: list[Finding] = []
    errors: list[str] = []
    requests = 0
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            requests += len(recorder.interactions)
            for case_id, checks in recorder.checks.items():
                interaction = recorder.interactions.get(case_id)
                status = interaction.response.status_code if interaction and interaction.response else None
                for check in checks:
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        info = check.failure_info
                        found.append(
                            Finding(recorder.label, check.name, info.failure.title, status, info.code_sample)
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(f"{getattr(event, 'label', 'the run')}: {getattr(event, 'value', event)!r}")
    return found, errors, requests


@pytest.mark.slow
def test_no_server_error_and_every_answer_as_documented(hub_state: HubState, session: Session) -> None:
    world = seed_world(hub_state, session)
    # Rate limits off, so that generated requests reach the code instead of a 429 (which is declared).
    state = with_limits(hub_state, verify_rate="0", tsa_rate="0", auth_failure_rate="0")
    with TestClient(create_app(state=state), raise_server_exceptions=False) as client:
        schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, config=config(world))
        found, errors, requests = findings(from_schema(schema).execute())
    assert requests > 0
    unique = sorted({(f.operation, f.check, f.title, f.status): f for f in found}.values(), key=str)
    # An exception the app raised (a 500 the error handler answered) comes back as an error of the run.
    assert not errors, "\n".join(sorted(set(errors)))
    assert not unique, f"{len(unique)} findings in {requests} requests:\n" + "\n".join(map(str, unique))
