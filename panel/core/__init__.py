"""Shared mechanics: db base, audit trail, mail, notifications, web helpers, the case page's
panel registry; and the home pages, health check, audit browser and notification pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the home/health/audit pages, the notification pages and the commands of the
    shared mechanics (``audit-verify``, ``send-mail``; :mod:`panel.core.cli`). Every other
    command is registered by its domain's ``init_app``."""
    import panel.core.mail  # noqa: F401 - registers the mail jobs (workers need them)
    import panel.core.purge  # noqa: F401 - registers the core.purge job and its schedule
    from panel.core import pdf  # noqa: F401 - registers the pdf.render job
    from panel.core.cli import audit_verify_command, send_mail_command
    from panel.core.jobs import init_jobs
    from panel.core.notification_views import bp as notifications_bp
    from panel.core.views import bp as core_bp
    from panel.core.worker import worker_command

    app.register_blueprint(core_bp)
    app.register_blueprint(notifications_bp)
    app.cli.add_command(audit_verify_command)
    app.cli.add_command(send_mail_command)
    app.cli.add_command(worker_command)
    init_jobs(app)
