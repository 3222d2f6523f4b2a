"""The tamper-evident audit log: gapless sequence numbers, Merkle leaf hashes, the head, checkpoints.

Existing events are renumbered 1..n in their order (an autoincrement could leave gaps after a
rollback), given their outcome ``ok`` and their leaf hash, and the head is built over them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from audit.entries import entry_bytes
from audit.merkle import Frontier, leaf_hash
from kernel.db import JSONType, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=False, server_default="ok"))
        batch.add_column(sa.Column("leaf_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("frontier", JSONType, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    events = sa.table(
        "audit_events",
        *(sa.column(name) for name in ("seq", "action", "actor", "org_code", "subject", "certificate_id")),
        *(sa.column(name) for name in ("item_code", "use_cause", "outcome", "leaf_hash")),
        sa.column("at", UTCDateTime()),
        sa.column("details", JSONType),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    frontier = Frontier()
    # Renumber from the top so no new number collides with an old one still in place.
    offset = (rows[-1]["seq"] if rows else 0) + len(rows)
    for number, row in enumerate(rows, start=1):
        connection.execute(
            events.update().where(events.c.seq == row["seq"]).values(seq=offset + number)
        )
    for number, row in enumerate(rows, start=1):
        leaf = leaf_hash(
            entry_bytes(
                seq=number,
                at=row["at"],
                action=row["action"],
                actor=row["actor"],
                org_code=row["org_code"],
                subject=row["subject"],
                certificate_id=row["certificate_id"],
                item_code=row["item_code"],
                use_cause=row["use_cause"],
                outcome="ok",
                details=row["details"] or {},
            )
        )
        frontier.append(leaf)
        connection.execute(
            events.update().where(events.c.seq == offset + number).values(seq=number, leaf_hash=leaf.hex())
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("leaf_hash", existing_type=sa.String(length=64), nullable=False)
    head = sa.table(
        "audit_head", sa.column("id"), sa.column("size"), sa.column("frontier", JSONType), sa.column("root")
    )
    connection.execute(
        head.insert().values(
            id=1, size=frontier.size, frontier=[n.hex() for n in frontier.nodes], root=frontier.root().hex()
        )
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("leaf_hash")
        batch.drop_column("outcome")
