"""upload jobs: each uploaded file is de-identified by its own job (issue 18)

An upload now records the group job that counts its files, how many files it had, how many
were already stored, and when its last file was done.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("total_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("duplicate_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_uploads_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="SET NULL"
        )
    # Uploads from before were processed in their request: they are finished.
    op.execute(
        "UPDATE uploads SET finished_at = created_at, total_count = "
        "stored_count + held_count + refused_count"
    )


def downgrade():
    with op.batch_alter_table("uploads") as batch:
        batch.drop_constraint("fk_uploads_job_id_jobs", type_="foreignkey")
        batch.drop_column("finished_at")
        batch.drop_column("duplicate_count")
        batch.drop_column("total_count")
        batch.drop_column("job_id")
