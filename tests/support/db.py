"""Test databases: a new empty one per use, on SQLite or the PostgreSQL named by
``PANEL_TEST_DATABASE_URL``; a migrated template and cheap copies of it."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def pg_admin_url() -> str | None:
    return os.environ.get("PANEL_TEST_DATABASE_URL")


def sa_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def worker() -> str:
    """The pytest-xdist worker running this process ("gw0", "gw1", ...), or "" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def _pg_name(name: str) -> str:
    """``name`` prefixed with the test database's own name, so two runs pointed at different
    test databases never drop each other's, and with the xdist worker's name, so two workers
    of one run never do either."""
    base = sa_url(pg_admin_url()).rsplit("/", 1)[1].split("?")[0]
    if worker():
        base += "_" + worker()
    return base + "_" + name.removeprefix("panel_test_")


def _pg_server() -> str:
    return sa_url(pg_admin_url()).rsplit("/", 1)[0]


def _pg_admin(statements: list[tuple[str, dict]]) -> None:
    # Connect to the server's maintenance database: the named test database may not exist yet.
    engine = create_engine(_pg_server() + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _terminate(name: str) -> tuple[str, dict]:
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :n AND pid <> pg_backend_pid()",
        {"n": name},
    )


def fresh_postgres_database(name: str, *, template: str | None = None) -> str:
    """Drop and create a database for ``name`` next to the test database (a copy of the
    database ``template`` when given); return its URL."""
    name = _pg_name(name)
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    statements = [_terminate(name), (f'DROP DATABASE IF EXISTS "{name}"', {})]
    if template:
        statements.append(_terminate(template))  # CREATE ... TEMPLATE needs it unused
    statements.append((create, {}))
    _pg_admin(statements)
    return _pg_server() + "/" + name


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    _pg_admin([_terminate(name), (f'DROP DATABASE IF EXISTS "{name}"', {})])


def require_postgres() -> None:
    """Skip (or, with ``PANEL_REQUIRE_POSTGRES``, fail) when no PostgreSQL is configured."""
    if not pg_admin_url():
        if os.environ.get("PANEL_REQUIRE_POSTGRES"):
            pytest.fail("PANEL_REQUIRE_POSTGRES is set but PANEL_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL: PANEL_TEST_DATABASE_URL is not set (CI sets it; see .ci/run)")


def database_url(backend: str, tmp_path: Path, name: str) -> str:
    """A new, empty database of the given backend."""
    if backend == "postgresql":
        require_postgres()
        return fresh_postgres_database(name)
    return f"sqlite:///{tmp_path / (name + '.sqlite3')}"


def copy_database(template_url: str, tmp_path: Path, name: str) -> str:
    """A new database holding a copy of ``template_url`` (nobody may be connected to it):
    SQLite copies the file, PostgreSQL runs ``CREATE DATABASE ... TEMPLATE ...``."""
    if template_url.startswith("sqlite:///"):
        target = tmp_path / (name + ".sqlite3")
        shutil.copyfile(template_url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"
    return fresh_postgres_database(name, template=template_url.rsplit("/", 1)[1])


def drop_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        drop_postgres_database(url)


TEST_TRIALS_FILE = Path(__file__).with_name("trials-open.json")


def make_app(url: str, storage: Path, **overrides):
    from panel import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "STORAGE_DIR": str(storage),
        "BASE_URL": "https://panel.test.example",
        # Tests of other domains need trials to suggest: the six factsheet trials, all open,
        # checked on a fixed date that never goes stale here (the packaged registry is true
        # today, with most trials closed). Tests of the registry itself load the packaged file
        # by its path and lower the age limit.
        "TRIALS_FILE": str(TEST_TRIALS_FILE),
        "TRIAL_STATUS_MAX_AGE_DAYS": 36500,
        **overrides,
    }
    return create_app(config)


def migrate_and_seed(app) -> None:
    from flask_migrate import upgrade

    from panel.accounts.reference import load_reference_data
    from panel.core.db import db

    with app.app_context():
        upgrade()
        load_reference_data()
        db.session.commit()


def dispose(app) -> None:
    """Close the app's pooled connections (before its database is copied or dropped)."""
    from panel.core.db import db

    with app.app_context():
        db.engine.dispose()


def write_held() -> bool:
    """Whether the app's current transaction holds a write (PostgreSQL: it has a transaction
    id) or the database's write lock (SQLite: the whole file; every transaction begins
    IMMEDIATE, so every sign-in waits for it). Call inside the app context."""
    import sqlite3

    from panel.core.db import db

    engine = db.engine
    if engine.dialect.name == "postgresql":  # an id is given at a transaction's first write
        return db.session.execute(text("SELECT txid_current_if_assigned()")).scalar() is not None
    other = sqlite3.connect(engine.url.database, timeout=0.05)
    try:
        other.execute("BEGIN IMMEDIATE")  # fails while another connection holds the lock
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        other.close()


@contextlib.contextmanager
def own_app(backend: str, tmp_path: Path, prefix: str, **overrides):
    """An app on its own migrated and seeded database (a test that must see commits as other
    connections do: the usual fixtures hold one transaction open around the whole test);
    disposed of and dropped afterwards."""
    import uuid

    url = database_url(backend, tmp_path, f"{prefix}_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage", **overrides)
    migrate_and_seed(app)
    try:
        yield app
    finally:
        dispose(app)
        drop_database(url)
