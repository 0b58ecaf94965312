"""The one SQL statement counter of the suite (``count_queries`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


class QueryCount:
    """The statements run while a ``count_queries()`` block ran: ``.count`` or ``len()``,
    ``.statements`` (iterating gives the statements, so ``"\\n".join(q)`` shows them)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[str]:
        return iter(self.statements)


@contextmanager
def count_queries() -> Iterator[QueryCount]:
    """``with count_queries() as q: ...``: every SQL statement run on the app's database
    (the test's connection and any other) while the block runs. Needs an app context."""
    from panel.core.db import db

    found = QueryCount()
    bind = db.engines[None]  # the test's connection inside db_session (tests/conftest.py)
    target = bind.engine if hasattr(bind, "engine") else bind

    def record(conn, cursor, statement, parameters, context, executemany):
        found.statements.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(target, "before_cursor_execute", record)
