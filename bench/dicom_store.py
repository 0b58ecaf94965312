"""Benchmark (issue 19): a CT study sent over DICOM C-STORE by dcmtk's storescu, to a plain
pynetdicom SCP that only writes files and to Panel's DICOM node.

Usage::

    .venv/bin/python bench/dicom_store.py                         # 500 slices of 512 x 512
    .venv/bin/python bench/dicom_store.py --files 100 --size 256  # a quick check

It generates (once; cached under the temporary folder, ``--cache`` to choose) a synthetic axial
CT series of ``--files`` 16-bit slices of ``--size`` x ``--size`` (tests/support/synth.py, about
0.5 MB each at 512), with an Accession Number. Then:

* **baseline**: a plain pynetdicom Storage SCP in its own process (this script with
  ``--plain-scp``: its C-STORE handler writes each data set's bytes to a file and answers
  success) receives the study from one ``storescu`` association; the time is storescu's run;
* **Panel**, for each worker count in ``--workers`` (default ``1,2``): a fresh PostgreSQL
  database (``PANEL_BENCH_DATABASE_URL``, default
  postgresql://postgres@127.0.0.1:5432/panel_bench_dicom), migrated, with a referrer, a case,
  the sender's AE title recorded and an image route of the study's Accession Number; then
  ``flask --app panel dicom-listen`` and N ``flask --app panel worker --threads 1`` processes
  on Redis (``PANEL_BENCH_REDIS_URL``, default redis://127.0.0.1:6379/0, under a namespace of
  its own removed afterwards), as docs/operations.md lays them out. storescu sends the study in
  one association. *receive* is storescu's run (its release includes routing the study: the
  upload and one ``imaging.ingest`` job per file); *stored* is from storescu's start until the
  upload finished (every file de-identified and stored), read from the database.

It prints images/s and MB/s of each, and Panel's receive time over the baseline's. The
machine's load average is printed: other work on it slows every run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _project  # noqa: E402  (the project's root and its tests package first)

_project.setup()

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/panel_bench_dicom"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ACCESSION = "BENCH0001"
SENDER = "BENCH_SCU"
SECRET = "bench-dicom-secret-" + "x" * 30


def sa_url(url: str) -> str:
    return (
        "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the SCP exited at start ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the SCP did not start") from None
            time.sleep(0.1)


# --------------------------------------------------------------------------- the study
def study(cache: Path, files: int, size: int) -> list[Path]:
    """The slices (with the bench's Accession Number), made once per (files, size)."""
    import pydicom

    from tests.support.synth import make_ct_series

    folder = cache / f"dicom-ct-{files}x{size}"
    done = folder / ".done"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        series = make_ct_series(folder, files, size, size, seed=1900)
        for p in series.paths:
            ds = pydicom.dcmread(p)
            ds.AccessionNumber = ACCESSION
            ds.save_as(p)
        done.write_text("ok")
        print(f"  made {files} slices of {size}x{size} in {time.perf_counter() - started:.1f} s")
    return sorted(folder.glob("IM*.dcm"))


def storescu(port: int, called: str, paths: list[Path]) -> float:
    """Send ``paths`` in one association; storescu's run in seconds."""
    exe = shutil.which("storescu")
    if exe is None:
        raise SystemExit("storescu is not installed (Debian package dcmtk)")
    started = time.perf_counter()
    out = subprocess.run(
        [exe, "-aet", SENDER, "-aec", called, "127.0.0.1", str(port), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"storescu failed ({out.returncode}): {out.stderr[-500:]}")
    return took


# --------------------------------------------------------------------------- baseline
def plain_scp(port: int, folder: Path) -> None:
    """A Storage SCP that writes each data set's bytes to a file and answers success."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt

    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 10**9))

    def on_store(event):
        (folder / f"{next(counter)}.dcm").write_bytes(event.encoded_dataset(include_meta=True))
        return 0x0000

    ae = AE(ae_title="PLAIN")
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.maximum_pdu_size = 0
    ae.start_server(("127.0.0.1", port), block=True, evt_handlers=[(evt.EVT_C_STORE, on_store)])


def baseline(paths: list[Path], work: Path) -> float:
    port = free_port()
    out = work / "plain"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--plain-scp", str(port), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        took = storescu(port, "PLAIN", paths)
        received = len(list(out.glob("*.dcm")))
        if received != len(paths):
            raise SystemExit(f"the plain SCP wrote {received} of {len(paths)} files")
        return took
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------- Panel
def prepare(url: str, storage: Path) -> None:
    """A fresh migrated database: a referrer, a submitted case, the sender, the route."""
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(sa_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    from panel.core.db import db
    from panel.imaging import routing
    from panel.imaging.netmodels import DicomSender
    from tests.support.db import make_app, migrate_and_seed
    from tests.support.factories import CaseFactory, UserFactory

    app = make_app(sa_url(url), storage, SECRET_KEY=SECRET)
    migrate_and_seed(app)
    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="Bench Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        db.session.add(
            DicomSender(centre_id=case.referring_centre_id, label="Bench PACS", ae_title=SENDER)
        )
        routing.add_route(case, referrer, "accession_number", ACCESSION)
        db.session.commit()
        db.engine.dispose()


def env_for(url: str, storage: Path, redis_url: str, namespace: str) -> dict:
    return {
        **os.environ,
        "PANEL_ENV": "production",
        "PANEL_DATABASE_URL": sa_url(url),
        "PANEL_SECRET_KEY": SECRET,
        "PANEL_STORAGE_DIR": str(storage),
        "PANEL_SESSION_COOKIE_SECURE": "false",
        "PANEL_REDIS_URL": redis_url,
        "PANEL_JOBS_NAMESPACE": namespace,
        "PANEL_JOBS_SCHEDULE_OFF": "trials.sync",
        "PANEL_BASE_URL": "https://panel.bench.example",
    }


def panel_run(n: int, paths: list[Path], args, work: Path) -> dict:
    import redis
    from sqlalchemy import create_engine, text

    url = os.environ.get("PANEL_BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("PANEL_BENCH_REDIS_URL", DEFAULT_REDIS)
    storage = work / f"storage-{n}"
    shutil.rmtree(storage, ignore_errors=True)
    logs = work / f"logs-{n}"
    logs.mkdir(parents=True, exist_ok=True)
    prepare(url, storage)
    env = env_for(url, storage, redis_url, f"panel-bench-{uuid.uuid4().hex[:8]}")
    port = free_port()
    flask = [sys.executable, "-m", "flask", "--app", "panel"]
    procs = [
        subprocess.Popen(
            [*flask, "worker", "--threads", "1"],
            cwd=ROOT,
            env=env,
            stdout=open(logs / f"worker-{i}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        for i in range(n)
    ]
    node = subprocess.Popen(
        [*flask, "dicom-listen", "--host", "127.0.0.1", "--port", str(port), "--ae-title", "PANEL"],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "node.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis.from_url(redis_url)
    engine = create_engine(sa_url(url))
    try:
        wait_port(port, node)
        deadline = time.monotonic() + 90
        while sum(1 for _ in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}:workers:*")) < n:
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start (logs in {logs})")
            time.sleep(0.2)
        with engine.connect() as conn:
            t0_db = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        received = storescu(port, "PANEL", paths)
        deadline = time.monotonic() + args.timeout
        query = text(
            "SELECT u.finished_at, u.stored_count, u.duplicate_count, u.refused_count,"
            " u.held_count, s.state FROM incoming_studies s"
            " LEFT JOIN uploads u ON u.id = s.upload_id ORDER BY s.id DESC LIMIT 1"
        )
        while True:
            with engine.connect() as conn:
                row = conn.execute(query).one_or_none()
            if row is not None and row.finished_at is not None:
                break
            if row is not None and row.state in ("refused", "quarantined"):
                raise SystemExit(f"the study was {row.state} (logs in {logs})")
            if time.monotonic() > deadline:
                raise SystemExit(f"not stored after {args.timeout} s (logs in {logs})")
            time.sleep(0.5)
        with engine.connect() as conn:
            last = conn.execute(
                text(
                    "SELECT max(f.created_at) FROM stored_files f"
                    " JOIN incoming_studies s ON s.upload_id = f.upload_id"
                )
            ).scalar_one()
            # Per file job: claim to result, and the worker's pause before its next claim.
            run_ms, gap_ms, first = conn.execute(
                text(
                    "WITH j AS (SELECT started_at, finished_at, lag(finished_at) OVER"
                    " (PARTITION BY worker ORDER BY started_at) AS prev"
                    " FROM jobs WHERE kind = 'imaging.ingest' AND state = 'done')"
                    " SELECT avg(extract(epoch FROM finished_at - started_at)) * 1000,"
                    " avg(extract(epoch FROM started_at - prev)) * 1000, min(started_at) FROM j"
                )
            ).one()
    finally:
        engine.dispose()
        for p in [node, *procs]:
            if p.poll() is None:
                p.terminate()
        for p in [node, *procs]:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        for key in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}*"):
            client.delete(key)
        shutil.rmtree(storage, ignore_errors=True)
    return {
        "workers": n,
        "received_s": received,
        "stored_s": (last - t0_db).total_seconds(),
        "stored": row.stored_count,
        "run_ms": float(run_ms or 0),
        "gap_ms": float(gap_ms or 0),
        "ingest_s": (last - first).total_seconds(),
        "other": {
            "duplicate": row.duplicate_count,
            "refused": row.refused_count,
            "held_back": row.held_count,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--size", type=int, default=512, help="rows and columns of each slice")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in turn")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "panel-bench")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait per run")
    parser.add_argument("--plain-scp", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_scp:
        plain_scp(int(args.plain_scp[0]), Path(args.plain_scp[1]))
        return
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    print(f"DICOM C-STORE benchmark: {args.files} CT slices of {args.size}x{args.size}, 16-bit")
    print(f"  cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at start")
    paths = study(args.cache, args.files, args.size)
    mb = sum(p.stat().st_size for p in paths) / 1e6
    work = Path(tempfile.mkdtemp(prefix="panel-bench-dicom-"))
    try:
        plain = baseline(paths, work)
        print(
            f"  baseline (plain pynetdicom SCP writing files): {plain:.1f} s ="
            f" {args.files / plain:.0f} images/s, {mb / plain:.0f} MB/s ({mb:.0f} MB)"
        )
        results = []
        for n in counts:
            r = panel_run(n, paths, args, work)
            results.append(r)
            print(
                f"  Panel, {n} worker(s): received in {r['received_s']:.1f} s"
                f" ({r['received_s'] / plain:.2f}x the baseline), all stored de-identified"
                f" {r['stored_s']:.1f} s after storescu started (ingest {r['ingest_s']:.1f} s ="
                f" {args.files / r['ingest_s']:.1f} images/s); {r['stored']} stored,"
                f" {r['other']}; per file job {r['run_ms']:.0f} ms claim to result,"
                f" {r['gap_ms']:.0f} ms to the next claim"
            )
        print()
        print(
            f"{'':>16} {'receive s':>10} {'images/s':>9} {'MB/s':>6} {'stored s':>9} {'img/s':>7}"
        )
        print(f"{'baseline':>16} {plain:>10.1f} {args.files / plain:>9.0f} {mb / plain:>6.0f}")
        for r in results:
            label = f"Panel {r['workers']} worker(s)"
            print(
                f"{label:>16} {r['received_s']:>10.1f} {args.files / r['received_s']:>9.0f}"
                f" {mb / r['received_s']:>6.0f} {r['stored_s']:>9.1f}"
                f" {args.files / r['stored_s']:>7.1f}"
            )
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
