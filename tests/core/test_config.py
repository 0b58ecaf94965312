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


def _settings(module) -> dict[str, object]:
    """Every setting of every configuration class, as ``Class.NAME -> value``."""
    return {
        f"{cls.__name__}.{name}": getattr(cls, name)
        for cls in (module.Config, *module.CONFIGS.values())
        for name in dir(cls)
        if name.isupper()
    }


def test_every_panel_variable_in_config_changes_a_setting(monkeypatch):
    """Is each ``PANEL_*`` variable that config.py reads honoured, i.e. does setting it change
    a setting (none is read and then ignored)?"""
    import importlib
    import re

    import config

    names = sorted(
        set(re.findall(r'_env(?:_int|_bool)?\(\s*"([A-Z0-9_]+)"', open(config.__file__).read()))
    )
    assert {
        "IMAGING_MAX_FILES",
        "IMAGING_ZIP_MAX_RATIO",
        "FAMILY_SLOWDOWN_MAX",
        "RATELIMIT_FAMILY",
    } <= set(names)
    before = _settings(config)
    try:
        for name in names:
            changed = False
            for value in ("7", "yes", "no"):
                monkeypatch.setenv(f"PANEL_{name}", value)
                changed = _settings(importlib.reload(config)) != before
                if changed:
                    break
            monkeypatch.delenv(f"PANEL_{name}")
            assert changed, f"PANEL_{name} changes no setting"
    finally:
        importlib.reload(config)


def test_documented_app_variables_are_read_by_config():
    """Does config.py read every ``PANEL_*`` variable the documentation gives for the app (the
    gunicorn, test-suite and API-client variables are read elsewhere)?"""
    import re

    import config
    from panel import ROOT

    read = set(
        re.findall(r'_env(?:_int|_bool)?\(\s*"([A-Z0-9_]+)"', open(config.__file__).read())
    ) | {"ENV"}
    elsewhere = {
        "BIND",
        "WORKERS",
        "THREADS",
        "WORKER_TIMEOUT",
        "ACCESS_LOG",
        "FORWARDED_ALLOW_IPS",
        "TEST_DATABASE_URL",
        "TEST_PDF_CACHE",  # tests/support/pdf.py
        "TOKEN",
        "OCR_WORKERS",  # panel/imaging/pixeltext.py (a tuning knob of the OCR passes)
        "OCR_BATCH",  # panel/imaging/pixeltext.py
    }
    documented = set()
    for doc in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        if doc.exists():
            documented |= set(re.findall(r"PANEL_([A-Z][A-Z0-9_]*[A-Z0-9])", doc.read_text()))
    assert documented - elsewhere - read == set()


def test_imaging_and_family_settings_come_from_the_environment(monkeypatch):
    """Can ``PANEL_IMAGING_MAX_FILES`` and a family throttle setting be set for a running app
    (they used to have their defaults inside their modules)?"""
    import importlib

    import config

    monkeypatch.setenv("PANEL_IMAGING_MAX_FILES", "17")
    monkeypatch.setenv("PANEL_FAMILY_SLOWDOWN_MAX", "1.5")
    monkeypatch.setenv("PANEL_RATELIMIT_FAMILY", "9 per minute")
    reloaded = importlib.reload(config)
    try:
        app = create_app(reloaded.TestingConfig)
        assert app.config["IMAGING_MAX_FILES"] == 17
        assert app.config["FAMILY_SLOWDOWN_MAX"] == 1.5
        assert app.config["RATELIMIT_FAMILY"] == "9 per minute"
    finally:
        monkeypatch.delenv("PANEL_IMAGING_MAX_FILES")
        monkeypatch.delenv("PANEL_FAMILY_SLOWDOWN_MAX")
        monkeypatch.delenv("PANEL_RATELIMIT_FAMILY")
        importlib.reload(config)


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, ["PORT=5077"], "PANEL_BASE_URL='http://127.0.0.1:5077'"),
        ({}, ["HOST=0.0.0.0", "PORT=8080"], "PANEL_BASE_URL='http://0.0.0.0:8080'"),
        (
            {"PANEL_BASE_URL": "https://panel.example.org"},
            ["PORT=5077"],
            "PANEL_BASE_URL='https://panel.example.org'",
        ),
    ],
)
def test_make_run_points_links_at_the_port_it_serves(env, args, expected):
    """Does `make run` on another port give the server a PANEL_BASE_URL with that port (so the
    links in e-mails, the family code sheet and the .ics work), unless one is already set?"""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    clean = {k: v for k, v in os.environ.items() if k != "PANEL_BASE_URL"}
    out = subprocess.run(
        ["make", "-n", "-C", str(root), "run", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    serve = next(line for line in out.splitlines() if "gunicorn" in line)
    assert expected in serve
