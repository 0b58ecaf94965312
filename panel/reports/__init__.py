"""Reports: the coordinator dashboard (cases by status, turnaround, overdue follow-ups, trials
suggested most often) and its CSV export."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from panel.reports import views  # noqa: E402,F401
