"""Test fixtures: one app per database backend, a rolled-back transaction per test.

Every test that asks for ``app``/``db_session``/``client`` runs twice: on SQLite and on the
PostgreSQL named by ``PANEL_TEST_DATABASE_URL`` (skipped, with the reason shown, when unset;
``.ci/run`` always sets it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import smtplib
from pathlib import Path

os.environ.setdefault("PANEL_ENV", "testing")

import pyotp  # noqa: E402
import pytest  # noqa: E402
from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from panel import create_app  # noqa: E402
from panel.core.db import db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TEST_PASSWORD = "violet-harbour-lantern-42"
CHROMIUM = "/usr/bin/chromium"


# --------------------------------------------------------------------------- databases
def pg_admin_url() -> str | None:
    return os.environ.get("PANEL_TEST_DATABASE_URL")


def _sa_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def fresh_postgres_database(name: str) -> str:
    """Drop and create a database for ``name`` next to the test database; return its URL.

    Its name starts with the test database's own name, so two runs pointed at different test
    databases never drop each other's."""
    base = _sa_url(pg_admin_url())
    name = base.rsplit("/", 1)[1].split("?")[0] + "_" + name.removeprefix("panel_test_")
    # Connect to the server's maintenance database: the named test database may not exist yet.
    engine = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
        ), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def database_url(backend: str, tmp_path: Path, name: str) -> str:
    """A new, empty database of the given backend."""
    if backend == "postgresql":
        if not pg_admin_url():
            if os.environ.get("PANEL_REQUIRE_POSTGRES"):
                pytest.fail("PANEL_REQUIRE_POSTGRES is set but PANEL_TEST_DATABASE_URL is not")
            pytest.skip("PostgreSQL: PANEL_TEST_DATABASE_URL is not set (CI sets it; see .ci/run)")
        return fresh_postgres_database(name)
    return f"sqlite:///{tmp_path / (name + '.sqlite3')}"


def make_app(url: str, storage: Path, **overrides):
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "STORAGE_DIR": str(storage),
        "BASE_URL": "https://panel.test.example",
        **overrides,
    }
    return create_app(config)


def migrate_and_seed(app) -> None:
    from flask_migrate import upgrade

    from panel.accounts.reference import load_reference_data

    with app.app_context():
        upgrade()
        load_reference_data()
        db.session.commit()


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
    with app.app_context():
        db.engine.dispose()


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


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context (and so their own ``g`` and
    database session), as they do in production, even while the test holds one open."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def client(app, db_session):
    return app.test_client()


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def count_queries(app, db_session):
    """``with count_queries() as n: ...`` then ``n.count``: SQL statements run inside."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counter():
        class N:
            count = 0
            statements: list[str] = []

        def before(conn, cursor, statement, *args):
            N.count += 1
            N.statements.append(statement)

        engine = db.engines[None]
        target = engine.engine if hasattr(engine, "engine") else engine
        event.listen(target, "before_cursor_execute", before)
        try:
            yield N
        finally:
            event.remove(target, "before_cursor_execute", before)

    return counter

def csrf_token(app, client) -> str:
    """A valid CSRF token for ``client``'s session (as Flask-WTF makes it)."""
    token = _cv_app.set(None)
    try:
        return _csrf_token(app, client)
    finally:
        _cv_app.reset(token)


def _csrf_token(app, client) -> str:
    with client.session_transaction() as sess:
        if "csrf_token" not in sess:
            sess["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as Flask-WTF does
        raw = sess["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def post_form(app, client, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(app, client))
    return client.post(url, data=data, **kwargs)


def totp_now(user) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def make_user(db_session):
    """Factory: ``make_user(referrer_at="NEWCASTLE", roles=[("NAP", "chair")], admin=True)``."""
    from panel.accounts import operations
    from panel.accounts.models import Centre, Panel, PanelRoleKind
    from panel.core.db import utcnow

    counter = {"n": 0}

    def factory(*, name=None, email=None, referrer_at=None, centre=None, roles=(), admin=False,
                password=TEST_PASSWORD, totp=None, active=True):
        counter["n"] += 1
        n = counter["n"]
        centre_code = referrer_at or centre
        centre_obj = None
        if centre_code:
            centre_obj = db_session.scalar(db.select(Centre).where(Centre.code == centre_code))
        user = operations.create_user(
            email=email or f"user{n}@nhs.example.org",
            name=name or f"Dr Test User{n}",
            centre_id=centre_obj.id if centre_obj else None,
            is_referrer=bool(referrer_at),
            is_admin=admin,
            password=password,
        )
        for panel_code, role in roles:
            panel = db_session.scalar(db.select(Panel).where(Panel.code == panel_code))
            operations.add_panel_role(user, panel, PanelRoleKind(role), by=None)
        if totp is None:
            totp = user.requires_totp
        if totp:
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = utcnow()
        if not active:
            user.active = False
        db_session.commit()
        return user

    return factory


@pytest.fixture
def make_case(db_session):
    """Factory: ``make_case(referrer, doc=None, submit=False)``, a case made through the
    operations from the ALK example (or ``doc``)."""
    import copy
    import json

    from panel.cases import operations

    example = json.loads((ROOT / "tests" / "data" / "case-example-alk.json").read_text())

    def factory(by, doc=None, *, submit: bool = False):
        case = operations.create_case(copy.deepcopy(doc or example), by=by).case
        if submit:
            operations.submit_case(case, by=by)
        db_session.commit()
        return case

    return factory


@pytest.fixture
def people(make_user):
    """One of each role that the access tests compare: two referrers at different centres,
    coordinators of two panels, a NAP member and an admin."""
    return {
        "referrer": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "nap_coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "north_coordinator": make_user(roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"),
        "nap_member": make_user(roles=[("NAP", "member")]),
        "admin": make_user(admin=True),
    }


@pytest.fixture
def login(app, db_session):
    """``login(client, user)``: sign in through the real forms (password, then TOTP)."""

    def do_login(client, user, password=TEST_PASSWORD):
        resp = post_form(app, client, "/login", {"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        if "/login/verify" in resp.headers["Location"]:
            user.totp_last_step = None  # allow a second login within the same 30 s step
            db_session.commit()
            resp = post_form(app, client, "/login/verify", {"code": totp_now(user)})
            assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    return do_login


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- mail
class _Guard:
    allowed: set[tuple[str, int]] = set()


@pytest.fixture(autouse=True)
def no_real_email(monkeypatch):
    """Fail any test that would send e-mail anywhere but a local test SMTP server."""
    original = smtplib.SMTP.connect

    def guarded(self, host="localhost", port=0, source_address=None):
        if (host, port) not in _Guard.allowed:
            pytest.fail(f"a test tried to send real e-mail through {host}:{port}")
        return original(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded)
    yield


@pytest.fixture
def smtp_server():
    """A real SMTP server on localhost (aiosmtpd); ``.messages`` holds what it received."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    _Guard.allowed.add(("127.0.0.1", port))
    handler.port = port
    try:
        yield handler
    finally:
        _Guard.allowed.discard(("127.0.0.1", port))
        controller.stop()


# --------------------------------------------------------------------------- browser
def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"browser tests need Debian's Chromium at {CHROMIUM} (make test installs it as root)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_sessionstart(session):
    shutil.rmtree(ARTIFACTS / "screenshots", ignore_errors=True)
