"""Who is calling: ``Authorization: Bearer <token>`` and nothing else.

The API never looks at the cookie session, so a browser that is signed in cannot be made to
call it (and CSRF does not apply). Unknown, revoked and deactivated-account tokens all get the
same 401, so the answer does not tell which of them a guessed token is. An expired token, and
the token of an account that must use two-factor authentication but has not enrolled, get a
401 that says so (only the token's holder can send it, so it tells a guesser nothing).
"""

from __future__ import annotations

import hashlib

from flask import g, request
from flask_limiter.util import get_remote_address

from panel.accounts.models import ApiToken, TokenRefusal, User
from panel.api import tokens
from panel.api.errors import ApiError
from panel.core.db import db

MISSING = "Authentication required: send your API token as 'Authorization: Bearer <token>'."
INVALID = "The API token is not valid: it is unknown or revoked, or its account is deactivated."
EXPIRED = (
    "The API token has expired. Make a new one on your account page (My account -> API tokens)."
)
SECOND_FACTOR = (
    "Your account's roles need two-factor authentication, which is not set up: API tokens are "
    "refused until you sign in to Panel in a browser and enrol."
)
_MESSAGES = {TokenRefusal.EXPIRED: EXPIRED, TokenRefusal.SECOND_FACTOR_REQUIRED: SECOND_FACTOR}


def bearer_secret() -> str | None:
    """The token sent in the ``Authorization`` header, or None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def rate_limit_key() -> str:
    """Rate limits count per token (by its hash, without a database lookup), else per address."""
    secret = bearer_secret()
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return "api-addr:" + (get_remote_address() or "unknown")


def authenticate() -> User:
    """Authenticate the request by its bearer token, or raise a 401 :class:`ApiError`.

    Sets ``g.api_token`` and ``g.api_user`` and makes the token's user Flask-Login's
    ``current_user`` for this request (so nothing can fall back to a cookie session).
    """
    secret = bearer_secret()
    if secret is None:
        raise ApiError(401, MISSING, headers={"WWW-Authenticate": 'Bearer realm="panel"'})
    token, why = tokens.find_usable_token(secret)
    if token is None:
        raise ApiError(
            401,
            _MESSAGES.get(why, INVALID),
            headers={"WWW-Authenticate": 'Bearer realm="panel", error="invalid_token"'},
        )
    if tokens.touch(token):
        # Commit the bookkeeping on its own, before the view does anything, as the session
        # loader does: a later refusal (rolled back) must not lose it.
        db.session.commit()
    user = token.user
    g.api_token = token
    g.api_user = user
    g._login_user = user  # Flask-Login's per-request user: the token's, never the cookie's
    return user


def current_api_user() -> User:
    """The user the current API request is authenticated as."""
    return g.api_user


def current_api_token() -> ApiToken:
    """The token the current API request is authenticated with."""
    return g.api_token
