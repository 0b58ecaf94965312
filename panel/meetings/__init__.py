"""Meetings: triage, agendas, attendance, presentation mode, minutes, comments between meetings
and urgent virtual reviews."""

from flask import Blueprint, Flask

bp = Blueprint("meetings", __name__)


def init_app(app: Flask) -> None:
    """Register the meeting pages and the case page's agenda box, minutes, discussion, triage
    and virtual-review cards."""
    from panel.core.casepage import register_panel
    from panel.meetings.comment_views import comments_panel
    from panel.meetings.minutes_views import minutes_panel
    from panel.meetings.review_views import case_review
    from panel.meetings.triage_views import case_triage
    from panel.meetings.views import agenda_status_panel

    app.register_blueprint(bp)
    register_panel(
        app,
        "meetings.agenda",
        "meetings/_case_status.html",
        agenda_status_panel,
        slot="top",
        order=20,
    )
    register_panel(
        app, "meetings.minutes", "meetings/_case_minutes.html", minutes_panel, slot="main", order=20
    )
    register_panel(
        app,
        "meetings.comments",
        "meetings/_case_comments.html",
        comments_panel,
        slot="main",
        order=50,
    )
    register_panel(
        app,
        "meetings.triage",
        "meetings/_case_triage.html",
        lambda case, user, state: case_triage(case),
        slot="side",
        order=10,
    )
    register_panel(
        app,
        "meetings.review",
        "meetings/_case_review.html",
        lambda case, user, state: case_review(case),
        slot="side",
        order=20,
    )


from panel.meetings import (  # noqa: E402,F401
    comment_views,
    minutes_views,
    models,  # noqa: E402,F401
    review_views,
    triage_views,
    views,
)
