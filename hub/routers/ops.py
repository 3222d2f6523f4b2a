"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.deps import StateDep
from hub.errors import problem

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not reachable"}})
def readyz(state: StateDep) -> Response:
    """The database, object storage and search are reachable."""
    checks: dict[str, str] = {}
    try:
        # A raw DBAPI connection: no transaction begins, so on SQLite (BEGIN IMMEDIATE) the probe
        # never queues behind an open write transaction for the whole busy timeout.
        raw = state.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = f"unreachable: {type(e).__name__}"
    for name, probe in state.readiness_probes().items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as e:
            checks[name] = f"unreachable: {type(e).__name__}"
    failing = [k for k, v in checks.items() if v != "ok"]
    if failing:
        return problem(
            503,
            "not_ready",
            f"not reachable: {', '.join(failing)}",
            headers={"Retry-After": "5"},
            checks=checks,
        )
    from fastapi.responses import JSONResponse

    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
