"""Coarse permission checks (decorators); fine checks live on the objects (``can_view`` ...)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def admin_required(view: Callable) -> Callable:
    """Only admins (who manage people, never cases)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def roles_required(*checks: str) -> Callable:
    """The user must have at least one of the named role properties, e.g.
    ``@roles_required("is_coordinator", "is_admin")``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(getattr(current_user, check, False) for check in checks):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def signed_in_user():
    """The signed-in user itself (not Flask-Login's proxy): what operations take as ``by``."""
    from flask_login import current_user

    return current_user._get_current_object()
