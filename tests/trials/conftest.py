"""Fixtures for the registry and matching tests: an app with the trials blueprint and CLI.

Until ``panel/__init__.py`` registers ``panel.trials.bp`` (and ``panel/cli.py`` the trials
commands), this package's own app registers them; afterwards the registration here is a no-op.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from panel.core.db import db
from tests.conftest import IsolatedClient, database_url, make_app, migrate_and_seed

DATA = Path(__file__).resolve().parent / "data"


def ensure_trials_registered(app) -> None:
    """Register the trials blueprint and commands on ``app`` if the app factory did not."""
    from panel.trials import bp
    from panel.trials.cli import register_cli

    if "trials" not in app.blueprints:
        app.register_blueprint(bp)
    if "match" not in app.cli.commands:
        register_cli(app)


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"trials-app-{backend}")
    url = database_url(backend, tmp, "panel_test_trials")
    app = make_app(url, tmp / "storage")
    ensure_trials_registered(app)
    app.test_client_class = IsolatedClient
    migrate_and_seed(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def example(name: str = "alk") -> dict[str, Any]:
    """A fresh copy of an example case from tests/trials/data."""
    return json.loads((DATA / f"case-example-{name}.json").read_text())


@pytest.fixture
def trials_loaded(db_session):
    """The packaged trials.json loaded into the registry (by the CLI's loader)."""
    from panel.trials.registry import load_registry

    summary = load_registry()
    db_session.commit()
    return summary


@pytest.fixture
def make_case(db_session):
    """``make_case(referrer, doc=None, submit=True)``: a case made through the operations."""
    from panel.cases import operations

    def factory(by, doc: dict[str, Any] | None = None, *, submit: bool = True):
        case = operations.create_case(copy.deepcopy(doc or example()), by=by).case
        if submit:
            operations.submit_case(case, by=by)
        db_session.commit()
        return case

    return factory


@pytest.fixture
def people(make_user):
    return {
        "referrer": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "nap_coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "north_coordinator": make_user(roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"),
        "nap_member": make_user(roles=[("NAP", "member")]),
        "admin": make_user(admin=True),
    }


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@pytest.fixture
def query_counter(db_session):
    """``with query_counter() as q: ...``: the SQL statements run on the test's connection."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        q = QueryCounter()
        bind = db.engines[None]

        def record(conn, cursor, statement, parameters, context, executemany):
            q.statements.append(statement)

        event.listen(bind, "before_cursor_execute", record)
        try:
            yield q
        finally:
            event.remove(bind, "before_cursor_execute", record)

    return counter
