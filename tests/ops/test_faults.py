"""Faults: the database goes away, the disk fills up during an upload, the mail server is down.

Panel must answer clearly (503 / 507, never a bare 500), keep nothing of a half-done action,
and recover without a restart once the fault is gone.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from panel.api.tokens import TOKEN_PREFIX
from panel.core.db import db, utcnow
from panel.core.models import AuditEntry, OutboxMail
from panel.core.web import DB_DOWN, STORAGE_FULL
from tests.support.data import pdf_bytes
from tests.support.db import database_url, make_app, migrate_and_seed, pg_admin_url, sa_url
from tests.support.factories import TEST_PASSWORD
from tests.support.mail import MailGuard
from tests.support.web import csrf_token, free_port, post_form


def _login_attempt(app, client, email="nobody@nhs.example.org", password="wrong-password-123"):  # noqa: S107 - a test login
    return post_form(app, client, "/login", {"email": email, "password": password})


def _assert_db_down_page(resp) -> None:
    assert resp.status_code == 503, resp.get_data(as_text=True)[:500]
    # Flask-Limiter re-states Retry-After on rate-limited routes (the sign-in form) as
    # int(reset - now), which can round 60 s down to 59.
    assert resp.headers.get("Retry-After") in ("59", "60")
    body = resp.get_data(as_text=True)
    assert "Panel cannot reach its database just now. Nothing was saved." in body


def _referrer(app) -> None:
    from panel.accounts import operations as accounts
    from panel.accounts.models import Centre

    with app.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
        accounts.create_user(
            email="ops-ref@nhs.example.org",
            name="Dr Fault Referrer",
            centre_id=centre.id,
            is_referrer=True,
            is_admin=False,
            password=TEST_PASSWORD,
        )
        db.session.commit()
        db.session.remove()


# --------------------------------------------------------------------------- database down
def test_postgres_not_listening_gives_a_503_page_and_json(tmp_path):
    """With PostgreSQL not reachable at all, do pages answer with a clear 503 page, the API
    and the health check with JSON 503 (not a 500 or a hang)?"""
    if not pg_admin_url():
        database_url("postgresql", tmp_path, "unused")  # skips (or fails under REQUIRE)
    app = make_app(f"postgresql://postgres@127.0.0.1:{free_port()}/panel", tmp_path / "storage")
    client = app.test_client()
    _assert_db_down_page(_login_attempt(app, client))
    resp = client.get(
        "/api/v1/cases",
        headers={"Authorization": "Bearer " + TOKEN_PREFIX + "0123456789abcdef0123456789abcdef"},
    )
    assert resp.status_code == 503 and resp.is_json
    assert resp.get_json()["error"] == DB_DOWN
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["database"] == "unreachable"


def test_sqlite_file_unreachable_then_back_without_restart(tmp_path):
    """SQLite's folder disappears (unmounted volume): 503; it comes back: the same app works."""
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'panel.sqlite3'}"
    setup = make_app(url, tmp_path / "storage")
    migrate_and_seed(setup)
    _referrer(setup)
    with setup.app_context():
        db.engine.dispose()

    app = make_app(url, tmp_path / "storage")
    client = app.test_client()
    folder.rename(tmp_path / "away")
    try:
        _assert_db_down_page(_login_attempt(app, client, "ops-ref@nhs.example.org", TEST_PASSWORD))
        assert client.get("/healthz").status_code == 503
    finally:
        (tmp_path / "away").rename(folder)
    resp = _login_attempt(app, client, "ops-ref@nhs.example.org", TEST_PASSWORD)
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path):
    """A PostgreSQL deployment of its own (its connections get killed), with a test-only route
    that writes a row and then loses its connection in the middle of the request."""
    url = database_url("postgresql", tmp_path, "ops_faults")
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    _referrer(app)

    @app.post("/_ops_test/write-then-die")
    def write_then_die():
        from panel.core import audit
        from panel.core.mail import queue_mail

        queue_mail("someone@nhs.example.org", "half-done", "half-done")
        audit.record("ops.half_done", object_type="test", object_id=1)
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        db.session.commit()
        return "not reached"

    app.config["WTF_CSRF_ENABLED"] = False  # the test-only route has no form
    yield app
    with app.app_context():
        db.engine.dispose()


def _terminate_all(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(
        sa_url(pg_admin_url()).rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                ).all()
            )
    finally:
        admin.dispose()


def test_postgres_connections_killed_then_recovers_without_restart(pg_app):
    """Every connection of the pool is killed (PostgreSQL restarted): the next requests work
    again (pre-ping replaces dead connections) without restarting Panel."""
    app = pg_app
    client = app.test_client()
    assert _login_attempt(app, client, "ops-ref@nhs.example.org", TEST_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    assert _terminate_all(url) >= 1
    first = client.get("/")
    assert first.status_code in (200, 503)
    assert client.get("/").status_code == 200
    assert client.get("/healthz").get_json()["database"] == "ok"


def test_connection_lost_mid_request_saves_nothing(pg_app):
    """The connection dies after a request has written rows (flushed, not committed): the user
    gets the 503 page, none of the rows exist, and the next request works."""
    app = pg_app
    client = app.test_client()
    assert _login_attempt(app, client, "ops-ref@nhs.example.org", TEST_PASSWORD).status_code == 302
    with app.app_context():
        mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.remove()
    _assert_db_down_page(client.post("/_ops_test/write-then-die", headers={"Accept": "text/html"}))
    assert client.get("/").status_code == 200  # recovered, and still signed in
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == mails
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "ops.half_done")
            )
            == 0
        )
        from panel.core.audit import verify_chain

        assert verify_chain()[1] is None
        db.session.remove()


def test_case_submit_failing_midway_leaves_no_partial_rows(
    app, db_session, client, login, people, make_case, monkeypatch
):
    """The database fails while a submission is half written (status changed, revision
    snapshot added, then the audit entry fails): a 503 page and the case is still a draft,
    with no revision and no audit entry from the attempt."""
    from panel.cases.models import CaseRevision, CaseStatus
    from panel.core import audit

    referrer = people["referrer"]
    case = make_case(referrer)
    revisions = db_session.scalar(
        select(func.count()).select_from(CaseRevision).where(CaseRevision.case_id == case.id)
    )
    login(client, referrer)
    real = audit.record

    def failing_record(action, **kwargs):
        if action == "case.submitted":
            raise OperationalError(
                "INSERT INTO audit_entries", {}, Exception("server closed the connection")
            )
        return real(action, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    resp = post_form(app, client, f"/cases/{case.reference}/submit", {})
    _assert_db_down_page(resp)
    monkeypatch.undo()
    db_session.expire_all()
    case = db_session.get(type(case), case.id)
    assert case.status == CaseStatus.DRAFT and case.submitted_at is None
    assert (
        db_session.scalar(
            select(func.count()).select_from(CaseRevision).where(CaseRevision.case_id == case.id)
        )
        == revisions
    )
    assert not db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "case.submitted", AuditEntry.object_id == case.reference)
    )
    # Nothing is stuck: the same submission goes through once the database is back.
    resp = post_form(app, client, f"/cases/{case.reference}/submit", {})
    assert resp.status_code == 302
    db_session.expire_all()
    assert db_session.get(type(case), case.id).status == CaseStatus.SUBMITTED


# --------------------------------------------------------------------------- disk full
@pytest.fixture
def storage_dir(app):
    root = Path(app.config["STORAGE_DIR"])
    for sub in ("objects", "tmp", "cache", "incoming"):
        shutil.rmtree(root / sub, ignore_errors=True)
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def _all_files(root: Path, subs=("objects", "tmp", "incoming")) -> list[Path]:
    return sorted(p for sub in subs for p in (root / sub).rglob("*") if p.is_file())


def _disk_full_after(monkeypatch, root: Path, where: str, after: int = 0) -> dict:
    """Make writes into ``root/where`` fail with ENOSPC (after ``after`` successful ones), half
    way through the file, as a full disk does."""
    real = shutil.copyfileobj
    state = {"calls": 0, "failed": 0}
    target = str(root / where)

    def copy(src, dst, length=0):
        try:  # the real path of the file being written (os.fdopen files are named by number)
            name = os.readlink(f"/proc/self/fd/{dst.fileno()}")
        except (AttributeError, OSError, io.UnsupportedOperation):
            name = str(getattr(dst, "name", ""))
        if name.startswith(target):
            state["calls"] += 1
            if state["calls"] > after:
                dst.write(src.read(100))  # part of the file reached the disk
                state["failed"] += 1
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, length) if length else real(src, dst)

    monkeypatch.setattr(shutil, "copyfileobj", copy)
    return state


def _store_full_after(monkeypatch, after: int = 0) -> None:
    """Make the store refuse files with ENOSPC after ``after`` of them (a file job's output is
    written to its scratch folder, then moved into ``objects/``: a full disk fails there)."""
    from panel.core.storage import LocalStorage

    real = LocalStorage.put_file
    calls = {"n": 0}

    def put_file(self, path, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, **kwargs)

    monkeypatch.setattr(LocalStorage, "put_file", put_file)


def _upload(app, client, case, files, *, as_json=True):
    data = {
        "label": "scans",
        "csrf_token": csrf_token(app, client),
        "files": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post(
        f"/cases/{case.reference}/images/upload",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept": "application/json" if as_json else "text/html"},
    )


def _upload_rows(case) -> tuple[int, int, int]:
    from panel.imaging.models import StoredFile, Upload

    return (
        db.session.scalar(
            select(func.count()).select_from(Upload).where(Upload.case_id == case.id)
        ),
        db.session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case.id)
        ),
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "imaging.upload", AuditEntry.object_id == case.reference)
        ),
    )


@pytest.fixture
def scans(tmp_path):
    from tests.support import synth

    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32)
    return [(p.name, p.read_bytes()) for p in ct.paths] + [("letter.pdf", pdf_bytes())]


@pytest.mark.parametrize("after", [0, 1, 3])
def test_disk_full_while_receiving_an_upload_leaves_nothing(
    app, db_session, client, login, people, make_case, storage_dir, monkeypatch, scans, after
):
    """The disk fills up while an upload of a series and a PDF is received (written to the
    upload's spool folder, ``incoming/``): a clear 507 answer, no rows, no audit entry, no
    file left anywhere."""
    case = make_case(people["referrer"], submit=True)
    login(client, people["referrer"])
    state = _disk_full_after(monkeypatch, storage_dir, "incoming", after)
    resp = _upload(app, client, case, scans)
    monkeypatch.undo()
    assert state["failed"] == 1
    assert resp.status_code == 507, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"] == STORAGE_FULL
    assert _upload_rows(case) == (0, 0, 0)
    assert _all_files(storage_dir) == []
    # Space is back: the same upload works.
    resp = _upload(app, client, case, scans)
    assert resp.status_code == 200 and resp.get_json()["counts"]["stored"] == 4
    assert _upload_rows(case)[1] == 4


@pytest.mark.parametrize("after", [0, 2])
def test_disk_full_while_storing_reports_the_files_and_keeps_the_rest(
    app, db_session, client, login, people, make_case, storage_dir, monkeypatch, scans, after
):
    """The disk fills up while the files' jobs put them into the store (``objects/``): the
    files stored before stay stored, each file that could not be is reported with the reason
    (its job tried again after a back-off, then gave up), nothing half-written is left, and
    the upload has its one audit entry. Once space is back the same upload stores the rest."""
    case = make_case(people["referrer"], submit=True)
    login(client, people["referrer"])
    _store_full_after(monkeypatch, after)
    resp = _upload(app, client, case, scans)
    monkeypatch.undo()
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert body["state"] == "done"
    assert body["counts"]["stored"] == after and body["counts"]["refused"] == 4 - after
    full = [f for f in body["files"] if f["status"] == "refused"]
    assert all("storage was full" in f["reason"] for f in full), full
    assert _upload_rows(case) == (1, after, 1)
    assert len(_all_files(storage_dir, ("objects",))) == after  # no half-written object
    assert _all_files(storage_dir, ("tmp", "incoming")) == []
    resp = _upload(app, client, case, scans)
    counts = resp.get_json()["counts"]
    assert counts["stored"] == 4 - after and counts["duplicate"] == after
    assert _upload_rows(case)[1] == 4


def test_disk_full_page_for_a_browser(
    app, db_session, client, login, people, make_case, storage_dir, monkeypatch
):
    """A browser upload (no JSON) gets a readable page that says the storage is full; a file
    the store could not take is reported as such on the upload's page."""
    case = make_case(people["referrer"], submit=True)
    login(client, people["referrer"])
    _disk_full_after(monkeypatch, storage_dir, "incoming")
    resp = _upload(app, client, case, [("letter.pdf", pdf_bytes())], as_json=False)
    monkeypatch.undo()
    assert resp.status_code == 507
    body = resp.get_data(as_text=True)
    assert "Storage full" in body and "file storage is full, so nothing was saved" in body
    assert _all_files(storage_dir) == [] and _upload_rows(case) == (0, 0, 0)
    _store_full_after(monkeypatch)
    resp = _upload(app, client, case, [("letter.pdf", pdf_bytes())], as_json=False)
    monkeypatch.undo()
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "the file storage was full, so the file was not stored" in page


# --------------------------------------------------------------------------- mail server down
def test_password_reset_with_smtp_down_succeeds_and_mail_is_retried(
    app, db_session, client, people, smtp_server
):
    """With the SMTP server down, does a reset request still succeed (same answer), leaving
    the mail in the outbox with its error and a retry time; and is it sent by `send-mail`
    once the server is back?"""
    user = people["nap_member"]
    dead_port = free_port()
    MailGuard.allowed.add(("127.0.0.1", dead_port))  # a closed local port: connection refused
    old = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = "127.0.0.1", dead_port
    try:
        resp = post_form(app, client, "/reset", {"email": user.email})
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        mail = db_session.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_addr == user.email)
            .order_by(OutboxMail.id.desc())
        )
        assert mail is not None and mail.sent_at is None
        assert mail.attempts == 1 and "ConnectionRefused" in (mail.last_error or "")
        assert mail.next_attempt_at > utcnow()

        # The server is back; the retry is due (time passes): `send-mail` delivers it.
        app.config["SMTP_PORT"] = smtp_server.port
        mail.next_attempt_at = utcnow() - timedelta(seconds=1)
        db_session.commit()
        result = app.test_cli_runner().invoke(args=["send-mail"])
        assert result.exit_code == 0 and "1 sent" in result.output, result.output
        db_session.expire_all()
        mail = db_session.get(OutboxMail, mail.id)
        assert mail.sent_at is not None and mail.last_error is None
        assert [m["To"] for m in smtp_server.messages] == [user.email]
    finally:
        app.config["SMTP_HOST"], app.config["SMTP_PORT"] = old
        MailGuard.allowed.discard(("127.0.0.1", dead_port))
