"""Letter benchmark: the time to open a letter whose feedback was sent (issue 14).

    .venv/bin/python bench/letters.py                         # SQLite and PostgreSQL
    .venv/bin/python bench/letters.py --backend sqlite --requests 20

For each backend it creates a fresh, migrated database and a storage folder, makes one case
the way the app does (referral, discussion, record with every question answered, the chair's
approval, the coordinator sending the feedback, a family access code), signs in the referrer
through the real forms and the family with its code, and times ``--requests`` sequential
requests per letter after a warm-up, in-process (the Flask test client: no network, no
gunicorn, so the figure is the app's own work):

* staff HTML: the referrer's ``/cases/<ref>/letters/clinician``
* staff PDF: the referrer's ``/cases/<ref>/letters/clinician.pdf``
* family PDF: the family's ``/family/letter.pdf``

PostgreSQL comes from ``PANEL_BENCH_DATABASE_URL`` (default
postgresql://postgres@127.0.0.1:5432/panel_bench_letters).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PANEL_ENV", "testing")  # the test configuration: no mail, no Redis
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _project  # noqa: E402  (the project's root and its tests package first)

_project.setup()

LETTERS = ("staff HTML", "staff PDF", "family PDF")


def _pg_base() -> str:
    return os.environ.get(
        "PANEL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/panel_bench_letters"
    )


def _pg_admin(*statements: str) -> None:
    from sqlalchemy import create_engine, text

    from tests.support.db import sa_url

    admin = create_engine(
        sa_url(_pg_base().rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def database(backend: str, tmp: Path) -> str:
    """A fresh database for ``backend``; its URL."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench-letters.sqlite3'}"
    from tests.support.db import sa_url

    name = _pg_base().rsplit("/", 1)[1]
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return sa_url(_pg_base())


def drop(backend: str) -> None:
    if backend != "sqlite":
        name = _pg_base().rsplit("/", 1)[1]
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(app) -> dict[str, object]:
    """One sent case: its reference, the referrer and the family's plain code."""
    from panel.cases.models import CaseStatus
    from panel.core.db import db, utcnow
    from panel.feedback import family, operations, sending
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry
    from tests.support.data import answers_for, full_record_data
    from tests.support.factories import CaseFactory, UserFactory

    load_registry()
    db.session.commit()
    clear_cache()
    make_user = UserFactory(db.session)
    referrer = make_user(referrer_at="NEWCASTLE", name="Dr Bench Referrer")
    coordinator = make_user(roles=[("NAP", "coordinator")], name="Bench Coordinator")
    chair = make_user(roles=[("NAP", "chair")], name="Dr Bench Chair")
    case = CaseFactory(db.session)(referrer, submit=True)
    case.status = CaseStatus.DISCUSSED
    case.discussed_at = utcnow()
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(
        rec,
        copy.deepcopy(full_record_data(answers=answers_for(case))),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=chair, expected_version=rec.version)
    sending.send_feedback(rec, by=coordinator)
    _, plain = family.create_code(case, by=referrer)
    db.session.commit()
    return {"ref": case.reference, "email": referrer.email, "plain": plain}


def time_get(client, url: str, n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        resp = client.get(url)
        resp.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return times


def run(backend: str, requests: int, warmup: int) -> dict[str, list[float]]:
    from panel.core.db import db
    from tests.support.db import dispose, make_app, migrate_and_seed
    from tests.support.factories import TEST_PASSWORD
    from tests.support.web import IsolatedClient, post_form

    with tempfile.TemporaryDirectory(prefix="bench-letters-") as tmp_name:
        tmp = Path(tmp_name)
        url = database(backend, tmp)
        app = make_app(url, tmp / "storage", RATELIMIT_FAMILY="100000 per minute")
        app.test_client_class = IsolatedClient
        migrate_and_seed(app)
        try:
            with app.app_context():
                world = prepare(app)
                db.session.remove()
            staff = app.test_client()
            resp = post_form(
                app, staff, "/login", {"email": world["email"], "password": TEST_PASSWORD}
            )
            assert resp.status_code == 302, resp.status_code
            fam = app.test_client()
            resp = post_form(app, fam, "/family", {"code": world["plain"]})
            assert resp.status_code == 302, resp.status_code
            ref = world["ref"]
            urls = {
                "staff HTML": (staff, f"/cases/{ref}/letters/clinician"),
                "staff PDF": (staff, f"/cases/{ref}/letters/clinician.pdf"),
                "family PDF": (fam, "/family/letter.pdf"),
            }
            out = {}
            for name in LETTERS:
                client, path = urls[name]
                out[name] = time_get(client, path, requests, warmup)
        finally:
            dispose(app)
            drop(backend)
    return out


def report(backend: str, results: dict[str, list[float]]) -> None:
    print(f"\n{backend}: {len(next(iter(results.values())))} requests per letter")
    print(f"  {'letter':<12} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for name, times in results.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"  {name:<12} {statistics.median(ordered):9.1f} {p95:9.1f} {ordered[-1]:9.1f}")


def main() -> None:
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # its CSS warnings, once per PDF
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        report(backend, run(backend, args.requests, args.warmup))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
