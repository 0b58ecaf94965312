"""Accounts: signing in, two-factor authentication, passwords, the user's own account page."""

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def init_app(app: Flask) -> None:
    """Register the sign-in and account pages, the admin screens and the commands of
    :mod:`panel.accounts.cli` (``load-reference-data``, ``create-user``, ``demo-data``,
    ``demo-logins``, ``demo-totp``)."""
    import panel.accounts.purges  # noqa: F401 - what core.purge removes from accounts
    from panel.accounts import cli
    from panel.accounts.admin import bp as admin_bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    for command in (
        cli.load_reference_command,
        cli.create_user_command,
        cli.demo_data_command,
        cli.demo_logins_command,
        cli.demo_totp_command,
    ):
        app.cli.add_command(command)


from panel.accounts import views  # noqa: E402,F401
