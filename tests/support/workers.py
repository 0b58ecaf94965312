"""Real worker processes for the job-queue tests: ``flask --app panel worker`` on Redis.

``stack_env(url, storage, redis_url)`` is the environment every process of one deployment
shares (the database, the storage folder, Redis under its own namespace);
``start_workers(env, n)`` starts ``n`` worker processes and waits until each has said it is
alive (its heartbeat in Redis); ``stop_workers`` ends them (SIGTERM, then SIGKILL).
``kill_worker(proc)`` is ``kill -9``; ``start_gunicorn`` and ``wait_http`` run the web tier
beside them (two gunicorn processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from tests.support.db import ROOT

REDIS_URL = os.environ.get("PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except redis.RedisError:
        return False


def stack_env(url: str, storage: Path, *, namespace: str | None = None, **extra: str) -> dict:
    namespace = namespace or f"panel-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PANEL_ENV": "production",
        "PANEL_DATABASE_URL": url,
        "PANEL_SECRET_KEY": "job-queue-test-secret-" + "x" * 20,
        "PANEL_STORAGE_DIR": str(storage),
        "PANEL_SESSION_COOKIE_SECURE": "false",
        "PANEL_REDIS_URL": REDIS_URL,
        "PANEL_JOBS_NAMESPACE": namespace,
        "PANEL_JOBS_STALE_SECONDS": "5",
        "PANEL_JOBS_REPUBLISH_SECONDS": "2",
        "PANEL_BASE_URL": "https://panel.test.example",
        # The registry sync never runs from the schedule in tests (it would fetch from the
        # internet).
        "PANEL_JOBS_SCHEDULE_OFF": "trials.sync",
    }
    env.update(extra)
    return env


def live_workers(env: dict) -> int:
    client = redis.Redis.from_url(env["PANEL_REDIS_URL"])
    return sum(1 for _ in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}:workers:*"))


def start_workers(env: dict, n: int, *, threads: int = 2, log_dir: Path | None = None):
    procs = []
    for i in range(n):
        out = open(log_dir / f"worker-{i}.log", "wb") if log_dir else subprocess.DEVNULL  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "panel",
                    "worker",
                    "--threads",
                    str(threads),
                    "--housekeeping",
                    "0.5",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 60
    while live_workers(env) < n:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a worker exited at start (code {p.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.2)
    return procs


def kill_worker(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def stop_workers(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def clear_namespace(env: dict) -> None:
    client = redis.Redis.from_url(env["PANEL_REDIS_URL"])
    for key in client.scan_iter(f"{env['PANEL_JOBS_NAMESPACE']}*"):
        client.delete(key)


@contextlib.contextmanager
def web_stack(url: str, storage: Path, log_dir: Path, *, n_workers: int = 2):
    """The deployment of docs/operations.md on this machine: ``n_workers`` worker processes
    and gunicorn with two processes on one database, storage folder and Redis namespace.
    Yields ``{"base", "engine", "procs", "env"}``; stops everything and drops the database
    after."""
    from sqlalchemy import create_engine

    from tests.support.db import drop_database
    from tests.support.web import free_port

    env = stack_env(url, storage)
    procs = start_workers(env, n_workers, log_dir=log_dir)
    port = free_port()
    web = start_gunicorn(env, port, log_dir / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    engine = create_engine(url)
    try:
        wait_http(base, web, log_dir / "gunicorn.log")
        yield {"base": base, "engine": engine, "procs": procs, "env": env}
    finally:
        web.terminate()
        web.wait(20)
        stop_workers(procs)
        clear_namespace(env)
        engine.dispose()
        drop_database(url)


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    """gunicorn with two processes on ``port``, as docs/operations.md runs it."""
    env = {**env, "PANEL_BIND": f"127.0.0.1:{port}", "PANEL_WORKERS": "2"}
    env["PANEL_ACCESS_LOG"] = "/dev/null"
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - closed with the process
    )


def wait_http(base: str, proc: subprocess.Popen, log: Path) -> None:
    """Wait until ``base``/healthz answers (the process's log if it died first)."""
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-2000:])
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")
