"""Trials: the registry (database), the pure rules engine, matching views and the CLI.

``panel.trials.engine`` (and the case format it reads, ``panel.caseformat``) is plain Python: importing this
package does not import Flask. The blueprint is built on first use of ``panel.trials.bp``::

    from panel.trials import bp
    app.register_blueprint(bp)          # /trials/...
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "bp":
        from panel.trials.views import bp

        return bp
    raise AttributeError(f"module 'panel.trials' has no attribute {name!r}")
