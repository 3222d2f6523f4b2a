"""Foundation, catalog and certificates: the first schema.

The search full-text structures are dialect-specific and not described by the models:
SQLite gets an FTS5 table kept in step by triggers, PostgreSQL a GIN index over a tsvector.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.db import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_types",
        sa.Column("code", sa.String(length=21), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder_kind", sa.String(length=3), nullable=False),
        sa.Column("sharing", sa.String(length=20), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_certificate_types")),
    )
    op.create_table(
        "one_things",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_one_things")),
    )
    op.create_table(
        "organizations",
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organizations")),
    )
    op.create_table(
        "search_documents",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_grams", sa.String(), nullable=False),
        sa.Column("body_grams", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_search_documents")),
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_api_clients_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_clients_org_code"), ["org_code"], unique=False)

    op.create_table(
        "certificate_type_issuers",
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_code"],
            ["organizations.code"],
            name=op.f("fk_certificate_type_issuers_org_code_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["certificate_types.code"],
            name=op.f("fk_certificate_type_issuers_type_code_certificate_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_code", "org_code", name=op.f("pk_certificate_type_issuers")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.String(length=100), nullable=True),
        sa.Column("successor_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_kind", sa.String(length=3), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_code_enc", sa.LargeBinary(), nullable=False),
        sa.Column("holder_index", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature_level", sa.String(length=8), nullable=False),
        sa.Column("verification_code_hash", sa.String(length=64), nullable=False),
        sa.Column("verification_code_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_code"], ["organizations.code"], name=op.f("fk_certificates_issuer_code_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["certificate_types.code"],
            name=op.f("fk_certificates_type_code_certificate_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "issuer_code", "serial", "version", name=op.f("uq_certificates_issuer_code_serial_version")
        ),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_file_sha256"), ["file_sha256"], unique=False)
        batch_op.create_index(
            "ix_certificates_holder", ["holder_index", "status", "valid_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificates_type_code"), ["type_code"], unique=False)
        batch_op.create_index("ix_certificates_valid_until_status", ["valid_until", "status"], unique=False)

    op.create_table(
        "data_resources",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_data_resources_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_data_resources")),
    )
    with op.batch_alter_table("data_resources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_resources_org_code"), ["org_code"], unique=False)

    op.create_table(
        "items",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_items_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_items")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_org_code"), ["org_code"], unique=False)

    op.create_table(
        "seals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("key_label", sa.String(length=100), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_code"], ["organizations.code"], name=op.f("fk_seals_org_code_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seals")),
        sa.UniqueConstraint("serial_number", name=op.f("uq_seals_serial_number")),
    )
    with op.batch_alter_table("seals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seals_org_code"), ["org_code"], unique=False)

    op.create_table(
        "serial_counters",
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_code"], ["organizations.code"], name=op.f("fk_serial_counters_issuer_code_organizations")
        ),
        sa.PrimaryKeyConstraint("issuer_code", name=op.f("pk_serial_counters")),
    )
    op.create_table(
        "certificate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=2), nullable=True),
        sa.Column("to_status", sa.String(length=2), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_events_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_events")),
    )
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_events_certificate_id"), ["certificate_id"], unique=False
        )

    op.create_table(
        "issuance_keys",
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_issuance_keys_certificate_id_certificates")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_code"], ["organizations.code"], name=op.f("fk_issuance_keys_issuer_code_organizations")
        ),
        sa.PrimaryKeyConstraint("issuer_code", "external_id", name=op.f("pk_issuance_keys")),
    )

    _create_search_fulltext()


SEARCH_FTS_SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(name_grams, body_grams, "
    "content='search_documents', content_rowid='rowid', tokenize='unicode61')",
    "CREATE TRIGGER search_fts_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, name_grams, body_grams) "
    "VALUES (new.rowid, new.name_grams, new.body_grams); END",
    "CREATE TRIGGER search_fts_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, name_grams, body_grams) "
    "VALUES ('delete', old.rowid, old.name_grams, old.body_grams); END",
    "CREATE TRIGGER search_fts_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, name_grams, body_grams) "
    "VALUES ('delete', old.rowid, old.name_grams, old.body_grams); "
    "INSERT INTO search_fts(rowid, name_grams, body_grams) "
    "VALUES (new.rowid, new.name_grams, new.body_grams); END",
]
SEARCH_FTS_POSTGRESQL = [
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin "
    "(to_tsvector('simple', name_grams || ' ' || body_grams))",
]


def _create_search_fulltext() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SEARCH_FTS_SQLITE if dialect == "sqlite" else SEARCH_FTS_POSTGRESQL:
        op.execute(statement)


def _drop_search_fulltext() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_fts_ai", "search_fts_ad", "search_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")


def downgrade() -> None:
    _drop_search_fulltext()
    op.drop_table("issuance_keys")
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_events_certificate_id"))

    op.drop_table("certificate_events")
    op.drop_table("serial_counters")
    with op.batch_alter_table("seals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seals_org_code"))

    op.drop_table("seals")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_org_code"))

    op.drop_table("items")
    with op.batch_alter_table("data_resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_resources_org_code"))

    op.drop_table("data_resources")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_valid_until_status")
        batch_op.drop_index(batch_op.f("ix_certificates_type_code"))
        batch_op.drop_index("ix_certificates_holder")
        batch_op.drop_index(batch_op.f("ix_certificates_file_sha256"))

    op.drop_table("certificates")
    op.drop_table("certificate_type_issuers")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_clients_org_code"))

    op.drop_table("api_clients")
    op.drop_table("search_documents")
    op.drop_table("organizations")
    op.drop_table("one_things")
    op.drop_table("certificate_types")
