"""Outcomes: what happened after the panel's advice. The screening log (each trial suggested in
an approved record: referred to the trial team, screened, then enrolled, screen-failed,
declined by the family or not pursued) and the follow-up outcome checks sent to the referrer
3, 6 and 12 months after feedback. The dashboard's figures on both are in ``reports``."""

from flask import Blueprint, Flask

bp = Blueprint("outcomes", __name__)


def init_app(app: Flask) -> None:
    """Register the outcome pages and the case page's screening log card (after the record)."""
    from panel.core.casepage import register_panel
    from panel.outcomes.screening_views import screening_log_panel

    app.register_blueprint(bp)
    register_panel(
        app,
        "outcomes.screening_log",
        "outcomes/_case_screening_log.html",
        screening_log_panel,
        slot="main",
        order=15,
    )


from panel.outcomes import models, screening_views  # noqa: E402,F401
