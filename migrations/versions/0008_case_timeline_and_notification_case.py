"""case timeline and the case a notification is about

``case_events`` is the case timeline written by the workflow; existing submissions,
resubmissions, information requests and replies are copied into it so that old cases read
the same as new ones. Notifications get the reference of their case (for the API).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 06:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("audience", sa.String(length=60), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_case_events_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_case_id_at", ["case_id", "at"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_ref", sa.String(length=20), nullable=True))

    # Old cases: their submissions and information requests enter the timeline.
    events = sa.table(
        "case_events",
        sa.column("case_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("by_id", sa.Integer()),
        sa.column("text", sa.Text()),
        sa.column("audience", sa.String()),
        sa.column("details", sa.JSON()),
    )
    bind = op.get_bind()
    # Typed, so that SQLite's stored text comes back as datetimes the insert accepts.
    stamp = sa.DateTime(timezone=True)
    everyone = "referrer,panel,coordinator"
    rows = []
    for r in bind.execute(
        sa.text(
            "SELECT id, case_id, number, reason, created_by_id, created_at FROM case_revisions "
            "WHERE reason IN ('submitted', 'resubmitted') ORDER BY id"
        ).columns(created_at=stamp)
    ):
        rows.append(
            {
                "case_id": r.case_id,
                "kind": r.reason,
                "at": r.created_at,
                "by_id": r.created_by_id,
                "text": None,
                "audience": everyone,
                "details": {"revision": r.number},
            }
        )
    for r in bind.execute(
        sa.text(
            "SELECT id, case_id, questions, requested_by_id, requested_at, response, "
            "responded_by_id, answered_at FROM information_requests ORDER BY id"
        ).columns(requested_at=stamp, answered_at=stamp)
    ):
        questions = r.questions
        if isinstance(questions, str):
            import json

            questions = json.loads(questions)
        rows.append(
            {
                "case_id": r.case_id,
                "kind": "information_requested",
                "at": r.requested_at,
                "by_id": r.requested_by_id,
                "text": "\n".join(questions or []),
                "audience": "referrer,coordinator",
                "details": {"request": r.id, "questions": list(questions or [])},
            }
        )
        # A reply saved on a request still open has no time of its own: it is placed with its
        # request (it must not be lost from the timeline when the case is resubmitted).
        if r.response:
            rows.append(
                {
                    "case_id": r.case_id,
                    "kind": "information_answered",
                    "at": r.answered_at or r.requested_at,
                    "by_id": r.responded_by_id,
                    "text": r.response,
                    "audience": "referrer,coordinator",
                    "details": {"request": r.id},
                }
            )
    if rows:
        op.bulk_insert(events, rows)


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("case_ref")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_case_id_at")
    op.drop_table("case_events")
