"""Accounts: signing in, two-factor authentication, passwords, the user's own account page."""

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def init_app(app: Flask) -> None:
    """Register the sign-in and account pages, the admin screens and the ``load-reference-data``
    and ``create-user`` commands (:mod:`panel.accounts.cli`)."""
    from panel.accounts.admin import bp as admin_bp
    from panel.accounts.cli import create_user_command, load_reference_command

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.cli.add_command(load_reference_command)
    app.cli.add_command(create_user_command)


from panel.accounts import views  # noqa: E402,F401
