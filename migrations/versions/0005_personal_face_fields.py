"""Personal face fields at rest: their sealed values on the certificate, their blind indexes beside it.

Existing certificates keep their face in ``data`` until ``hub certificates protect`` moves the
personal fields out (it needs the master key, which migrations never see).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("personal_enc", sa.LargeBinary(), nullable=True))
    op.create_table(
        "certificate_personal_index",
        sa.Column("certificate_id", sa.String(length=100), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value_index", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_personal_index_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("certificate_id", "field", name=op.f("pk_certificate_personal_index")),
    )
    op.create_index(
        op.f("ix_certificate_personal_index_value_index"), "certificate_personal_index", ["value_index"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_certificate_personal_index_value_index"), table_name="certificate_personal_index")
    op.drop_table("certificate_personal_index")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("personal_enc")
