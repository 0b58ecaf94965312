"""plain language for families: the panel's own words for the family letter

Recommendations keep a family summary and a re-presentation sentence written for the family
(the clinician's re-presentation text is never pasted into the family letter). Trials keep a
plain-language title and summary, required before a trial can appear in a family letter.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 12:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("family_summary", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("family_re_present", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plain_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("plain_summary", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_column("plain_summary")
        batch_op.drop_column("plain_title")
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_column("family_re_present")
        batch_op.drop_column("family_summary")
