"""sent documents: the letters as they were sent

``sent_documents`` holds one row per stored letter (clinician and family, HTML and PDF, and
later addenda and updated versions): its SHA-256, size and storage key. Letters of cases sent
before this revision are not rendered here (that needs the app): they are served as before
until the case's next document is issued.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sent_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("question_ids", sa.JSON(), nullable=True),
        sa.Column("amendment_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_sent_documents_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_sent_documents_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_documents")),
        sa.UniqueConstraint(
            "case_id",
            "kind",
            "format",
            "version",
            name=op.f("uq_sent_documents_case_id_kind_format_version"),
        ),
    )
    with op.batch_alter_table("sent_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_documents_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("sent_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_documents_case_id"))
    op.drop_table("sent_documents")
