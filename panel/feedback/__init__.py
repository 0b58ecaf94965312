"""Feedback: the recommendation record, answers to the parents' questions, the clinician and
family letters (HTML and PDF), sending, family access codes and the second-opinion pack."""

import click
from flask import Blueprint, Flask
from flask.cli import with_appcontext

bp = Blueprint("feedback", __name__)


def init_app(app: Flask) -> None:
    """Register the feedback pages (record, letters, family access), the case page's feedback
    banner, recommendation card and family access card, and the receiver that flags open
    recommendations whose suggested trial stops recruiting (``feedback.trial_watch``)."""
    import panel.feedback.purges  # noqa: F401 - what core.purge removes from feedback
    from panel.core import signals
    from panel.core.casepage import register_panel
    from panel.feedback import trial_watch
    from panel.feedback.family_views import family_access
    from panel.feedback.letter_views import feedback_banner
    from panel.feedback.views import record_panel

    app.register_blueprint(bp)
    app.cli.add_command(store_sent_letters_command)
    # A suggested trial that stops recruiting flags its open recommendations (trials is
    # below feedback and never imports it: it sends the signal, this app's feedback answers).
    signals.trial_stopped_recruiting.connect(trial_watch.on_trial_stopped, sender=app)
    register_panel(
        app,
        "feedback.banner",
        "feedback/_case_banner.html",
        lambda case, user, state: feedback_banner(case),
        slot="top",
        order=10,
    )
    register_panel(
        app, "feedback.record", "feedback/_case_record.html", record_panel, slot="main", order=10
    )
    register_panel(
        app,
        "feedback.family",
        "feedback/_case_family.html",
        lambda case, user, state: family_access(case),
        slot="side",
        order=30,
    )


@click.command("store-sent-letters")
@with_appcontext
def store_sent_letters_command() -> None:
    """Store the letters of cases sent before letters were stored (then served as stored)."""
    from panel.core.db import db
    from panel.feedback.documents import store_missing_letters

    refs = store_missing_letters()
    db.session.commit()
    click.echo(f"Stored the letters of {len(refs)} case(s){': ' if refs else '.'}{', '.join(refs)}")


from panel.feedback import (  # noqa: E402,F401
    family_views,
    letter_views,
    models,  # noqa: E402,F401
    views,
)
