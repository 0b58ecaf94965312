"""screening log and outcome checks

``trial_referrals`` (one per case and suggested trial, with its stage) and
``trial_referral_steps`` (each dated step: referred, screened, enrolled, screen-failed, declined,
not pursued) are the screening log; ``outcome_checks`` holds the follow-up reminders sent to the
referrer 3, 6 and 12 months after feedback and their answers.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trial_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("trial_code", sa.String(length=64), nullable=False),
        sa.Column("trial_title", sa.String(length=300), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_trial_referrals_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_referrals")),
        sa.UniqueConstraint(
            "case_id", "trial_code", name=op.f("uq_trial_referrals_case_id_trial_code")
        ),
    )
    with op.batch_alter_table("trial_referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trial_referrals_trial_code_stage", ["trial_code", "stage"], unique=False
        )

    op.create_table(
        "trial_referral_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["trial_referrals.id"],
            name=op.f("fk_trial_referral_steps_referral_id_trial_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_trial_referral_steps_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_referral_steps")),
    )
    with op.batch_alter_table("trial_referral_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trial_referral_steps_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "outcome_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("disease_status", sa.String(length=32), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("advice_followed", sa.String(length=8), nullable=False),
        sa.Column("advice_note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_outcome_checks_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["users.id"], name=op.f("fk_outcome_checks_answered_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_checks")),
        sa.UniqueConstraint("case_id", "months", name=op.f("uq_outcome_checks_case_id_months")),
    )
    with op.batch_alter_table("outcome_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_checks_due_at"), ["due_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outcome_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_checks_due_at"))
    op.drop_table("outcome_checks")
    with op.batch_alter_table("trial_referral_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_referral_steps_referral_id"))
    op.drop_table("trial_referral_steps")
    with op.batch_alter_table("trial_referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_trial_referrals_trial_code_stage")
    op.drop_table("trial_referrals")
