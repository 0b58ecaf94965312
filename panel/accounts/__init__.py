"""Accounts: signing in, two-factor authentication, passwords, the user's own account page."""

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def init_app(app: Flask) -> None:
    """Register the sign-in and account pages and the admin screens."""
    from panel.accounts.admin import bp as admin_bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)


from panel.accounts import views  # noqa: E402,F401
