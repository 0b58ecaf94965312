"""Migrations: an empty database upgrades to the head, and the models agree with it."""

from __future__ import annotations

from sqlalchemy import inspect

from tests.support.db import database_url, make_app


def test_upgrade_on_empty_database_then_check_is_clean(backend, tmp_path):
    """Does `flask db upgrade` on an empty database, then `flask db check`, report no drift?"""
    url = database_url(backend, tmp_path, "panel_test_migrations")
    app = make_app(url, tmp_path / "storage")
    runner = app.test_cli_runner()
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    check = runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output  # `db check` exits non-zero on any drift
    from panel.core.db import db

    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "audit_entries", "user_sessions", "panels", "centres"} <= tables
        down = runner.invoke(args=["db", "downgrade", "base"])
        assert down.exit_code == 0, down.output
        db.engine.dispose()
