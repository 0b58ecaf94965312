"""Panel: case management for paediatric oncology advisory panels."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent

#: The domain packages, in the order their ``init_app(app)`` is called.
DOMAINS = (
    "panel.core",
    "panel.accounts",
    "panel.cases",
    "panel.trials",
    "panel.imaging",
    "panel.meetings",
    "panel.feedback",
    "panel.outcomes",
    "panel.reports",
    "panel.api",
    "panel.ops",
)


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete for the chosen environment."""


def create_app(config: dict | type | str | None = None) -> Flask:
    """Build the application.

    ``config`` may be a config class, the name of one ("development", "testing",
    "production"), or a dict of overrides applied on top of the environment's class.
    """
    config_module = _config_module()

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if isinstance(config, str):
        app.config.from_object(config_module.CONFIGS[config])
    elif isinstance(config, type):
        app.config.from_object(config)
    else:
        app.config.from_object(config_module.config_from_env())
        if config:
            app.config.update(config)
    _check_config(app)

    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=0)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # WeasyPrint logs each layout step at INFO: a letter sent is seven lines of noise.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    _init_extensions(app)
    _init_domains(app)
    return app


def _config_module() -> ModuleType:
    """The top-level ``config.py`` beside the package, loaded by its path: ``flask --app panel``
    works from any folder (and never picks up some other ``config.py`` from the working
    directory). It is registered as ``config``, so ``import config`` finds the same module."""
    path = ROOT / "config.py"
    loaded = sys.modules.get("config")
    if loaded is not None and Path(getattr(loaded, "__file__", None) or "").resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location("config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if loaded is None:
        sys.modules["config"] = module
    return module


def _check_config(app: Flask) -> None:
    cfg = app.config
    days = cfg.get("API_TOKEN_DAYS")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ConfigurationError(
            "PANEL_API_TOKEN_DAYS must be a whole number of days from 1 to 365."
        )
    if cfg.get("ENV_NAME") == "production":
        missing = [n for n in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI") if not cfg.get(n)]
        if missing:
            names = ", ".join(
                "PANEL_" + ("DATABASE_URL" if n.startswith("SQLALCHEMY") else n) for n in missing
            )
            raise ConfigurationError(f"Production needs {names}: refusing to start.")
        if len(cfg["SECRET_KEY"]) < 32:
            raise ConfigurationError("PANEL_SECRET_KEY must be at least 32 characters.")
    elif not cfg.get("SECRET_KEY"):
        # Development: a key kept in the instance folder, made once, so sessions survive restarts.
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            import secrets

            try:  # exclusive create: two processes starting at once agree on one key
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
        cfg["SECRET_KEY"] = key_file.read_text().strip()
    uri = cfg.get("SQLALCHEMY_DATABASE_URI") or ""
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver we ship.
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"


def _init_extensions(app: Flask) -> None:
    from panel.accounts.sessions import load_session_user
    from panel.core.db import configure_sqlite, db
    from panel.core.extensions import csrf, limiter, login_manager, migrate
    from panel.core.web import init_web

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection
    login_manager.user_loader(load_session_user)
    init_web(app)


def _init_domains(app: Flask) -> None:
    """Each domain registers its blueprints, commands and case-page panels in its ``init_app``.
    A domain without one is an error: nothing of it is silently left out."""
    for name in DOMAINS:
        module = importlib.import_module(name)
        init = getattr(module, "init_app", None)
        if not callable(init):
            raise ConfigurationError(
                f"{name} has no init_app(app): its pages and commands would be missing."
            )
        init(app)
