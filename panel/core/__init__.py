"""Shared mechanics: db base, audit trail, mail, notifications, web helpers, the case page's
panel registry; and the home pages, health check, audit browser and notification pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the home/health/audit pages, the notification pages and the application-wide
    commands (demo data, create-user, audit-verify, send-mail)."""
    from panel.cli import init_app as init_cli
    from panel.core.notification_views import bp as notifications_bp
    from panel.core.views import bp as core_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(notifications_bp)
    init_cli(app)
