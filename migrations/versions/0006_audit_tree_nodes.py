"""The audit log's complete subtrees stored as they complete: proofs read O(log n) nodes, not every leaf.

Existing logs get their nodes computed from the stored leaf hashes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from audit.merkle import Frontier

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PAGE = 5000


def upgrade() -> None:
    nodes = op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    events = sa.table("audit_events", sa.column("seq", sa.Integer()), sa.column("leaf_hash", sa.String()))
    connection = op.get_bind()
    frontier, after = Frontier(), 0
    while True:
        page = sa.select(events.c.seq, events.c.leaf_hash).where(events.c.seq > after)
        rows = connection.execute(page.order_by(events.c.seq).limit(_PAGE)).all()
        completed = []
        for seq, leaf in rows:
            completed += frontier.append(bytes.fromhex(leaf))
            after = seq
        if completed:
            op.bulk_insert(nodes, [{"level": lv, "idx": i, "hash": h.hex()} for lv, i, h in completed])
        if len(rows) < _PAGE:
            break


def downgrade() -> None:
    op.drop_table("audit_nodes")
