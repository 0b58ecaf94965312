"""the record's chair approval: drafts marked ready, amendments approved by a chair

``recommendations.ready_at``/``ready_by_id``: the drafter marks a draft ready for the chair's
approval. ``recommendation_amendments.status`` (``pending``/``approved``/``rejected``) with who
decided, when and why: a coordinator's change to an approved record's clinical content waits
for a chair. Amendments recorded before this revision were applied at once: ``approved``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ready_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_recommendations_ready_by_id_users"), "users", ["ready_by_id"], ["id"]
        )
    with op.batch_alter_table("recommendation_amendments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="approved", nullable=False)
        )
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("decision_note", sa.Text(), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_recommendation_amendments_decided_by_id_users"),
            "users",
            ["decided_by_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("recommendation_amendments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_recommendation_amendments_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("decision_note")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("status")
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_recommendations_ready_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("ready_by_id")
        batch_op.drop_column("ready_at")
