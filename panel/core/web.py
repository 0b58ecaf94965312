"""Request-wide behaviour: security headers, error pages, template helpers."""

from __future__ import annotations

import errno
import logging
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, ValidationError

from panel.core.errors import NotAllowed, Refused

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


#: Database ids are PostgreSQL ``integer`` columns (signed 32-bit).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` for every route: a number no id column can hold does not match the
    route (404), instead of reaching the database (PostgreSQL: "integer out of range")."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise ValidationError()
        return number


def int_arg(
    source, name: str, default: int | None = None, *, lowest: int = 0, highest: int = MAX_ID
) -> int | None:
    """A whole number from a query string or form (``request.args``/``request.form``), or
    ``default`` when it is missing, not a number, or outside ``lowest..highest``: a value no
    column can hold never reaches the database (PostgreSQL: "integer out of range")."""
    value = source.get(name, type=int)
    if value is None or not lowest <= value <= highest:
        return default
    return value


#: The highest page number a list accepts (far beyond any real list; keeps OFFSET in range).
MAX_PAGE = 100_000


def page_arg() -> int:
    """``?page=`` of a list: 1 when missing or out of range."""
    return int_arg(request.args, "page", 1, lowest=1, highest=MAX_PAGE)


def path_for(endpoint: str, **values) -> str:
    """The path of an endpoint inside Panel (no host), for links stored in notifications:
    ``url_for`` in a request, built from the URL map outside one (the CLI, jobs, tests)."""
    if has_request_context():
        return url_for(endpoint, **values)
    from flask import current_app

    anchor = values.pop("_anchor", None)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return f"{path}#{anchor}" if anchor else path


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails and other things read outside Panel: built from
    ``PANEL_BASE_URL`` (never from a request's Host header), and so also outside a request
    (the CLI, jobs). ``endpoint`` may also be a path inside Panel (``/cases/NB-...``, as
    :func:`path_for` gives), which is put after ``PANEL_BASE_URL``."""
    from flask import current_app

    if endpoint.startswith("/"):
        return current_app.config["BASE_URL"].rstrip("/") + endpoint
    base = urlsplit(current_app.config["BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def forbidding(action):
    """``action`` with a ``NotAllowed`` refusal turned into 403: the operation asks the case's
    rule (``case.can_x``) and says whether the person may not act at all (403) or the moment
    is wrong (a message, through :func:`attempt`)."""

    def run():
        from panel.core.db import db

        try:
            return action()
        except NotAllowed:
            db.session.rollback()
            abort(403)

    return run


def refusal_message(exc: Refused) -> str:
    """A refused operation as a message the user can act on (identifier findings name their
    kinds: :func:`panel.privacy.guard.identifiers_message`)."""
    return exc.user_message


def attempt(action, *, target: str, success: str | None = None, message=refusal_message):
    """Run ``action()`` (an operation), commit, and go to ``target``; a refused operation rolls
    back and is flashed (``message(exc)``). One shape for every small POST action."""
    from panel.core.db import db

    try:
        action()
    except Refused as exc:
        db.session.rollback()
        flash(message(exc), "danger")
    else:
        db.session.commit()
        if success:
            flash(success, "success")
    return redirect(target)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def init_web(app: Flask) -> None:
    # Before any blueprint adds its rules: they take the converter when they are added.
    app.url_map.converters["int"] = IdConverter

    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        # A reset link's token must not travel on in Referer headers (e.g. to static files).
        h["Referrer-Policy"] = (
            "no-referrer" if request.endpoint == "accounts.reset_password" else "same-origin"
        )
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config.get("SESSION_COOKIE_SECURE"):
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith("/static/"):
            # Pages can carry clinical content: never kept by a browser or a proxy.
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(
            400, "The form had expired or was not sent by Panel. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error_page(exc.code or 500, exc.description)

    def database_down(exc):
        # The transaction is rolled back (nothing of the request is kept); the pool's
        # pre-ping replaces dead connections, so the app recovers without a restart.
        _rollback_quietly()
        log.error("database unavailable: %s", type(exc).__name__)
        return _error_page(503, DB_DOWN, headers={"Retry-After": "60"}, anonymous=True)

    for exc_class in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(exc_class, database_down)

    @app.errorhandler(OSError)
    def storage_full(exc: OSError):
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return unexpected(exc)
        _rollback_quietly()
        log.error(
            "storage full (%s) on %s %s",
            errno.errorcode.get(exc.errno),
            request.method,
            request.url_rule,
        )
        return _error_page(507, STORAGE_FULL)

    @app.errorhandler(Exception)
    def unexpected(exc):
        from panel.core.db import db

        db.session.rollback()
        # The exception text can echo user input: log its type and location only.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url_rule)
        if app.config.get("TESTING") and app.config["PROPAGATE_TEST_ERRORS"]:
            raise exc
        return _error_page(500, "Something went wrong on our side. Nothing was saved.")

    from panel.core.db import utcnow

    app.jinja_env.globals["now_utc"] = utcnow
    from panel.core import uktime

    uktime.init_app(app)  # the |uk_date and |uk_datetime filters

    @app.context_processor
    def inject_helpers():
        return {"current_user": current_user}


DB_DOWN = "Panel cannot reach its database just now. Nothing was saved. Try again in a minute."
STORAGE_FULL = (
    "Panel's file storage is full, so nothing was saved. "
    "Please tell your Panel administrator, then try again later."
)


def _rollback_quietly() -> None:
    from panel.core.db import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool discards it
        log.warning("rollback failed after a database error")


TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Check the form",
    429: "Too many attempts",
    500: "Error",
    503: "Unavailable",
    507: "Storage full",
}


def _error_page(code: int, description: str | None, *, headers=None, anonymous: bool = False):
    title = TITLES.get(code, "Error")
    if _wants_json():
        return jsonify({"error": description or title, "field": None}), code, headers or {}
    extra = {}
    if anonymous:
        # The page must render without the database: no signed-in user, so no menu that queries.
        from panel.core.extensions import login_manager

        extra["current_user"] = login_manager.anonymous_user()
    return (
        render_template(
            "errors/error.html", code=code, title=title, description=description, **extra
        ),
        code,
        headers or {},
    )


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target
