"""A live Panel server (werkzeug, in a thread of the test process) for browser journeys.

Each journey gets its own server on a fresh database: a copy of a template that was migrated,
seeded and given the demo data once per backend (SQLite copies the file, PostgreSQL uses
``CREATE DATABASE ... TEMPLATE``), with a copy of the template's storage folder. Journeys
therefore neither see each other's changes nor depend on their order."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from tests.support.db import (
    copy_database,
    database_url,
    dispose,
    drop_database,
    make_app,
    migrate_and_seed,
)


@dataclass
class Template:
    url: str
    storage: Path


def build_template(backend: str, tmp: Path, name: str = "panel_test_browser_template") -> Template:
    """A migrated database with the reference and demo data, closed so it can be copied."""
    from panel.core.db import db
    from panel.demo import load_demo_data

    url = database_url(backend, tmp, name)
    storage = tmp / "storage"
    app = make_app(url, storage)
    migrate_and_seed(app)
    with app.app_context():
        load_demo_data()
        db.session.commit()
    dispose(app)
    return Template(url, storage)


class LiveServer:
    """``.url`` (http://127.0.0.1:PORT), ``.app_`` (the served app, for set-up through the
    operations inside an app context)."""

    def __init__(self, app) -> None:
        self.app_ = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        dispose(self.app_)


def serve_copy(template: Template, tmp: Path, name: str):
    """Start a server on a fresh copy of ``template``; returns it and a function that stops it
    and drops the copy."""
    url = copy_database(template.url, tmp, name)
    storage = tmp / "storage"
    if template.storage.exists():
        shutil.copytree(template.storage, storage)
    server = LiveServer(make_app(url, storage)).start()

    def finish() -> None:
        server.stop()
        drop_database(url)

    return server, finish
