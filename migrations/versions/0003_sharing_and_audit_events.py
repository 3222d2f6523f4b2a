"""Sharing and the audit log: holders' consents, annotated copies, and the events every use records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import JSONType, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("certificate_id", sa.String(length=100), nullable=True),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("use_cause", sa.String(length=200), nullable=True),
        sa.Column("details", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_subject_seq", "audit_events", ["subject", "seq"])
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("holder_kind", sa.String(length=3), nullable=False),
        sa.Column("holder_index", sa.String(length=64), nullable=False),
        sa.Column("grantee_code", sa.String(length=18), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("type_codes", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grantee_code"], ["organizations.code"], name=op.f("fk_consents_grantee_code_organizations")
        ),
        sa.ForeignKeyConstraint(["item_code"], ["items.code"], name=op.f("fk_consents_item_code_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(
        "ix_consents_holder_grantee_item", "consents", ["holder_index", "grantee_code", "item_code"]
    )
    op.create_table(
        "annotated_copies",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=False),
        sa.Column("requester_code", sa.String(length=18), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=True),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("use_cause", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_annotated_copies_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_code"],
            ["organizations.code"],
            name=op.f("fk_annotated_copies_requester_code_organizations"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_annotated_copies")),
    )
    op.create_index(
        op.f("ix_annotated_copies_certificate_id"), "annotated_copies", ["certificate_id"]
    )
    op.create_index(op.f("ix_annotated_copies_expires_at"), "annotated_copies", ["expires_at"])


def downgrade() -> None:
    op.drop_table("annotated_copies")
    op.drop_index("ix_consents_holder_grantee_item", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_audit_events_subject_seq", table_name="audit_events")
    op.drop_table("audit_events")
