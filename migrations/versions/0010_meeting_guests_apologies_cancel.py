"""meeting guests (expert access to one case), apologies and cancellation

``case_guest_access``: an external expert's time-limited, revocable, read-only access to one
case (``Case.can_view`` honours it). ``meeting_apologies``: members, chairs and coordinators who
sent apologies, apart from attendance. ``meetings`` gets who cancelled it, when and why.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meetings_cancelled_by_id_users"), "users", ["cancelled_by_id"], ["id"]
        )

    op.create_table(
        "meeting_apologies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_apologies_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_meeting_apologies_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meeting_apologies_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_apologies")),
        sa.UniqueConstraint(
            "meeting_id", "user_id", name=op.f("uq_meeting_apologies_meeting_id_user_id")
        ),
    )
    with op.batch_alter_table("meeting_apologies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_apologies_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meeting_apologies_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_guest_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_guest_access_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["users.id"], name=op.f("fk_case_guest_access_granted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_case_guest_access_meeting_id_meetings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_case_guest_access_revoked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_guest_access_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_guest_access")),
    )
    with op.batch_alter_table("case_guest_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_guest_access_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_guest_access_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_guest_access_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("case_guest_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_guest_access_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_guest_access_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_case_guest_access_case_id"))
    op.drop_table("case_guest_access")
    with op.batch_alter_table("meeting_apologies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_apologies_user_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_apologies_meeting_id"))
    op.drop_table("meeting_apologies")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_meetings_cancelled_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_by_id")
        batch_op.drop_column("cancelled_at")
