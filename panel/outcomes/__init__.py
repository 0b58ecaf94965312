"""Outcomes: what happened after the panel's advice. The screening log (each trial suggested in
an approved record: referred to the trial team, screened, then enrolled, screen-failed,
declined by the family or not pursued) and the follow-up outcome checks sent to the referrer
3, 6 and 12 months after feedback. The dashboard's figures on both are in ``reports``."""

from flask import Blueprint, Flask

bp = Blueprint("outcomes", __name__)


def init_app(app: Flask) -> None:
    """Register the outcome pages."""
    app.register_blueprint(bp)


from panel.outcomes import models  # noqa: E402,F401
