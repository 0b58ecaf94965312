"""Test fixtures: one app per database backend, a rolled-back transaction per test.

Every test that asks for ``app``/``db_session``/``client`` runs twice: on SQLite and on the
PostgreSQL named by ``PANEL_TEST_DATABASE_URL`` (skipped, with the reason shown, when unset;
``.ci/run`` always sets it). The fixtures are thin: the logic lives in ``tests/support/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("PANEL_ENV", "testing")

import pytest  # noqa: E402

from panel.core.db import db  # noqa: E402
from tests.support import factories, mail, pdf, queries  # noqa: E402
from tests.support import live_server as live
from tests.support.db import (  # noqa: E402
    ARTIFACTS,
    database_url,
    dispose,
    drop_database,
    make_app,
    migrate_and_seed,
)
from tests.support.web import IsolatedClient  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


# --------------------------------------------------------------------------- databases
@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"app-{backend}")
    url = database_url(backend, tmp, "panel_test_main")
    app = make_app(url, tmp / "storage")
    app.test_client_class = IsolatedClient
    migrate_and_seed(app)
    yield app
    dispose(app)


@pytest.fixture
def db_session(app):
    """The test runs inside one transaction that is rolled back afterwards; the app's own
    commits become savepoints (``join_transaction_mode="create_savepoint"``)."""
    with app.app_context():
        engines = db.engines
        original = engines[None]
        connection = original.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            yield db.session
        finally:
            db.session.remove()
            engines[None] = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db_session):
    return app.test_client()


# --------------------------------------------------------------------------- factories
@pytest.fixture
def count_queries(app, db_session):
    """``with count_queries() as q: ...`` then ``q.count`` (or ``len(q)``) and
    ``q.statements``: the SQL statements run inside (see tests/support/queries.py)."""
    return queries.count_queries


@pytest.fixture
def make_user(db_session):
    """Factory: ``make_user(referrer_at="NEWCASTLE", roles=[("NAP", "chair")], admin=True)``."""
    return factories.UserFactory(db_session)


@pytest.fixture
def make_case(db_session):
    """Factory: ``make_case(referrer, doc=None, submit=False)``, a case made through the
    operations from the ALK example (or ``doc``)."""
    return factories.CaseFactory(db_session)


@pytest.fixture
def people(make_user):
    """One of each role that the access tests compare: two referrers at different centres,
    coordinators of two panels, a NAP member and an admin."""
    return factories.people(make_user)


@pytest.fixture
def login(app, db_session):
    """``login(client, user)``: sign in through the real forms (password, then TOTP)."""

    def do_login(client, user, password=factories.TEST_PASSWORD):
        return factories.login(app, db_session, client, user, password)

    return do_login


# --------------------------------------------------------------------------- mail
@pytest.fixture(autouse=True)
def no_real_email(monkeypatch):
    """Fail any test that would send e-mail anywhere but a local test SMTP server."""
    mail.guard_smtp(monkeypatch)
    yield


@pytest.fixture
def smtp_server():
    """A real SMTP server on localhost (aiosmtpd); ``.messages`` holds what it received."""
    with mail.smtp_server() as handler:
        yield handler


# --------------------------------------------------------------------------- documents
@pytest.fixture(autouse=True)
def pdf_render_cache():
    """The same HTML is laid out by WeasyPrint once per test process (see
    tests/support/pdf.py; ``PANEL_TEST_PDF_CACHE=0`` turns it off)."""
    pdf.install()
    yield


# --------------------------------------------------------------------------- browser
def pytest_collection_modifyitems(config, items):
    for item in items:  # a journey is a browser test even if its module forgot the marker
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(
            reason=f"browser tests need Debian's Chromium at {CHROMIUM} (make test installs it as root)"
        )
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def live_template(backend, tmp_path_factory):
    """A migrated database with the demo data, built once per backend; each journey's
    ``live_server`` runs on a fresh copy of it."""
    template = live.build_template(backend, tmp_path_factory.mktemp(f"live-template-{backend}"))
    yield template
    drop_database(template.url)


@pytest.fixture
def live_server(live_template, tmp_path):
    """A live Panel server (in a thread) on a fresh copy of the demo database: ``.url`` and
    ``.app_``. Journeys share nothing and may run in any order."""
    server, finish = live.serve_copy(live_template, tmp_path, "panel_test_live")
    try:
        yield server
    finally:
        finish()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_sessionstart(session):
    # Once per run: under pytest-xdist only the controller clears the folder (a worker that
    # starts late would delete what another already wrote).
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(ARTIFACTS / "screenshots", ignore_errors=True)
