"""一件事 applications: the application, its tasks (one per item), the materials it was given, its
commitments (告知承诺) and the holder's rating (好差评).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import JSONType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("one_thing", sa.String(length=64), nullable=False),
        sa.Column("answers", JSONType, nullable=False),
        sa.Column("portal_code", sa.String(length=18), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_kind", sa.String(length=3), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_code_enc", sa.LargeBinary(), nullable=False),
        sa.Column("holder_index", sa.String(length=64), nullable=False),
        sa.Column("use_cause", sa.String(length=200), nullable=False),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("form_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_code"], ["organizations.code"], name=op.f("fk_applications_portal_code_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint(
            "portal_code", "external_id", name=op.f("uq_applications_portal_code_external_id")
        ),
    )
    op.create_index(op.f("ix_applications_holder_index"), "applications", ["holder_index"])
    op.create_index(op.f("ix_applications_status"), "applications", ["status"])
    op.create_table(
        "application_tasks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("flags", JSONType, nullable=False),
        sa.Column("requested", JSONType, nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_tasks_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_application_tasks_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_tasks")),
    )
    op.create_index(op.f("ix_application_tasks_application_id"), "application_tasks", ["application_id"])
    op.create_index("ix_application_tasks_org_status", "application_tasks", ["org_code", "status"])
    op.create_table(
        "application_materials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=True),
        sa.Column("data_resource", sa.String(length=64), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("supplied_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_materials_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_materials")),
    )
    op.create_index(
        op.f("ix_application_materials_application_id"), "application_materials", ["application_id"]
    )
    op.create_index(op.f("ix_application_materials_file_sha256"), "application_materials", ["file_sha256"])
    op.create_table(
        "commitments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("material_code", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_commitments_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_commitments_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    op.create_index(op.f("ix_commitments_application_id"), "commitments", ["application_id"])
    op.create_index(op.f("ix_commitments_file_sha256"), "commitments", ["file_sha256"])
    op.create_index("ix_commitments_org_status", "commitments", ["org_code", "status"])
    op.create_table(
        "ratings",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_ratings_application_id_applications")
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_ratings")),
    )


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_index("ix_commitments_org_status", table_name="commitments")
    op.drop_index(op.f("ix_commitments_file_sha256"), table_name="commitments")
    op.drop_index(op.f("ix_commitments_application_id"), table_name="commitments")
    op.drop_table("commitments")
    op.drop_index(op.f("ix_application_materials_file_sha256"), table_name="application_materials")
    op.drop_index(op.f("ix_application_materials_application_id"), table_name="application_materials")
    op.drop_table("application_materials")
    op.drop_index("ix_application_tasks_org_status", table_name="application_tasks")
    op.drop_index(op.f("ix_application_tasks_application_id"), table_name="application_tasks")
    op.drop_table("application_tasks")
    op.drop_index(op.f("ix_applications_status"), table_name="applications")
    op.drop_index(op.f("ix_applications_holder_index"), table_name="applications")
    op.drop_table("applications")
