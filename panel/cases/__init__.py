"""Cases: the anonymised referral, parents' questions, revisions and the start of the workflow."""

from flask import Blueprint, Flask

bp = Blueprint("cases", __name__, url_prefix="/cases")


def init_app(app: Flask) -> None:
    """Register the case pages, the ``import-case`` / ``export-case`` commands, the case
    page's timeline card and its communication-needs flag."""
    from panel.cases.cli import export_case_command, import_case_command
    from panel.cases.needs import communication_needs, needs_panel
    from panel.cases.timeline_panel import timeline_panel
    from panel.core.casepage import register_panel

    app.register_blueprint(bp)
    app.cli.add_command(import_case_command)
    app.cli.add_command(export_case_command)
    # The family's communication needs: one reader for every page that shows them.
    app.add_template_global(communication_needs, "communication_needs")
    register_panel(
        app,
        "cases.communication",
        "cases/_communication_needs.html",
        needs_panel,
        slot="side",
        order=25,
    )
    register_panel(
        app, "cases.timeline", "cases/_timeline.html", timeline_panel, slot="main", order=60
    )


from panel.cases import form_views, views  # noqa: E402,F401
