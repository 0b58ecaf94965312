"""Helpers for the API tests: example documents, a token-sending client, query counting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask.globals import _cv_app
from sqlalchemy import event

from panel.core.db import db

DATA = Path(__file__).resolve().parent.parent / "data"


def example(name: str = "alk") -> dict[str, Any]:
    """A complete panel-case/1 document from tests/data (a fresh copy)."""
    return json.loads((DATA / f"case-example-{name}.json").read_text())


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

    def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None, **kw):
        if json is not None:
            kw["json"] = json
        return self.client.post(url, headers=self._headers(headers), **kw)

    def put(self, url: str, json: Any = None, headers: dict[str, str] | None = None, **kw):
        if json is not None:
            kw["json"] = json
        return self.client.put(url, headers=self._headers(headers), **kw)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run on the test's connection while the block runs."""
    bind = db.engines[None]  # the test's connection (see tests/conftest.py: db_session)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", record)


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
