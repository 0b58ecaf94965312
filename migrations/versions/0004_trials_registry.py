"""trials registry: trials, their history, case verdicts per trial, newly matching cases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:30:20.940090

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("registry_ids", sa.JSON(), nullable=False),
        sa.Column("sponsor", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open", "suspended", "closed", name="trial_status", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("status_verified_on", sa.Date(), nullable=True),
        sa.Column("status_source", sa.String(length=300), nullable=True),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("sites_mode", sa.String(length=8), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("is_study", sa.Boolean(), nullable=False),
        sa.Column("study_kind", sa.String(length=64), nullable=True),
        sa.Column("enrolment", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "enrolment IS NULL OR enrolment IN ('opt_out', 'consent')",
            name=op.f("ck_trials_enrolment"),
        ),
        sa.CheckConstraint("sites_mode IN ('any', 'all')", name=op.f("ck_trials_sites_mode")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_trials_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("code", name=op.f("uq_trials_code")),
    )
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trials_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_trials_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "case_trial_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("trial_code", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("trial_version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_trial_matches_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_trial_matches")),
        sa.UniqueConstraint(
            "case_id", "trial_code", name=op.f("uq_case_trial_matches_case_id_trial_code")
        ),
    )
    with op.batch_alter_table("case_trial_matches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_trial_matches_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_trial_matches_trial_code"), ["trial_code"], unique=False
        )

    op.create_table(
        "trial_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("created", "updated", name="trial_change_kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("by_label", sa.String(length=320), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_trial_changes_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["trials.id"],
            name=op.f("fk_trial_changes_trial_id_trials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_changes")),
        sa.UniqueConstraint("trial_id", "version", name=op.f("uq_trial_changes_trial_id_version")),
    )
    with op.batch_alter_table("trial_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_changes_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_new_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("trial_code", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("previous_verdict", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("trial_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismissed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_trial_new_matches_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dismissed_by_id"],
            ["users.id"],
            name=op.f("fk_trial_new_matches_dismissed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["trials.id"],
            name=op.f("fk_trial_new_matches_trial_id_trials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_new_matches")),
    )
    with op.batch_alter_table("trial_new_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_new_matches_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_trial_new_matches_open", ["dismissed_at", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trial_new_matches_trial_id"), ["trial_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("trial_new_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_new_matches_trial_id"))
        batch_op.drop_index("ix_trial_new_matches_open")
        batch_op.drop_index(batch_op.f("ix_trial_new_matches_case_id"))

    op.drop_table("trial_new_matches")
    with op.batch_alter_table("trial_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_changes_trial_id"))

    op.drop_table("trial_changes")
    with op.batch_alter_table("case_trial_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_trial_matches_trial_code"))
        batch_op.drop_index(batch_op.f("ix_case_trial_matches_case_id"))

    op.drop_table("case_trial_matches")
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trials_updated_at"))
        batch_op.drop_index(batch_op.f("ix_trials_status"))

    op.drop_table("trials")
