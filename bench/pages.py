"""Page benchmark: p50/p95 of the pages people use all day, against ``/healthz`` in the same run.

    .venv/bin/python bench/pages.py                       # SQLite and PostgreSQL, 20,000 cases
    .venv/bin/python bench/pages.py --backend sqlite --cases 5000 --requests 100
    .venv/bin/python bench/pages.py --pages "case page,presentation mode"   # a subset (and /healthz)

For each backend it creates a fresh database, loads the demo data plus ``--cases`` synthetic
cases (``demo-data --cases N``), starts gunicorn (``gunicorn.conf.py``, ``--workers`` processes)
on loopback, signs in as a referrer, a coordinator and a panel member (password + TOTP), and
times ``--requests`` sequential requests per page after a warm-up. Then it explains each page
in-process: the number of SQL statements and the statements that took the most time.

Goal (issue #8): every page's p95 within 5x of ``/healthz`` and under 100 ms on this machine.
PostgreSQL comes from ``PANEL_BENCH_DATABASE_URL`` (default postgresql://postgres@127.0.0.1:5432/panel_bench).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

PASSWORD = "Panel-demo-2026"  # noqa: S105 - the published demo password
REFERRER = "aisha.rahman@demo.example.org"
COORDINATOR = "rachel.moore@demo.example.org"
MEMBER = "james.okafor@demo.example.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sa_url(url: str) -> str:
    return (
        "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url
    )


def prepare(backend: str, tmp: Path, cases: int) -> str:
    """A fresh, migrated database with demo data and ``cases`` synthetic cases; its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        from sqlalchemy import create_engine, text

        base = os.environ.get(
            "PANEL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/panel_bench"
        )
        name = base.rsplit("/", 1)[1]
        admin = create_engine(
            sa_url(base.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = sa_url(base)
    env = {**os.environ, "PANEL_DATABASE_URL": url, "PANEL_STORAGE_DIR": str(tmp / "storage")}
    flask = [sys.executable, "-m", "flask", "--app", "panel"]
    for args in (
        ["db", "upgrade"],
        ["load-reference-data"],
        ["load-trials", "--new-only"],
        ["demo-data", "--cases", str(cases)],
    ):
        started = time.perf_counter()
        proc = subprocess.run(flask + args, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        if args[0] == "demo-data":
            print(
                f"  {proc.stdout.strip().splitlines()[-1]} (wall {time.perf_counter() - started:.1f} s)"
            )
    return url


def start_server(url: str, tmp: Path, port: int, workers: int, secret: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PANEL_ENV": "production",
        "PANEL_DATABASE_URL": url,
        "PANEL_SECRET_KEY": secret,
        "PANEL_STORAGE_DIR": str(tmp / "storage"),
        "PANEL_SESSION_COOKIE_SECURE": "false",
        "PANEL_BIND": f"127.0.0.1:{port}",
        "PANEL_WORKERS": str(workers),
        "PANEL_ACCESS_LOG": "/dev/null",
        "PANEL_API_RATELIMIT": "100000 per minute",
    }
    env.pop("PANEL_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(proc.stderr.read().decode(errors="replace")[-3000:])
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def totp_code(url: str, email: str) -> str | None:
    import pyotp
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        secret = conn.execute(
            text("SELECT totp_secret FROM users WHERE email = :e"), {"e": email}
        ).scalar()
        conn.execute(text("UPDATE users SET totp_last_step = NULL WHERE email = :e"), {"e": email})
        conn.commit()
    engine.dispose()
    return pyotp.TOTP(secret).now() if secret else None


def csrf(session: requests.Session, page: str) -> str:
    return re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', session.get(page, timeout=10).text
    ).group(1)


def sign_in(base: str, url: str, email: str) -> requests.Session:
    s = requests.Session()
    r = s.post(
        base + "/login",
        data={"csrf_token": csrf(s, base + "/login"), "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    if r.status_code == 302 and "/login/verify" in r.headers.get("Location", ""):
        r = s.post(
            base + "/login/verify",
            data={"csrf_token": csrf(s, base + "/login/verify"), "code": totp_code(url, email)},
            allow_redirects=False,
            timeout=10,
        )
    if r.status_code != 302:
        raise SystemExit(f"could not sign in as {email}: {r.status_code}")
    return s


def targets(url: str) -> dict[str, object]:
    """Case reference, meeting id and an API token picked from the loaded data."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        nap = conn.execute(text("SELECT id FROM panels WHERE code = 'NAP'")).scalar()
        ref = conn.execute(
            text(
                "SELECT reference FROM cases WHERE panel_id = :p AND status = 'scheduled' ORDER BY id DESC LIMIT 1"
            ),
            {"p": nap},
        ).scalar()
        meeting = conn.execute(
            text(
                "SELECT m.id FROM meetings m JOIN agenda_items a ON a.meeting_id = m.id WHERE m.panel_id = :p "
                "AND a.outcome_status = 'pending' GROUP BY m.id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"p": nap},
        ).scalar()
    engine.dispose()
    return {"ref": ref, "meeting": meeting}


def screening_log(url: str) -> dict[str, int]:
    """A screening log and answered follow-up checks for the synthetic cases (the volume loader
    makes none), so "Trials after the panel" is timed over full tables: one referral per trial
    suggested in an approved record (stage by its id: suggested, referred, screened, enrolled,
    screen-failed, declined), its steps, and a 3-month check per approved record (yes, partly,
    no or not answered). INSERT ... SELECT, skipping rows that exist already."""
    from datetime import date

    from sqlalchemy import and_, case, exists, func, insert, literal, select

    from panel import create_app
    from panel.core.db import UTCDateTime, db, utcnow
    from panel.feedback.models import Recommendation, RecommendationStatus, RecommendationTrial
    from panel.outcomes.models import OutcomeCheck, TrialReferral, TrialReferralStep

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    stages = ["suggested", "referred", "screened", "enrolled", "screen_failed", "declined"]
    reasons = ["organ_function", "eligibility_disease", "progression", "age", "other"]
    counts = {}
    with app.app_context():
        now = literal(utcnow(), UTCDateTime())
        stage = case(
            *[(RecommendationTrial.id % len(stages) == i, s) for i, s in enumerate(stages)]
        )
        approved = (
            select(Recommendation.case_id, RecommendationTrial.code, RecommendationTrial.title)
            .join(Recommendation, Recommendation.id == RecommendationTrial.recommendation_id)
            .where(
                Recommendation.status == RecommendationStatus.APPROVED,
                ~exists().where(
                    TrialReferral.case_id == Recommendation.case_id,
                    TrialReferral.trial_code == RecommendationTrial.code,
                ),
            )
            .add_columns(stage, now, now, literal(1))
        )
        db.session.execute(
            insert(TrialReferral).from_select(
                [
                    "case_id",
                    "trial_code",
                    "trial_title",
                    "stage",
                    "created_at",
                    "updated_at",
                    "version",
                ],
                approved,
            )
        )
        day = literal(date(2026, 1, 1))
        for step, reached in (
            ("referred", stages[1:5]),
            ("screened", ["screened", "enrolled", "screen_failed"]),
            ("enrolled", ["enrolled"]),
            ("screen_failed", ["screen_failed"]),
            ("declined", ["declined"]),
        ):
            reason = (
                case(*[(TrialReferral.id % 5 == i, r) for i, r in enumerate(reasons)])
                if step == "screen_failed"
                else literal("")
            )
            db.session.execute(
                insert(TrialReferralStep).from_select(
                    ["referral_id", "step", "occurred_on", "reason", "note", "recorded_at"],
                    select(TrialReferral.id, literal(step), day, reason, literal(""), now).where(
                        TrialReferral.stage.in_(reached),
                        ~exists().where(
                            and_(
                                TrialReferralStep.referral_id == TrialReferral.id,
                                TrialReferralStep.step == step,
                            )
                        ),
                    ),
                )
            )
        advice = case(
            (Recommendation.id % 4 == 0, "yes"),
            (Recommendation.id % 4 == 1, "partly"),
            (Recommendation.id % 4 == 2, "no"),
            else_="",
        )
        db.session.execute(
            insert(OutcomeCheck).from_select(
                ["case_id", "months", "due_at", "answered_at", "advice_followed", "version"],
                select(
                    Recommendation.case_id,
                    literal(3),
                    now,
                    case((Recommendation.id % 4 == 3, None), else_=now),
                    advice,
                    literal(1),
                ).where(
                    Recommendation.status == RecommendationStatus.APPROVED,
                    ~exists().where(
                        OutcomeCheck.case_id == Recommendation.case_id, OutcomeCheck.months == 3
                    ),
                ),
            )
        )
        db.session.commit()
        for model in (TrialReferral, TrialReferralStep, OutcomeCheck):
            counts[model.__tablename__] = db.session.scalar(select(func.count()).select_from(model))
        db.engine.dispose()
    return counts


def api_token(url: str, email: str) -> str:
    os.environ["PANEL_DATABASE_URL"] = url
    from panel import create_app
    from panel.accounts.models import User
    from panel.api.tokens import create_token
    from panel.core.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        user = User.by_email(email)
        token = create_token(user, "bench", by=user)
        db.session.commit()
        secret = token.secret
        db.engine.dispose()
    return secret


def pages(t: dict[str, object]) -> list[tuple[str, str, str]]:
    """(label, who, path)."""
    return [
        ("/healthz", "anon", "/healthz"),
        ("referrer dashboard", "referrer", "/"),
        ("coordinator home", "coordinator", "/"),
        ("triage queue", "coordinator", "/triage"),
        ("case page", "coordinator", f"/cases/{t['ref']}"),
        ("meeting agenda", "coordinator", f"/meetings/{t['meeting']}"),
        ("presentation mode", "member", f"/meetings/{t['meeting']}/present/1"),
        ("reports dashboard", "coordinator", "/reports"),
        ("trials after the panel", "coordinator", "/reports/trials?period=all"),
        ("member review list", "member", "/"),
        ("API case list", "api", "/api/v1/cases"),
    ]


def measure(
    base: str, sessions: dict[str, requests.Session], plan, n: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for _label, who, path in plan:
        s = sessions[who]
        for _ in range(5):  # warm-up (caches, connections)
            s.get(base + path, timeout=30)
    # Interleave pages so a slow moment of the machine hits every page alike.
    for _ in range(n):
        for label, who, path in plan:
            s = sessions[who]
            t0 = time.perf_counter()
            r = s.get(base + path, timeout=30)
            times[label].append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"{label} {path}: HTTP {r.status_code}")
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def explain(
    url: str, plan, emails: dict[str, str]
) -> dict[str, tuple[int, list[tuple[float, str]]]]:
    """Per page: number of SQL statements and the three slowest, from an in-process request."""
    from sqlalchemy import event

    from panel import create_app
    from panel.accounts.models import User
    from panel.core.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True, "TESTING": False})
    out = {}
    with app.app_context():
        engine = db.engine
        log: list[tuple[float, str]] = []

        def before(conn, cursor, statement, params, context, many):
            conn.info.setdefault("t0", []).append(time.perf_counter())

        def after(conn, cursor, statement, params, context, many):
            log.append(
                (
                    (time.perf_counter() - conn.info["t0"].pop()) * 1000,
                    " ".join(statement.split())[:150],
                )
            )

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        for label, who, path in plan:
            if who in ("anon", "api"):
                continue
            user = db.session.scalar(db.select(User).where(User.email == emails[who]))
            with app.test_request_context(path):
                from flask_login import login_user

                login_user(user)
                log.clear()
                for _ in range(3):  # the last run counts (warm)
                    log.clear()
                    app.preprocess_request()
                    rv = app.dispatch_request()
                    app.make_response(rv)
                    db.session.rollback()
            out[label] = (len(log), sorted(log, reverse=True)[:3])
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        db.engine.dispose()
    return out


def run(backend: str, args) -> list[tuple]:
    print(
        f"\n== {backend}: {args.cases} synthetic cases, gunicorn {args.workers} workers, {args.requests} requests per page"
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = prepare(backend, tmp, args.cases)
        log = screening_log(url)
        print("  screening log: " + ", ".join(f"{n} {table}" for table, n in log.items()))
        t = targets(url)
        token = api_token(url, REFERRER)
        port = free_port()
        proc = start_server(url, tmp, port, args.workers, secrets.token_urlsafe(48))
        base = f"http://127.0.0.1:{port}"
        try:
            sessions = {
                "anon": requests.Session(),
                "referrer": sign_in(base, url, REFERRER),
                "coordinator": sign_in(base, url, COORDINATOR),
                "member": sign_in(base, url, MEMBER),
                "api": requests.Session(),
            }
            sessions["api"].headers["Authorization"] = f"Bearer {token}"
            plan = [
                p for p in pages(t) if not args.pages or p[0] == "/healthz" or p[0] in args.pages
            ]
            times = measure(base, sessions, plan, args.requests)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        explained = explain(
            url, plan, {"referrer": REFERRER, "coordinator": COORDINATOR, "member": MEMBER}
        )
    health95 = pct(times["/healthz"], 95)
    rows = []
    print(
        f"{'page':<22}{'p50 ms':>9}{'p95 ms':>9}{'x healthz':>11}{'queries':>9}  p95<100ms  p95<=5x healthz"
    )
    for label, _, _ in plan:
        p50, p95 = pct(times[label], 50), pct(times[label], 95)
        ratio = p95 / health95 if health95 else 0
        ok = label == "/healthz" or (p95 <= 5 * health95 and p95 < 100)
        q = explained.get(label, (None, []))[0]
        print(
            f"{label:<22}{p50:>9.1f}{p95:>9.1f}{ratio:>11.1f}{q if q is not None else '-':>9}"
            f"  {'yes' if p95 < 100 else 'NO':<9}  {'yes' if ratio <= 5 else 'NO'}"
        )
        rows.append((backend, label, p50, p95, ratio, q, ok))
    print("slowest statements per page (warm, in-process):")
    for label, (count, slow) in explained.items():
        top = "; ".join(f"{ms:.1f} ms {sql[:90]}" for ms, sql in slow[:2])
        print(f"  {label}: {count} statements; {top}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pages",
        type=lambda v: {p.strip() for p in v.split(",") if p.strip()},
        default=set(),
        help="only these pages (labels as printed, comma-separated); /healthz always runs",
    )
    args = parser.parse_args()
    unknown = args.pages - {label for label, _, _ in pages({"ref": "", "meeting": ""})}
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        rows += run(backend, args)
    over = [r for r in rows if not r[-1]]
    print(
        f"\n{len(rows) - len(over)} of {len(rows)} page/backend figures meet the goal"
        + ("; over it: " + ", ".join(f"{b} {label}" for b, label, *_ in over) if over else ".")
    )


if __name__ == "__main__":
    main()
