"""Cases: the anonymised referral, parents' questions, revisions and the start of the workflow."""

from flask import Blueprint, Flask

bp = Blueprint("cases", __name__, url_prefix="/cases")


def init_app(app: Flask) -> None:
    """Register the case pages and the ``import-case`` / ``export-case`` commands."""
    from panel.cases.cli import export_case_command, import_case_command

    app.register_blueprint(bp)
    app.cli.add_command(import_case_command)
    app.cli.add_command(export_case_command)


from panel.cases import form_views, views  # noqa: E402,F401
