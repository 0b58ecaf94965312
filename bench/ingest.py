"""Benchmark (issue 18): a CT series uploaded through the API, de-identified by 1 then 2 workers.

Usage::

    .venv/bin/python bench/ingest.py                          # 2,000 slices of 512 x 512
    .venv/bin/python bench/ingest.py --files 300 --size 256   # a quick check

It generates (once; cached under the temporary folder, ``--cache`` to choose) a synthetic axial
CT series of ``--files`` 16-bit slices of ``--size`` x ``--size`` (tests/support/synth.py) and
its zip. For each worker count in ``--workers`` (default ``1,2``) it then makes a fresh
PostgreSQL database (``PANEL_BENCH_DATABASE_URL``, default
postgresql://postgres@127.0.0.1:5432/panel_bench_ingest), migrates it, adds a referrer, a case
and an API token, and starts the pieces as docs/operations.md lays them out: gunicorn with two
processes, and N ``flask --app panel worker --threads 1`` processes (one thread each: one
worker is one core's worth of de-identification) on Redis (``PANEL_BENCH_REDIS_URL``, default
redis://127.0.0.1:6379/0, under a namespace of its own that is removed afterwards). The zip
goes up as one ``POST /api/v1/cases/{ref}/files``; ``GET /api/v1/jobs/{id}`` is polled (every
``--poll`` seconds, 3 by default: each answer lists every file, and the web processes share the
cores being measured) until the job is done. The times come from the job rows (first file job
started, last one finished), so the poll's period does not round them.

It prints, per worker count:

* *receive*: the upload request's time (streaming, checking and expanding the zip, asking for
  one job per file), the same whatever the workers;
* *ingest files/s*: files over the time from the first file job's start to the last one's end
  (the workers' part), and the ratio of 2 workers to 1 (the goal: at least 1.6);
* *until stored*: from the start of the upload request until the last file's row was
  committed;
* per file job, the mean time from its claim to its result (de-identification and the job's
  statements) and from its end to its worker's next claim (its commit, the broker's delivery):
  with the floor, where the time goes;

and the floor: files/s of a plain ``pydicom.dcmread`` + ``dcmwrite`` of the same files on one
core in this process. The machine's load average is printed: other work on it slows every run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _project  # noqa: E402  (the project's root and its tests package first)

_project.setup()

import pydicom  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.support.synth import make_ct_series  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/panel_bench_ingest"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def sa_url(url: str) -> str:
    return (
        "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the series
def series(cache: Path, files: int, size: int) -> tuple[list[Path], Path]:
    """The slices and their zip, made once per (files, size) under ``cache``."""
    folder = cache / f"ct-{files}x{size}"
    slices = folder / "slices"
    archive = folder / "series.zip"
    if not archive.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        make_ct_series(slices, files, size, size, seed=2000)
        tmp = folder / "series.zip.part"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for path in sorted(slices.iterdir()):
                zf.write(path, f"CT/{path.name}")
        tmp.rename(archive)
        print(f"  made {files} slices of {size}x{size} in {time.perf_counter() - started:.1f} s")
    return sorted(slices.iterdir()), archive


def floor(paths: list[Path], out: Path) -> float:
    """Files per second of a plain pydicom read + write, one core, this process."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for p in paths:
        pydicom.dcmwrite(out / p.name, pydicom.dcmread(p))
    took = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return len(paths) / took


# --------------------------------------------------------------------------- the deployment
def prepare(url: str, storage: Path) -> dict:
    """A fresh migrated database with a referrer, a submitted case and the referrer's token."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(sa_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    from panel.api.tokens import create_token
    from panel.core.db import db
    from tests.support.db import make_app, migrate_and_seed
    from tests.support.factories import CaseFactory, UserFactory

    app = make_app(sa_url(url), storage)
    migrate_and_seed(app)
    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="Bench Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        token = create_token(referrer, "bench PACS", by=referrer).secret
        db.session.commit()
        facts = {"case_ref": case.reference, "token": token}
        db.engine.dispose()
    return facts


def env_for(url: str, storage: Path, redis_url: str, namespace: str) -> dict:
    return {
        **os.environ,
        "PANEL_ENV": "production",
        "PANEL_DATABASE_URL": sa_url(url),
        "PANEL_SECRET_KEY": "bench-ingest-secret-" + "x" * 30,
        "PANEL_STORAGE_DIR": str(storage),
        "PANEL_SESSION_COOKIE_SECURE": "false",
        "PANEL_REDIS_URL": redis_url,
        "PANEL_JOBS_NAMESPACE": namespace,
        "PANEL_JOBS_SCHEDULE_OFF": "trials.sync",
        "PANEL_BASE_URL": "https://panel.bench.example",
        "PANEL_API_RATELIMIT": "100000 per minute",
        "PANEL_WORKER_TIMEOUT": "600",  # a 1 GB zip is received in one request
    }


def start(
    env: dict, n: int, port: int, logs: Path, threads: int = 1
) -> tuple[subprocess.Popen, list]:
    procs = []
    for i in range(n):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "flask", "--app", "panel", "worker"),
                    *("--threads", str(threads)),
                ],
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"worker-{i}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env={
            **env,
            "PANEL_BIND": f"127.0.0.1:{port}",
            "PANEL_WORKERS": "2",
            "PANEL_ACCESS_LOG": "/dev/null",
        },
        stdout=subprocess.DEVNULL,
        stderr=open(logs / "gunicorn.log", "wb"),  # noqa: SIM115
    )
    client = redis.Redis.from_url(env["PANEL_REDIS_URL"])
    deadline = time.monotonic() + 90
    base = f"http://127.0.0.1:{port}"
    while True:
        if any(p.poll() is not None for p in [web, *procs]):
            raise SystemExit(f"a process exited at start (logs in {logs})")
        alive = sum(1 for _ in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}:workers:*"))
        try:
            up = requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            up = False
        if up and alive >= n:
            return web, procs
        if time.monotonic() > deadline:
            raise SystemExit(f"the deployment did not start (logs in {logs})")
        time.sleep(0.2)


def stop(web: subprocess.Popen, procs: list, env: dict) -> None:
    for p in [web, *procs]:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in [web, *procs]:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    client = redis.Redis.from_url(env["PANEL_REDIS_URL"])
    for key in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}*"):
        client.delete(key)


# --------------------------------------------------------------------------- one run
def run(n: int, archive: Path, files: int, args, work: Path) -> dict:
    url = os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("PANEL_BENCH_REDIS_URL", DEFAULT_REDIS)
    storage = work / f"storage-{n}"
    shutil.rmtree(storage, ignore_errors=True)
    logs = work / f"logs-{n}"
    logs.mkdir(parents=True, exist_ok=True)
    facts = prepare(url, storage)
    env = env_for(url, storage, redis_url, f"panel-bench-{uuid.uuid4().hex[:8]}")
    port = free_port()
    web, procs = start(env, n, port, logs, args.threads)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {facts['token']}"}
    engine = create_engine(sa_url(url))
    try:
        with engine.connect() as conn:  # the database's clock, for "until stored"
            t0_db = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        t0 = time.perf_counter()
        with open(archive, "rb") as fh:
            resp = requests.post(
                f"{base}/api/v1/cases/{facts['case_ref']}/files",
                headers=auth,
                files={"files": ("series.zip", fh, "application/zip")},
                data={"label": "CT bench"},
                timeout=900,
            )
        received = time.perf_counter() - t0
        if resp.status_code != 202:
            raise SystemExit(f"upload answered {resp.status_code}: {resp.text[:300]}")
        job = resp.json()["job"]
        deadline = time.monotonic() + args.timeout
        while True:
            state = requests.get(f"{base}/api/v1/jobs/{job}", headers=auth, timeout=60).json()
            if state["state"] in ("done", "failed"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not done after {args.timeout} s: {state['done']}/{files}")
            time.sleep(args.poll)
        with engine.connect() as conn:
            first, last, retried = conn.execute(
                text(
                    "SELECT min(started_at), max(finished_at), count(*) FILTER (WHERE attempts > 1)"
                    " FROM jobs WHERE parent_id = :g"
                ),
                {"g": job},
            ).one()
            # Per file job: claim to result (run) and the worker's pause before its next claim
            # (the broker's delivery, the commit), per worker thread, averaged.
            run_ms, gap_ms = conn.execute(
                text(
                    "WITH j AS (SELECT started_at, finished_at, lag(finished_at) OVER"
                    " (PARTITION BY worker ORDER BY started_at) AS prev"
                    " FROM jobs WHERE parent_id = :g AND state = 'done')"
                    " SELECT avg(extract(epoch FROM finished_at - started_at)) * 1000,"
                    " avg(extract(epoch FROM started_at - prev)) * 1000 FROM j"
                ),
                {"g": job},
            ).one()
            stored, last_row = conn.execute(
                text(
                    "SELECT count(*), max(f.created_at) FROM stored_files f"
                    " JOIN uploads u ON u.id = f.upload_id WHERE u.job_id = :g"
                ),
                {"g": job},
            ).one()
    finally:
        engine.dispose()
        stop(web, procs, env)
        shutil.rmtree(storage, ignore_errors=True)
    ingest_s = (last - first).total_seconds()
    return {
        "workers": n,
        "received_s": received,
        "ingest_s": ingest_s,
        "rate": files / ingest_s,
        "until_stored_s": (last_row - t0_db).total_seconds(),
        "stored": stored,
        "retried": retried,
        "run_ms": float(run_ms or 0),
        "gap_ms": float(gap_ms or 0),
        "counts": state.get("counts"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=512, help="rows and columns of each slice")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in turn")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "panel-bench")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (1: one worker is one core's worth; more overlap the waits"
        " for the database)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait per run")
    parser.add_argument(
        "--poll",
        type=float,
        default=3.0,
        help="seconds between polls of GET /api/v1/jobs/{id} (each lists every file: keep it"
        " rare, as the web processes share the cores being measured)",
    )
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",") if x.strip()]

    print(
        f"Ingest benchmark: {args.files} CT slices of {args.size}x{args.size}, 16-bit;"
        f" {args.threads} thread(s) per worker"
    )
    print(f"  cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at start")
    paths, archive = series(args.cache, args.files, args.size)
    size_mb = archive.stat().st_size / 1e6
    work = Path(tempfile.mkdtemp(prefix="panel-bench-ingest-"))
    try:
        plain = floor(paths, work / "floor")
        print(f"  zip {size_mb:.0f} MB; pydicom read+write floor (1 core): {plain:.0f} files/s")
        results = []
        for n in counts:
            r = run(n, archive, args.files, args, work)
            results.append(r)
            print(
                f"  {n} worker(s): receive {r['received_s']:.1f} s, ingest {r['ingest_s']:.1f} s"
                f" = {r['rate']:.1f} files/s ({r['rate'] / plain:.0%} of the floor per"
                f" {'core' if n == 1 else f'{n} cores'}), until the last file was stored"
                f" {r['until_stored_s']:.1f} s; {r['stored']} rows, {r['retried']} retried,"
                f" {r['counts']}; per file job {r['run_ms']:.0f} ms claim to result,"
                f" {r['gap_ms']:.0f} ms to the next claim"
            )
        print()
        print(f"{'workers':>8} {'files/s':>9} {'ingest s':>9} {'receive s':>10} {'stored s':>9}")
        for r in results:
            print(
                f"{r['workers']:>8} {r['rate']:>9.1f} {r['ingest_s']:>9.1f}"
                f" {r['received_s']:>10.1f} {r['until_stored_s']:>9.1f}"
            )
        print(f"{'floor':>8} {plain:>9.1f}   (plain pydicom dcmread + dcmwrite, one core)")
        by = {r["workers"]: r for r in results}
        if 1 in by and 2 in by:
            ratio = by[2]["rate"] / by[1]["rate"]
            verdict = "meets" if ratio >= 1.6 else "below"
            print(f"2 workers / 1 worker: {ratio:.2f}x ({verdict} the 1.6x goal)")
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
