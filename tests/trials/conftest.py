"""Fixtures for the registry and matching tests (the app and database are the suite's own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from panel.core.db import db

DATA = Path(__file__).resolve().parent / "data"


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
def make_case(make_case):
    """The suite's ``make_case``, submitted by default here."""
    import functools

    return functools.partial(make_case, submit=True)


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
