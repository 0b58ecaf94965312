"""Reports: the coordinator dashboard (cases by status, turnaround, overdue follow-ups, trials
suggested most often) and its CSV export."""

from flask import Blueprint, Flask

bp = Blueprint("reports", __name__)


def init_app(app: Flask) -> None:
    """Register the dashboard pages."""
    app.register_blueprint(bp)


from panel.reports import views  # noqa: E402,F401
