"""The case page runs a fixed number of SQL queries, however many comments, files, agenda items
and trial verdicts the case has."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.accounts.models import Panel
from panel.cases.models import CaseEvent
from panel.core.db import utcnow
from panel.imaging.models import FileKind, FileStatus, StoredFile, Upload
from panel.meetings.models import (
    AgendaItem,
    Comment,
    CommentVisibility,
    ItemOutcome,
    Meeting,
    MeetingStatus,
)
from panel.trials.models import CaseTrialMatch


def _add_rows(db_session, case, author, n: int, start: int) -> None:
    """``n`` more of each: shared comments with a reply, stored files, past agenda items with
    minutes, trial verdicts, and timeline entries (an information request, its reply and a
    resubmission)."""
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    upload = Upload(case_id=case.id, label=f"batch {start}", uploaded_by_id=case.created_by_id)
    db_session.add(upload)
    db_session.flush()
    for k in range(start, start + n):
        top = Comment(
            case_id=case.id,
            author_id=author.id,
            visibility=CommentVisibility.SHARED,
            body=f"Comment {k}",
        )
        db_session.add(top)
        db_session.flush()
        db_session.add(
            Comment(
                case_id=case.id,
                author_id=case.created_by_id,
                visibility=CommentVisibility.SHARED,
                parent_id=top.id,
                body=f"Reply {k}",
            )
        )
        db_session.add(
            StoredFile(
                case_id=case.id,
                upload_id=upload.id,
                kind=FileKind.PDF,
                storage_key=f"{k:064x}",
                sha256=f"{k:064x}",
                size=10,
                content_type="application/pdf",
                display_name=f"report-{k}.pdf",
                status=FileStatus.STORED,
            )
        )
        meeting = Meeting(
            panel_id=nap.id,
            title=f"Past meeting {k}",
            starts_at=utcnow() - timedelta(days=7 * (k + 1)),
            status=MeetingStatus.CLOSED,
        )
        db_session.add(meeting)
        db_session.flush()
        db_session.add(
            AgendaItem(
                meeting_id=meeting.id,
                case_id=case.id,
                position=1,
                discussion=f"Discussion {k}",
                outcome_status=ItemOutcome.NOT_DISCUSSED,
                minutes_updated_by_id=author.id,
            )
        )
        db_session.add(
            CaseTrialMatch(
                case_id=case.id, trial_code=f"TRIAL-{k}", verdict="possible", trial_version=1
            )
        )
        exchange = "referrer,coordinator"
        db_session.add_all(
            [
                CaseEvent(
                    case_id=case.id,
                    kind="information_requested",
                    by_id=author.id,
                    text=f"Question {k}",
                    audience=exchange,
                    details={"request": k, "questions": [f"Question {k}"]},
                ),
                CaseEvent(
                    case_id=case.id,
                    kind="information_answered",
                    by_id=case.created_by_id,
                    text=f"Reply {k}",
                    audience=exchange,
                    details={"request": k},
                ),
                CaseEvent(case_id=case.id, kind="resubmitted", details={"revision": 100 + k}),
            ]
        )
    db_session.commit()


@pytest.mark.parametrize("role", ["coordinator", "referrer"])
def test_case_page_query_count_does_not_grow_with_rows(
    app, client, make_user, make_case, login, db_session, count_queries, role
):
    """Does the case page cost the same number of queries with 2 and with 12 comments, files,
    agenda items and trial verdicts, for a coordinator and for the referrer?"""
    referrer = make_user(referrer_at="NEWCASTLE")
    coordinator = make_user(roles=[("NAP", "coordinator")])
    case = make_case(referrer, submit=True)
    viewer = {"coordinator": coordinator, "referrer": referrer}[role]
    login(client, viewer)
    url = f"/cases/{case.reference}"

    _add_rows(db_session, case, coordinator, 2, 0)
    assert client.get(url).status_code == 200  # warm up (session touch etc.)
    with count_queries() as few:
        html_few = client.get(url).get_data(as_text=True)
    _add_rows(db_session, case, coordinator, 10, 2)
    with count_queries() as many:
        html_many = client.get(url).get_data(as_text=True)

    assert (
        html_few.count('data-testid="comment"') == 4
        and html_many.count('data-testid="comment"') == 24
    )
    # The submission and three entries per round.
    assert html_few.count('data-testid="timeline-entry"') == 7
    assert html_many.count('data-testid="timeline-entry"') == 37
    if role == "coordinator":
        assert html_few.count('data-testid="case-minutes-item"') == 2
        assert html_many.count('data-testid="case-minutes-item"') == 12
    print(f"case page queries ({role}): {few.count} with 2 of each, {many.count} with 12")
    assert many.count == few.count, "\n".join(many.statements)
