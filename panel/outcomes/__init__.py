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
    _init_checks(app)


def _init_checks(app: Flask) -> None:
    """The follow-up outcome checks: made when feedback is sent (the feedback package's
    ``core.signals.feedback_was_sent``), the reminder command and the case page's card."""
    import panel.outcomes.jobs  # noqa: F401 - the hourly outcomes.remind job
    from panel.core.casepage import register_panel
    from panel.core.signals import feedback_was_sent
    from panel.outcomes.check_cli import send_outcome_reminders_command
    from panel.outcomes.check_views import checks_panel
    from panel.outcomes.checks import on_feedback_sent

    feedback_was_sent.connect(on_feedback_sent, sender=app)
    app.cli.add_command(send_outcome_reminders_command)
    register_panel(
        app,
        "outcomes.checks",
        "outcomes/checks/_case_checks.html",
        checks_panel,
        slot="side",
        order=40,
    )


from panel.outcomes import check_views, models, screening_views  # noqa: E402,F401
