"""JSON API v1 (personal API tokens) and the account page's token section.

Two blueprints: ``api`` (``/api/v1``; bearer tokens only, exempt from CSRF because it never
reads the cookie session) and ``api_tokens`` (``/account/api-tokens``; ordinary signed-in
pages with CSRF, where people make and revoke their tokens).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")
account_bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


def init_app(app: Flask) -> None:
    """Register the blueprints, the ``create-token`` command and the account page's helpers."""
    from panel.api.cli import create_token_command
    from panel.api.forms import lifetime_choices
    from panel.api.tokens import active_tokens
    from panel.core.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(account_bp)
    app.cli.add_command(create_token_command)
    app.add_template_global(active_tokens, "api_tokens_of")
    app.add_template_global(lifetime_choices, "api_token_lifetimes")


from panel.api import (  # noqa: E402,F401
    account_views,
    dicomweb_views,
    file_views,
    network_views,
    outcome_check_views,
    referral_views,
    timeline_views,
    views,
)
