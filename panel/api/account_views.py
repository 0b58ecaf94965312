"""The account page's API token section: make a token (shown once) and revoke one.

The list itself is rendered by ``templates/accounts/_api_tokens.html`` (included in the account
page) through the ``api_tokens_of(user)`` template global.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from panel.accounts.forms import ConfirmForm
from panel.accounts.models import ApiToken
from panel.api import account_bp, tokens
from panel.api.forms import NewTokenForm
from panel.core.db import db
from panel.core.web import external_url

SECTION = "api-tokens"


def _back() -> Response:
    return redirect(url_for("accounts.account", _anchor=SECTION))


@account_bp.post("")
@login_required
def create():
    """Make a token and show it on a page of its own: the only time it is ever shown."""
    user = current_user._get_current_object()
    form = NewTokenForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(f"No token made: {message}", "danger")
        return _back()
    try:
        new = tokens.create_token(user, form.name.data, by=user, days=form.days.data)
    except tokens.TokenError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _back()
    db.session.commit()
    return render_template(
        "api/token_created.html",
        token=new.token,
        secret=new.secret,
        api_base=external_url("/api/v1"),
    )


@account_bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of your own tokens (someone else's is not found)."""
    user = current_user._get_current_object()
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    tokens.revoke_token(token, by=user)
    db.session.commit()
    flash(f"The token “{token.name}” ({token.prefix}…) is revoked.", "success")
    return _back()
