"""images from hospital networks: DICOM senders, image routes, incoming studies (issue 19)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 22:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dicom_senders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("centre_id", sa.Integer(), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("ae_title", sa.String(16), nullable=True),
        sa.Column("network", sa.String(64), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("token_prefix", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("ae_title", "network", name="uq_dicom_sender_ae_network"),
    )
    op.create_index("ix_dicom_senders_centre_id", "dicom_senders", ["centre_id"])
    op.create_index("ix_dicom_senders_ae_title", "dicom_senders", ["ae_title"])
    op.create_table(
        "image_routes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("centre_id", sa.Integer(), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("key_hmac", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_reason", sa.String(120), nullable=True),
    )
    op.create_index("ix_image_routes_case_id", "image_routes", ["case_id"])
    op.create_index("ix_image_routes_centre_id", "image_routes", ["centre_id"])
    op.create_index("ix_image_routes_key_hmac", "image_routes", ["key_hmac"])
    op.create_table(
        "incoming_studies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column(
            "sender_id",
            sa.Integer(),
            sa.ForeignKey("dicom_senders.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("centre_id", sa.Integer(), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("calling_ae", sa.String(16), nullable=True),
        sa.Column("study_hmac", sa.String(64), nullable=False),
        sa.Column("accession_hmac", sa.String(64), nullable=True),
        sa.Column("patient_hmac", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column(
            "case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "upload_id",
            sa.Integer(),
            sa.ForeignKey("uploads.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("instance_count", sa.Integer(), nullable=False),
        sa.Column("byte_count", sa.BigInteger(), nullable=False),
        sa.Column("refused_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    for column in ("sender_id", "centre_id", "study_hmac", "accession_hmac", "patient_hmac"):
        op.create_index(f"ix_incoming_studies_{column}", "incoming_studies", [column])
    op.create_index("ix_incoming_studies_state", "incoming_studies", ["state"])
    op.create_index("ix_incoming_studies_case_id", "incoming_studies", ["case_id"])


def downgrade():
    op.drop_table("incoming_studies")
    op.drop_table("image_routes")
    op.drop_table("dicom_senders")
