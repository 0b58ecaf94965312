"""The job queue tested as it will run (docs/operations.md): gunicorn with two processes and two
``flask --app panel worker`` processes sharing PostgreSQL, Redis and the storage folder. A
coordinator reopens a closed trial through HTTP; the save returns at once and the re-match job
runs on one of the workers; the schedule's jobs are asked for once although two workers ask;
``/healthz`` through gunicorn reports two workers.

PostgreSQL only: SQLite is the single-machine development database (``make run`` runs jobs in a
thread of the web process); several hosts cannot share its file, and the worker layout is not
supported on it.
"""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
import requests
from sqlalchemy import text

from panel.core.db import utcnow
from tests.support import workers
from tests.support.db import database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD, CaseFactory, UserFactory

pytestmark = pytest.mark.multiprocess


def _csrf(session: requests.Session, url: str) -> str:
    html = session.get(url, timeout=10).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _sign_in(base: str, email: str, secret: str) -> requests.Session:
    s = requests.Session()
    resp = s.post(
        base + "/login",
        data={"csrf_token": _csrf(s, base + "/login"), "email": email, "password": TEST_PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302, resp.text[:300]
    if "/login/verify" in resp.headers["Location"]:
        resp = s.post(
            base + "/login/verify",
            data={
                "csrf_token": _csrf(s, base + "/login/verify"),
                "code": pyotp.TOTP(secret).now(),
            },
            allow_redirects=False,
            timeout=30,
        )
        assert resp.status_code == 302, resp.text[:300]
    return s


def _poll(engine, sql: str, params: dict, until, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
        if until(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {rows}")
        time.sleep(0.2)


@pytest.fixture
def stack(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the worker layout is PostgreSQL only (see the module docstring)")
    if not workers.redis_up():
        pytest.skip("Redis is not running")
    url = database_url(backend, tmp_path, f"panel_test_deploy_{uuid.uuid4().hex[:8]}")
    storage = tmp_path / "storage"
    app = make_app(url, storage)
    migrate_and_seed(app)
    from panel.core.db import db
    from panel.trials.models import Trial
    from panel.trials.registry import load_registry, update_trial

    with app.app_context():
        load_registry()
        db.session.commit()
        users = UserFactory(db.session)
        coordinator = users(roles=[("NAP", "coordinator")], name="Deploy Coordinator")
        referrer = users(referrer_at="NEWCASTLE", name="Deploy Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        crisp = db.session.scalar(db.select(Trial).where(Trial.code == "CRISP"))
        update_trial(crisp, {"status": "closed"}, by=coordinator, expected_version=crisp.version)
        db.session.commit()
        facts = {
            "email": coordinator.email,
            "secret": coordinator.totp_secret,
            "case_id": case.id,
            "case_ref": case.reference,
            "trial_id": crisp.id,
            "version": crisp.version,
        }
        db.engine.dispose()
    with workers.web_stack(url, storage, tmp_path) as stack:
        yield {
            "base": stack["base"],
            "engine": stack["engine"],
            "procs": stack["procs"],
            "env": stack["env"],
            **facts,
        }


def test_a_trial_reopened_through_http_is_rematched_by_a_worker(stack):
    base, engine = stack["base"], stack["engine"]
    health = requests.get(base + "/healthz", timeout=10).json()
    assert health["status"] == "ok", health
    assert health["queue"]["mode"] == "broker" and health["queue"]["workers"] == 2
    assert 0 <= health["queue"]["heartbeat_age_seconds"] < 5

    s = _sign_in(base, stack["email"], stack["secret"])
    token = _csrf(s, base + "/trials/CRISP")
    started = time.monotonic()
    resp = s.post(
        base + "/trials/CRISP/check-status",
        data={
            "csrf_token": token,
            "status": "open",
            "source": "the trial team, by telephone",
            "version": stack["version"],
        },
        allow_redirects=False,
        timeout=30,
    )
    saved_in = time.monotonic() - started
    assert resp.status_code == 302, resp.text[:500]

    key = f"trials.rematch:{stack['trial_id']}:v{stack['version'] + 1}"
    rows = _poll(
        engine,
        "SELECT state, worker, result FROM jobs WHERE key = :key",
        {"key": key},
        lambda rows: rows and rows[0][0] == "done",
    )
    state, worker, result = rows[0]
    pids = {str(p.pid) for p in stack["procs"]}
    assert worker.split(":")[1] in pids  # run by one of the worker processes, not gunicorn
    assert "newly_matching" in str(result)
    news = _poll(
        engine,
        "SELECT case_id, verdict FROM trial_new_matches WHERE trial_code = 'CRISP'"
        " AND dismissed_at IS NULL",
        {},
        bool,
    )
    assert news == [(stack["case_id"], "eligible")]
    page = s.get(base + "/trials/", timeout=10).text
    assert stack["case_ref"] in page  # the coordinators' list shows it

    # The schedule: two workers asked for today's purge and this hour's reminders; one job each.
    sched = _poll(
        engine,
        "SELECT kind, count(*), min(state) FROM jobs"
        " WHERE kind IN ('core.purge', 'outcomes.remind') GROUP BY kind",
        {},
        lambda rows: len(rows) == 2 and all(r[2] == "done" for r in rows),
    )
    # One job per period (two only if the test ran across the hour or midnight).
    assert all(count <= 2 for _kind, count, _state in sched), sched
    assert [c for k, c, _s in sched if k == "core.purge"] == [1] or utcnow().hour == 0
    with engine.connect() as conn:
        synced = conn.execute(text("SELECT count(*) FROM jobs WHERE kind = 'trials.sync'"))
        assert synced.scalar() == 0  # switched off here (PANEL_JOBS_SCHEDULE_OFF)
    print(f"save answered in {saved_in:.3f}s")  # noqa: T201 - the figure for the report
