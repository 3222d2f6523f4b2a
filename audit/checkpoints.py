"""Signed checkpoints of the audit log, and the proofs that tie entries and checkpoints together.

A checkpoint states the log's size and root at a moment, as a short text (the *note*)::

    hub-audit-v1
    <origin, the hub's public URL>
    <size>
    <root, hex>
    <signed_at, UTC, e.g. 2026-12-02T00:30:00.000000Z>

signed (ECDSA P-256, SHA-256, DER, base64) with the hub's audit key — published in the trust list
as ``audit_keys`` — and timestamped by the hub's TSA (an RFC 3161 token over SHA-256 of the note).
Signing and timestamping are the caller's (``hub``): this package holds no keys. An outsider who
keeps checkpoints checks that each new one extends the last with a consistency proof, and that an
entry is in the log with an inclusion proof (RFC 9162 2.1.3-2.1.4; ``docs/audit.md``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.entries import timestamp as format_time
from audit.merkle import RangeHash, blocks, consistency_path, fold, inclusion_path
from audit.models import AuditCheckpoint, AuditEvent, AuditHead, AuditNode, nodes_in
from kernel.clock import utcnow
from kernel.errors import NotFound, ValidationFailed

__all__ = [
    "NOTE_FORMAT",
    "consistency",
    "inclusion",
    "latest_checkpoint",
    "make_checkpoint",
    "note",
]

NOTE_FORMAT = "hub-audit-v1"

Signer = Callable[[bytes], tuple[str, bytes]]  # note -> (key id, DER signature)
Timestamper = Callable[[bytes], bytes]  # SHA-256 of the note -> DER timestamp token


def note(origin: str, size: int, root: str, signed_at: datetime) -> bytes:
    """The text a checkpoint signs."""
    return f"{NOTE_FORMAT}\n{origin}\n{size}\n{root}\n{format_time(signed_at)}\n".encode()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1))


def make_checkpoint(
    session: Session,
    *,
    origin: str,
    sign: Signer,
    timestamp: Timestamper | None,
    now: datetime | None = None,
) -> AuditCheckpoint | None:
    """Sign the log as it stands, unless its latest checkpoint already covers it (then None).

    Safe when several processes try at once: the head is read under its lock, and a checkpoint of
    the same size made meanwhile by another process wins (None here)."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None or head.size == 0:
        return None
    latest = latest_checkpoint(session)
    if latest is not None and latest.size >= head.size:
        return None
    signed_at = now or utcnow()
    text = note(origin, head.size, head.root, signed_at)
    key_id, signature = sign(text)
    token = timestamp(hashlib.sha256(text).digest()) if timestamp is not None else None
    checkpoint = AuditCheckpoint(
        size=head.size,
        root=head.root,
        signed_at=signed_at,
        key_id=key_id,
        signature=base64.b64encode(signature).decode(),
        timestamp=base64.b64encode(token).decode() if token is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(checkpoint)
    except IntegrityError:
        return None
    return checkpoint


def _tree(session: Session, size: int) -> Callable[[Callable[[RangeHash], list[bytes]]], list[bytes]]:
    """Run a proof over the first ``size`` entries reading only the nodes it needs: one pass to
    learn which complete subtrees it reads (O(log² n) at most), one query for them, then the proof."""
    head = session.get(AuditHead, 1)
    if head is None or not 0 < size <= head.size:
        raise ValidationFailed(f"the log has {head.size if head else 0} entries", field="size")

    def run(proof: Callable[[RangeHash], list[bytes]]) -> list[bytes]:
        wanted: set[tuple[int, int]] = set()

        def collect(start: int, end: int) -> bytes:
            wanted.update(blocks(start, end))
            return b""

        proof(collect)
        known = _nodes(session, wanted)
        if len(known) != len(wanted):
            raise NotFound("the log is missing entries or tree nodes: run hub audit verify")
        return proof(lambda start, end: fold([known[block] for block in blocks(start, end)]))

    return run


def _nodes(session: Session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    leaves = [idx + 1 for level, idx in wanted if level == 0]
    inner = [(level, idx) for level, idx in wanted if level > 0]
    found: dict[tuple[int, int], bytes] = {}
    leaf_rows = select(AuditEvent.seq, AuditEvent.leaf_hash).where(AuditEvent.seq.in_(leaves))
    for seq, leaf in session.execute(leaf_rows):
        found[(0, seq - 1)] = bytes.fromhex(leaf)
    if inner:
        for node in session.scalars(select(AuditNode).where(nodes_in(inner))):
            found[(node.level, node.idx)] = bytes.fromhex(node.hash)
    return found


def inclusion(session: Session, seq: int, size: int) -> tuple[str, list[str]]:
    """Entry ``seq``'s leaf hash and its audit path in the tree of the first ``size`` entries."""
    if not 0 < seq <= size:
        raise ValidationFailed("seq must be between 1 and size", field="seq")
    run = _tree(session, size)
    leaf = run(lambda mth: [mth(seq - 1, seq)])[0]
    return leaf.hex(), [h.hex() for h in run(lambda mth: inclusion_path(seq - 1, size, mth))]


def consistency(session: Session, first: int, second: int) -> list[str]:
    """The proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
    if not 0 < first <= second:
        raise ValidationFailed("first must be between 1 and second", field="first")
    run = _tree(session, second)
    return [h.hex() for h in run(lambda mth: consistency_path(first, second, mth))]
