"""Meetings: triage, agendas, attendance, presentation mode, minutes, comments between meetings
and urgent virtual reviews."""

from flask import Blueprint

bp = Blueprint("meetings", __name__)

from panel.meetings import (  # noqa: E402,F401
    comment_views,
    minutes_views,
    models,  # noqa: E402,F401
    review_views,
    triage_views,
    views,
)
