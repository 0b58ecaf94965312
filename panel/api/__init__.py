"""JSON API (personal API tokens) and the account page's token section.

Three blueprints: ``api`` (``/api/v1``) and ``api_v2`` (``/api/v2``: the case-document routes
in ``panel-case/2``, plus the tumour-type search and the case format), bearer tokens only,
exempt from CSRF because they never read the cookie session; and ``api_tokens``
(``/account/api-tokens``; ordinary signed-in pages with CSRF, where people make and revoke
their tokens).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp_v2 = Blueprint("api_v2", __name__, url_prefix="/api/v2")
account_bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


def init_app(app: Flask) -> None:
    """Register the blueprints, the ``create-token`` command and the account page's helpers."""
    from panel.api.cli import create_token_command
    from panel.api.forms import lifetime_choices
    from panel.api.tokens import active_tokens
    from panel.core.extensions import csrf

    csrf.exempt(bp)
    csrf.exempt(bp_v2)
    app.register_blueprint(bp)
    app.register_blueprint(bp_v2)
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
    v2_views,
    views,
)
