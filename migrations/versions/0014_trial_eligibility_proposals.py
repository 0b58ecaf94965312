"""trial eligibility text and age limits from the registries

Trials keep what the registry says now about eligibility (its text and age limits) and the
baseline a coordinator last reviewed the structured criteria against, with who and when; a
difference is shown to coordinators as a proposal (panel/trials/eligibility.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registry_eligibility", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("eligibility_reviewed", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("eligibility_reviewed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("eligibility_reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_trials_eligibility_reviewed_by_id_users"),
            "users",
            ["eligibility_reviewed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_trials_eligibility_reviewed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("eligibility_reviewed_by_id")
        batch_op.drop_column("eligibility_reviewed_at")
        batch_op.drop_column("eligibility_reviewed")
        batch_op.drop_column("registry_eligibility")
