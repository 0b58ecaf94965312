"""sent documents: the family letter's layout (communication needs)

The family letter is stored in the standard layout and in each layout the family's recorded
communication needs ask for (large print, easy read): the same kind and version, told apart
by ``layout``. Existing rows are ``standard``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sent_documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("layout", sa.String(length=16), nullable=False, server_default="standard")
        )
        batch_op.drop_constraint("uq_sent_documents_case_id_kind_format_version", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_sent_documents_case_id_kind_format_version_layout"),
            ["case_id", "kind", "format", "version", "layout"],
        )


def downgrade():
    with op.batch_alter_table("sent_documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_sent_documents_case_id_kind_format_version_layout", type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_sent_documents_case_id_kind_format_version"),
            ["case_id", "kind", "format", "version"],
        )
        batch_op.drop_column("layout")
