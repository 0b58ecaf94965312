"""Trials: the registry (database), the pure rules engine, matching views and the CLI.

``panel.trials.engine`` (and the case format it reads, ``panel.caseformat``) is plain Python: importing this
package does not import Flask. The blueprint is built on first use of ``panel.trials.bp``::

    from panel.trials import bp
    app.register_blueprint(bp)          # /trials/...
"""

from __future__ import annotations

from typing import Any


def _suggestions_panel(case: Any, user: Any, state: dict) -> bool | None:
    """The trial suggestions card (loaded by htmx) while the case is open."""
    return None if case.status.value in ("withdrawn", "closed") else True


def init_app(app: Any) -> None:
    """Register the trial pages, the ``load-trials`` and ``match`` commands and the case page's
    trial suggestions card."""
    import panel.trials.jobs  # noqa: F401 - registers the trials.* jobs and the daily sync
    from panel.core.casepage import register_panel
    from panel.trials.cli import load_trials_command, match_command, sync_trials_command
    from panel.trials.models import status_note
    from panel.trials.views import bp

    app.register_blueprint(bp)
    app.add_template_global(status_note, "trial_status_note")
    app.cli.add_command(load_trials_command)
    app.cli.add_command(match_command)
    app.cli.add_command(sync_trials_command)
    register_panel(
        app,
        "trials.suggestions",
        "trials/_case_slot.html",
        _suggestions_panel,
        slot="main",
        order=30,
    )


def __getattr__(name: str) -> Any:
    if name == "bp":
        from panel.trials.views import bp

        return bp
    raise AttributeError(f"module 'panel.trials' has no attribute {name!r}")
