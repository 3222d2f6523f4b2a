"""The audit log over HTTP: its latest signed checkpoint and proofs (public), its entries (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from audit.checkpoints import consistency, inclusion, latest_checkpoint, make_checkpoint, note
from audit.log import events_after
from audit.models import AuditCheckpoint
from hub.admission import AdmissionRoute
from hub.deps import AdminDep, ReadSessionDep, SessionDep, StateDep
from hub.openapi import problems
from hub.state import HubState
from kernel.errors import NotFound

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], route_class=AdmissionRoute)

MAX_SEQ = 2**31 - 1


class CheckpointOut(BaseModel):
    size: int = Field(description="events the checkpoint covers")
    root: str = Field(description="Merkle root of those events (hex)")
    signed_at: datetime = Field(description="when it was signed")
    key_id: str = Field(description="the signing key, by its kid in the trust list's audit_keys")
    signature: str = Field(description="base64 DER ECDSA P-256 / SHA-256 signature over note")
    timestamp: str | None = Field(
        description="base64 RFC 3161 timestamp token over SHA-256(note); null without one"
    )
    note: str = Field(description="the signed text (docs/audit.md)")


def checkpoint_out(state: HubState, checkpoint: AuditCheckpoint) -> CheckpointOut:
    text = note(state.settings.public_url, checkpoint.size, checkpoint.root, checkpoint.signed_at)
    return CheckpointOut(
        size=checkpoint.size,
        root=checkpoint.root,
        signed_at=checkpoint.signed_at,
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        timestamp=checkpoint.timestamp,
        note=text.decode(),
    )


@router.get("/checkpoint", response_model=CheckpointOut, responses=problems(404))
def get_checkpoint(session: ReadSessionDep, state: StateDep) -> CheckpointOut:
    """The latest signed checkpoint of the audit log (anyone may fetch and keep it)."""
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise NotFound("no checkpoint has been signed yet")
    return checkpoint_out(state, checkpoint)


@router.post("/checkpoint", response_model=CheckpointOut, responses=problems(404))
def sign_checkpoint(admin: AdminDep, session: SessionDep, state: StateDep) -> CheckpointOut:
    """Sign a checkpoint of the log now (admin); answers the latest if nothing was added since."""
    made = make_checkpoint(
        session,
        origin=state.settings.public_url,
        sign=state.signing.sign_checkpoint,
        timestamp=state.signing.timestamp_token,
    )
    checkpoint = made or latest_checkpoint(session)
    if checkpoint is None:
        raise NotFound("the audit log is empty")
    return checkpoint_out(state, checkpoint)


class InclusionOut(BaseModel):
    seq: int = Field(description="the event proven")
    size: int = Field(description="the log size the proof is against")
    leaf_hash: str = Field(description="the event's leaf hash (hex)")
    hashes: list[str] = Field(description="the audit path (hex), RFC 9162")


@router.get("/proof/inclusion", response_model=InclusionOut, responses=problems(404))
def inclusion_proof(
    session: ReadSessionDep,
    seq: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the event to prove, by its sequence number")],
    size: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the log size (tree head) to prove it against")],
) -> InclusionOut:
    """The audit path of entry ``seq`` in the tree of the first ``size`` entries (RFC 9162 2.1.3)."""
    leaf, hashes = inclusion(session, seq, size)
    return InclusionOut(seq=seq, size=size, leaf_hash=leaf, hashes=hashes)


class ConsistencyOut(BaseModel):
    first: int = Field(description="the smaller log size")
    second: int = Field(description="the larger log size")
    hashes: list[str] = Field(description="the consistency proof (hex), RFC 9162")


@router.get("/proof/consistency", response_model=ConsistencyOut)
def consistency_proof(
    session: ReadSessionDep,
    first: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the smaller log size (an older tree head)")],
    second: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the larger log size (a newer tree head)")],
) -> ConsistencyOut:
    """The proof that the tree of ``first`` entries is a prefix of that of ``second`` (RFC 9162 2.1.4)."""
    return ConsistencyOut(first=first, second=second, hashes=consistency(session, first, second))


class EventOut(BaseModel):
    seq: int = Field(description="the event's place in the log, from 1")
    at: datetime = Field(description="when it was recorded")
    action: str = Field(
        description="what happened: certificate.issued, sharing.lookup, application.submitted …"
    )
    actor: str = Field(description="who did it: a client label or a citizen")
    org_code: str | None = Field(description="the acting organization (USCC)")
    subject: str | None = Field(description="whom it is about (a keyed hash of the holder, never the number)")
    certificate_id: str | None = Field(description="the certificate it concerns")
    item_code: str | None = Field(description="the service item it concerns")
    use_cause: str | None = Field(description="the use cause (用证事由) given")
    outcome: str = Field(description="ok or refused")
    details: dict[str, Any] = Field(description="the rest of what was recorded")
    leaf_hash: str = Field(description="the event's Merkle leaf hash (hex), for proofs")


class EventsOut(BaseModel):
    size: int = Field(description="events in the log now")
    events: list[EventOut] = Field(description="events after the asked sequence number, in order")


@router.get("/events", response_model=EventsOut)
def events(
    admin: AdminDep,
    session: ReadSessionDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="the last sequence number already read (0: from the start)")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many events (1–1000)")] = 100,
) -> EventsOut:
    """Entries after ``after``, oldest first (admin): enough to recompute every leaf."""
    size, rows = events_after(session, after, limit)
    return EventsOut(size=size, events=[EventOut.model_validate(row, from_attributes=True) for row in rows])
