"""Cases: the anonymised referral, parents' questions, revisions and the start of the workflow."""

from flask import Blueprint, Flask

bp = Blueprint("cases", __name__, url_prefix="/cases")


def init_app(app: Flask) -> None:
    """Register the case pages, the ``import-case`` / ``export-case`` commands and the case
    page's timeline card."""
    from panel.cases.cli import export_case_command, import_case_command
    from panel.cases.timeline_panel import timeline_panel
    from panel.core.casepage import register_panel

    app.register_blueprint(bp)
    app.cli.add_command(import_case_command)
    app.cli.add_command(export_case_command)
    register_panel(
        app, "cases.timeline", "cases/_timeline.html", timeline_panel, slot="main", order=60
    )


from panel.cases import form_views, views  # noqa: E402,F401
