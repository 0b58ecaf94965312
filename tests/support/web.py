"""Talking to the app in tests: the isolated client, CSRF tokens, form posts, free ports."""

from __future__ import annotations

import hashlib
import os
import re
import socket

import pyotp
from flask.globals import _cv_app
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context (and so their own ``g`` and
    database session), as they do in production, even while the test holds one open."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


def isolated_wsgi(app):
    """``app`` as a WSGI callable whose every request gets its own app context (and so its
    own ``g`` and database session), as in production, while the test holds one open."""

    def wsgi(environ, start_response):
        token = _cv_app.set(None)
        try:
            return app(environ, start_response)
        finally:
            _cv_app.reset(token)

    return wsgi


def csrf_token(app, client) -> str:
    """A valid CSRF token for ``client``'s session (as Flask-WTF makes it)."""
    token = _cv_app.set(None)
    try:
        return _csrf_token(app, client)
    finally:
        _cv_app.reset(token)


def _csrf_token(app, client) -> str:
    with client.session_transaction() as sess:
        if "csrf_token" not in sess:
            sess["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as Flask-WTF does
        raw = sess["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def post_form(app, client, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(app, client))
    return client.post(url, data=data, **kwargs)


def totp_now(user) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_error(resp, status: int, field: str | None = None) -> dict:
    """The API's error body of ``resp``, after checking its status and shape (a non-empty
    ``error`` text and a ``field`` key); with ``field``, that the error names it."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    body = resp.get_json()
    assert isinstance(body["error"], str) and body["error"] and "field" in body, body
    if field is not None:
        assert body["field"] == field, body
    return body


class Api:
    """The Flask test client with an ``Authorization: Bearer`` header on every request."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, url: str, headers: dict[str, str] | None = None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url: str, json=None, headers: dict[str, str] | None = None, **kw):
        if json is not None:
            kw["json"] = json
        return self.client.post(url, headers=self._headers(headers), **kw)

    def put(self, url: str, json=None, headers: dict[str, str] | None = None, **kw):
        if json is not None:
            kw["json"] = json
        return self.client.put(url, headers=self._headers(headers), **kw)
