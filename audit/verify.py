"""Re-checking the whole audit log from its rows (``hub audit verify``).

One pass in sequence order: numbers must run 1, 2, 3 … (a gap is a deleted entry, a repeat an
inserted one), each row must hash to its stored leaf (an edited or moved entry does not), the
tree rebuilt from the recomputed leaves must end at the head's size and root, and pass through
the root of every stored checkpoint at its size (a checkpoint that is not a prefix of the tree
means history was rewritten, even with every leaf hash recomputed to match), and the stored
interior nodes that proofs are served from must be the ones the entries make. The first problem
found is named; ``checked`` says how far the log is sound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.log import canonical
from audit.merkle import Frontier, leaf_hash
from audit.models import AuditCheckpoint, AuditEvent, AuditHead, AuditNode, nodes_in

__all__ = ["LogReport", "verify_log"]

_PAGE = 5000


@dataclass(frozen=True)
class LogReport:
    """The outcome: ``problem`` is None when everything holds."""

    checked: int  # entries found sound, from the first
    size: int  # what the head says
    root: str
    checkpoints: int  # checkpoints found consistent
    problem: str | None = None
    seq: int | None = None  # the first bad entry, when one can be named

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_log(
    session: Session, *, check_signature: Callable[[AuditCheckpoint], str | None] | None = None
) -> LogReport:
    """Recompute the log; ``check_signature`` (optional) returns a problem with a checkpoint's signature."""
    head = session.get(AuditHead, 1)
    size, root = (head.size, head.root) if head is not None else (0, "")
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)))
    pending = list(checkpoints)
    frontier = Frontier()
    consistent = 0

    def report(problem: str | None, seq: int | None = None) -> LogReport:
        return LogReport(frontier.size, size, root, consistent, problem, seq)

    def due_checkpoints() -> str | None:
        nonlocal consistent
        while pending and pending[0].size == frontier.size:
            checkpoint = pending.pop(0)
            if checkpoint.root != frontier.root().hex():
                signed = f"{checkpoint.signed_at:%Y-%m-%d %H:%M:%S}"
                return (
                    f"the checkpoint of size {checkpoint.size} signed at {signed} is not a prefix of"
                    " the log: history up to there was rewritten"
                )
            if check_signature is not None and (bad := check_signature(checkpoint)):
                return f"the checkpoint of size {checkpoint.size}: {bad}"
            consistent += 1
        return None

    if problem := due_checkpoints():
        return report(problem)
    after = 0
    nodes_seen = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(_PAGE)
            )
        )
        completed: list[tuple[int, int, bytes]] = []
        for row in rows:
            expected = frontier.size + 1
            if row.seq != expected:
                what = "missing (deleted?)" if row.seq > expected else "out of order"
                return report(f"entry {expected} is {what}: the next entry is numbered {row.seq}", expected)
            leaf = leaf_hash(canonical(row))
            if leaf.hex() != row.leaf_hash:
                return report(f"entry {row.seq} does not hash to its leaf: it was changed or moved", row.seq)
            completed += frontier.append(leaf)
            if problem := due_checkpoints():
                return report(problem, row.seq)
            after = row.seq
        if bad_node := _stored_nodes_differ(session, completed):
            return report(*bad_node)
        nodes_seen += len(completed)
        if len(rows) < _PAGE:
            break
    if frontier.size != size:
        return report(
            f"the log holds {frontier.size} entries but its head says {size}: entries were "
            + ("removed from the end" if frontier.size < size else "added behind the hub's back"),
            min(frontier.size, size) + 1,
        )
    if frontier.root().hex() != root:
        return report("the log's root differs from its head's: an entry was rewritten with its leaf hash")
    if pending:
        return report(f"a checkpoint of size {pending[0].size} is larger than the log: entries were removed")
    stored = session.scalar(select(func.count()).select_from(AuditNode)) or 0
    if stored != nodes_seen:
        return report(f"the tree holds {stored} nodes where the entries make {nodes_seen}: some were added")
    return report(None)


def _stored_nodes_differ(
    session: Session, completed: list[tuple[int, int, bytes]]
) -> tuple[str, int] | None:
    """The first interior node whose stored hash is not the one its entries make (proofs read them)."""
    for start in range(0, len(completed), 500):
        chunk = completed[start : start + 500]
        keys = [(level, idx) for level, idx, _ in chunk]
        query = select(AuditNode).where(nodes_in(keys))
        stored = {(node.level, node.idx): node.hash for node in session.scalars(query)}
        for level, idx, expected in chunk:
            if stored.get((level, idx)) != expected.hex():
                first = idx * (1 << level) + 1
                return (
                    f"the tree node over entries {first}–{first + (1 << level) - 1} is missing or altered:"
                    " proofs served from it would not match the log",
                    first,
                )
    return None
