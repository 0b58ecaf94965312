"""Meetings: triage, agendas, attendance, presentation mode, minutes, comments between meetings
and urgent virtual reviews."""

from flask import Blueprint

bp = Blueprint("meetings", __name__)

from panel.meetings import models  # noqa: E402,F401
from panel.meetings import comment_views, minutes_views, review_views, triage_views, views  # noqa: E402,F401
