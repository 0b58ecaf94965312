"""A live Panel server (in a thread) with the demo data, on each database backend."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import database_url, free_port, make_app, migrate_and_seed


@pytest.fixture(scope="session")
def live_server(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    url = database_url(backend, tmp, "panel_test_browser")
    app = make_app(url, tmp / "storage")
    migrate_and_seed(app)
    from panel.core.db import db
    from panel.demo import load_demo_data

    with app.app_context():
        load_demo_data()
        db.session.commit()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app_ = app
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()
