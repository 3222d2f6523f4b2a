"""Serials from a PostgreSQL sequence, so one issuer's certificates can be sealed in parallel.

On PostgreSQL ``nextval`` takes no row lock that lasts the transaction (the per-issuer counter row
did, through rendering and sealing). Serials become unique across all issuers, which keeps them
unique per issuer as GB/T 36904 asks; a failed issuance leaves a gap. SQLite serialises writers
anyway and keeps the ``serial_counters`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Continue after any serial already handed out by the counters.
        op.execute("CREATE SEQUENCE certificate_serial_seq START WITH 1")
        op.execute(
            "SELECT setval('certificate_serial_seq', "
            "GREATEST((SELECT max(last_value) FROM serial_counters), 0) + 1, false)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS certificate_serial_seq")
