"""cases, questions, co-referrers, revisions, reference counters, api tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:03:22.845002

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_reference_counters")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("referring_centre_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "info_requested",
                "scheduled",
                "discussed",
                "recommendation",
                "feedback_sent",
                "closed",
                "withdrawn",
                name="case_status",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("creation_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_cases_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["panel_id"], ["panels.id"], name=op.f("fk_cases_panel_id_panels")),
        sa.ForeignKeyConstraint(
            ["referring_centre_id"],
            ["centres.id"],
            name=op.f("fk_cases_referring_centre_id_centres"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint(
            "created_by_id", "creation_key", name=op.f("uq_cases_created_by_id_creation_key")
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_panel_id"), ["panel_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_referring_centre_id"), ["referring_centre_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "case_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_questions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_questions")),
    )
    with op.batch_alter_table("case_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_questions_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_referrers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_case_referrers_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_referrers_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_referrers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_referrers")),
        sa.UniqueConstraint("case_id", "user_id", name=op.f("uq_case_referrers_case_id_user_id")),
    )
    with op.batch_alter_table("case_referrers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_referrers_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_referrers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_revisions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_case_revisions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_revisions")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_case_revisions_case_id_number")),
    )
    with op.batch_alter_table("case_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_revisions_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("case_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_revisions_case_id"))

    op.drop_table("case_revisions")
    with op.batch_alter_table("case_referrers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_referrers_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_referrers_case_id"))

    op.drop_table("case_referrers")
    with op.batch_alter_table("case_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_questions_case_id"))

    op.drop_table("case_questions")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_updated_at"))
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_referring_centre_id"))
        batch_op.drop_index(batch_op.f("ix_cases_panel_id"))
        batch_op.drop_index(batch_op.f("ix_cases_created_by_id"))

    op.drop_table("cases")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("reference_counters")
