"""Production shape: two app processes share one database, so a lock-out or an ended session
made through one process holds in the other."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.db import ROOT, database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD
from tests.support.web import free_port

pytestmark = pytest.mark.multiprocess


def _start(url: str, port: int, secret: str, storage: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PANEL_ENV": "production",
        "PANEL_DATABASE_URL": url,
        "PANEL_SECRET_KEY": secret,
        "PANEL_STORAGE_DIR": str(storage),
        "PANEL_SESSION_COOKIE_SECURE": "false",  # plain http on loopback in this test
        "PANEL_BIND": f"127.0.0.1:{port}",
        "PANEL_WORKERS": "1",
        "PANEL_ACCESS_LOG": "/dev/null",
    }
    env.pop("PANEL_REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode(errors="replace")[-2000:])
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _csrf(session: requests.Session, url: str) -> str:
    html = session.get(url, timeout=10).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _login(session, base, email, password):
    token = _csrf(session, base + "/login")
    return session.post(
        base + "/login",
        data={"csrf_token": token, "email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )


@pytest.fixture
def two_servers(backend, tmp_path):
    url = database_url(backend, tmp_path, "panel_test_multiprocess")
    secret = "multi-process-test-secret-" + "x" * 20
    app = make_app(url, tmp_path / "storage", SECRET_KEY=secret)
    migrate_and_seed(app)
    from panel.accounts import operations
    from panel.core.db import db

    with app.app_context():
        operations.create_user(
            email="dr.shared@nhs.example.org", name="Dr Shared", password=TEST_PASSWORD
        )
        db.session.commit()
        db.engine.dispose()
    ports = [free_port(), free_port()]
    procs = [_start(url, p, secret, tmp_path / "storage") for p in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait(port, proc)
        yield [f"http://127.0.0.1:{p}" for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_session_ended_in_one_process_is_refused_by_the_other(two_servers):
    a, b = two_servers
    s = requests.Session()
    assert _login(s, a, "dr.shared@nhs.example.org", TEST_PASSWORD).status_code == 302
    cookie = s.cookies.get("panel_session")
    # The session made through A works through B.
    replay = requests.Session()
    replay.cookies.set("panel_session", cookie)
    assert replay.get(b + "/", allow_redirects=False, timeout=10).status_code == 200
    # Sign out through A...
    token = _csrf(s, a + "/account")
    assert (
        s.post(
            a + "/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10
        ).status_code
        == 302
    )
    # ...and the copied cookie is refused by B.
    resp = replay.get(b + "/", allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_lockout_made_through_one_process_holds_in_the_other(two_servers):
    a, b = two_servers
    s = requests.Session()
    for _ in range(5):
        _login(s, a, "dr.shared@nhs.example.org", "wrong-password-here")
    other = requests.Session()
    resp = _login(other, b, "dr.shared@nhs.example.org", TEST_PASSWORD)
    assert resp.status_code == 429
    assert "Too many failed sign-in attempts" in resp.text
