"""stored files: what the pixel text step found, and its proposed boxes (issue 17)

``pixel_text`` records the step's verdict per file (clean, innocent, masked, held, skipped);
``proposed_boxes`` the rectangles it proposes to fill on a held-back image, which the review
queue's box editor shows and the coordinator moves, resizes, adds or deletes. Existing rows
keep NULL (stored before the step).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pixel_text", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("proposed_boxes", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_column("proposed_boxes")
        batch_op.drop_column("pixel_text")
