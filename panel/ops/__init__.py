"""Operations tooling: backup and restore (``flask --app panel backup DIR`` / ``restore DIR``)
and the job queue's page for admins and coordinators (``/admin/jobs``).

The logic lives in :mod:`panel.ops.backup`; the click commands in :mod:`panel.ops.cli`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ``backup`` and ``restore`` commands and the job queue's page
    (``/admin/jobs``, :mod:`panel.ops.job_views`)."""
    from panel.ops.cli import backup_command, restore_command
    from panel.ops.job_views import bp

    app.register_blueprint(bp)

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
