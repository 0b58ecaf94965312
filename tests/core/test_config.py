"""Configuration: production refuses unsafe settings; demo data stays local."""

from __future__ import annotations

import pytest

from panel import ConfigurationError, create_app


def test_production_refuses_to_start_without_secret_or_database(monkeypatch):
    import config

    class Prod(config.ProductionConfig):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = None

    with pytest.raises(ConfigurationError, match="PANEL_SECRET_KEY"):
        create_app(Prod)

    class ProdNoDb(config.ProductionConfig):
        SECRET_KEY = "x" * 40
        SQLALCHEMY_DATABASE_URI = None

    with pytest.raises(ConfigurationError, match="PANEL_DATABASE_URL"):
        create_app(ProdNoDb)

    class ProdShortKey(config.ProductionConfig):
        SECRET_KEY = "short"
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    with pytest.raises(ConfigurationError, match="32 characters"):
        create_app(ProdShortKey)


def test_environment_variables_override_settings(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("PANEL_SESSION_IDLE_MINUTES", "7")
    monkeypatch.setenv("PANEL_BASE_URL", "https://panel.nhs.example")
    reloaded = importlib.reload(config)
    try:
        assert reloaded.Config.SESSION_IDLE_TIMEOUT.total_seconds() == 7 * 60
        assert reloaded.Config.BASE_URL == "https://panel.nhs.example"
    finally:
        monkeypatch.delenv("PANEL_SESSION_IDLE_MINUTES")
        monkeypatch.delenv("PANEL_BASE_URL")
        importlib.reload(config)


def test_demo_data_is_refused_in_production(app, db_session):
    """Does a production configuration refuse to load the demo accounts?"""
    from panel.demo import DemoDataRefused, load_demo_data

    app.config["ALLOW_DEMO_DATA"] = False
    try:
        with pytest.raises(DemoDataRefused):
            load_demo_data()
        result = app.test_cli_runner().invoke(args=["demo-data"])
        assert result.exit_code != 0 and "refused" in result.output
    finally:
        app.config["ALLOW_DEMO_DATA"] = True


def test_demo_data_loads_once(app, db_session):
    """Does demo-data create every role once, and do nothing the second time?"""
    from panel.accounts.models import User
    from panel.demo import PEOPLE, load_demo_data

    first = load_demo_data()
    assert len(first) == len(PEOPLE)
    assert load_demo_data() == []
    users = {u.email: u for u in db_session.scalars(db_session.query(User).statement)}
    referrers = [u for u in users.values() if u.is_referrer and u.is_demo]
    assert len({u.centre_id for u in referrers}) == 3
    assert any(u.is_admin for u in users.values())
    for u in users.values():
        if u.is_demo and u.requires_totp:
            assert u.totp_enabled
