"""trial registry status from ClinicalTrials.gov and ISRCTN

Trials keep what the last registry sync found: the registry's own status, its last-update
date, when and from where it was fetched, the status of each UK site mapped to Panel's centres,
and what changed at the last sync. Panel's status gains ``not_yet_open`` and ``unknown``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_OLD = sa.Enum("open", "suspended", "closed", name="trial_status", native_enum=False, length=16)
_NEW = sa.Enum(
    "open",
    "not_yet_open",
    "suspended",
    "closed",
    "unknown",
    name="trial_status",
    native_enum=False,
    length=16,
)


def upgrade():
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registry_status", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("registry_updated_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("status_fetched_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("status_fetched_from", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("site_statuses", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("last_sync", sa.JSON(), nullable=True))
        batch_op.alter_column("status", existing_type=_OLD, type_=_NEW, existing_nullable=False)


def downgrade():
    op.execute("UPDATE trials SET status = 'closed' WHERE status IN ('not_yet_open', 'unknown')")
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=_NEW, type_=_OLD, existing_nullable=False)
        batch_op.drop_column("last_sync")
        batch_op.drop_column("site_statuses")
        batch_op.drop_column("status_fetched_from")
        batch_op.drop_column("status_fetched_at")
        batch_op.drop_column("registry_updated_on")
        batch_op.drop_column("registry_status")
