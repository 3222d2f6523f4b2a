"""The audit log as stored: gapless numbers, leaves and head kept with each entry, and every kind of
direct tampering with the table found by ``verify_log`` — naming the first bad entry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from audit.log import Event, append_pending, canonical, record
from audit.merkle import leaf_hash, root_of
from audit.models import AuditCheckpoint, AuditEvent, AuditHead, AuditNode
from audit.verify import verify_log
from hub import migrate
from hub.db import make_engine
from tests.conftest import DatabaseFactory


def _append(session: Session, n: int) -> list[AuditEvent]:
    """``n`` entries, numbered as a commit would number them."""
    for i in range(n):
        record(session, Event(action="test.event", actor=f"tester {i}", details={"i": i}))
    return append_pending(session)


def _head(session: Session) -> AuditHead:
    head = session.get(AuditHead, 1)
    assert head is not None
    session.refresh(head)
    return head


def test_entries_are_numbered_without_gaps_and_the_head_is_their_tree(session: Session) -> None:
    start = _head(session).size
    rows = _append(session, 9)
    assert [r.seq for r in rows] == list(range(start + 1, start + 10))
    leaves = [
        bytes.fromhex(r.leaf_hash) for r in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]
    head = _head(session)
    assert head.size == len(leaves) == start + 9
    assert head.root == root_of(leaves).hex()
    assert all(bytes.fromhex(r.leaf_hash) == leaf_hash(canonical(r)) for r in rows)
    report = verify_log(session)
    assert report.ok, report.problem
    assert report.checked == head.size


def _tampered(session: Session, statement: str, **params: object) -> str:
    session.flush()
    session.execute(text(statement), params)
    session.expire_all()
    report = verify_log(session)
    assert not report.ok
    assert report.problem is not None
    return report.problem


def test_an_edited_entry_is_named(session: Session) -> None:
    target = _append(session, 5)[2].seq
    problem = _tampered(session, "UPDATE audit_events SET actor = 'someone else' WHERE seq = :s", s=target)
    assert f"entry {target} does not hash" in problem


def test_a_deleted_entry_is_named(session: Session) -> None:
    target = _append(session, 5)[2].seq
    problem = _tampered(session, "DELETE FROM audit_events WHERE seq = :s", s=target)
    assert f"entry {target} is missing" in problem


def test_a_deleted_last_entry_is_found_by_the_head(session: Session) -> None:
    target = _append(session, 3)[-1].seq
    problem = _tampered(session, "DELETE FROM audit_events WHERE seq = :s", s=target)
    assert "removed from the end" in problem


def test_an_altered_tree_node_is_named(session: Session) -> None:
    _append(session, 8)
    session.flush()
    node = session.scalars(select(AuditNode).order_by(AuditNode.level.desc(), AuditNode.idx)).first()
    assert node is not None
    problem = _tampered(
        session,
        "UPDATE audit_nodes SET hash = :h WHERE level = :l AND idx = :i",
        h="0" * 64,
        l=node.level,
        i=node.idx,
    )
    first = node.idx * 2**node.level + 1
    assert f"tree node over entries {first}–" in problem


def test_an_added_tree_node_is_found(session: Session) -> None:
    _append(session, 4)
    problem = _tampered(session, "INSERT INTO audit_nodes (level, idx, hash) VALUES (40, 0, :h)", h="0" * 64)
    assert "some were added" in problem


def test_reordered_entries_are_named(session: Session) -> None:
    rows = _append(session, 4)
    a, b = rows[1].seq, rows[2].seq
    session.flush()
    for old, new in ((a, -1), (b, a), (-1, b)):
        session.execute(update(AuditEvent).where(AuditEvent.seq == old).values(seq=new))
    session.expire_all()
    report = verify_log(session)
    assert not report.ok and report.seq == a and f"entry {a} does not hash" in (report.problem or "")


def test_an_entry_inserted_with_a_correct_leaf_is_found_by_the_head(session: Session) -> None:
    rows = _append(session, 2)
    forged = AuditEvent(
        seq=rows[-1].seq + 1,
        at=datetime.now(UTC),
        action="test.forged",
        actor="intruder",
        details={},
        outcome="ok",
    )
    forged.leaf_hash = leaf_hash(canonical(forged)).hex()
    session.add(forged)
    session.flush()
    session.expire_all()
    report = verify_log(session)
    assert not report.ok and "added behind the hub's back" in (report.problem or "")


def test_history_rewritten_with_every_hash_recomputed_is_caught_by_a_checkpoint(session: Session) -> None:
    rows = _append(session, 6)
    head = _head(session)
    session.add(
        AuditCheckpoint(
            size=head.size, root=head.root, signed_at=datetime.now(UTC), key_id="k", signature="s"
        )
    )
    session.flush()
    # The intruder edits an entry, recomputes its leaf and rebuilds the head: only the checkpoint knows.
    victim = rows[1]
    victim.actor = "rewritten"
    victim.leaf_hash = leaf_hash(canonical(victim)).hex()
    session.flush()
    leaves = [
        bytes.fromhex(r.leaf_hash) for r in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]
    head.root = root_of(leaves).hex()
    session.flush()
    report = verify_log(session)
    assert not report.ok
    assert f"checkpoint of size {head.size}" in (report.problem or "") and "not a prefix" in (
        report.problem or ""
    )


def test_a_failed_transaction_leaves_no_entry_and_no_gap(engine: Engine, session: Session) -> None:
    start = _head(session).size
    with pytest.raises(RuntimeError), session.begin_nested():
        _append(session, 2)
        raise RuntimeError("the change being recorded failed")
    assert _head(session).size == start
    with pytest.raises(RuntimeError), session.begin_nested():  # recorded, not yet numbered
        record(session, Event(action="test.lost", actor="tester"))
        raise RuntimeError("the change being recorded failed")
    with session.begin_nested():  # a savepoint that holds: its entry stays pending for the commit
        record(session, Event(action="test.kept", actor="tester"))
    kept = _append(session, 1)
    assert [(r.action, r.seq) for r in kept] == [("test.kept", start + 1), ("test.event", start + 2)]


def test_entries_are_numbered_when_their_transaction_commits(session: Session) -> None:
    start = _head(session).size
    row = record(session, Event(action="test.commit", actor="tester"))
    assert row.seq is None  # no lock taken yet: the rest of the transaction runs unserialised
    session.commit()
    assert row.seq == start + 1 and _head(session).size == start + 1


def test_concurrent_writers_get_gapless_distinct_numbers(backend: str, databases: DatabaseFactory) -> None:
    url = databases.create(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with Session(engine) as s, s.begin():
                    record(s, Event(action="test.concurrent", actor=name, details={"i": i}))
                    if i % 5 == 4:
                        s.rollback()  # an aborted change leaves no number behind
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert not errors, errors
    engine = make_engine(url)
    with Session(engine) as s:
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, 4 * 12 + 1))
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 48
        report = verify_log(s)
        assert report.ok, report.problem
    engine.dispose()
