"""``flask --app panel worker``: run background jobs from the queue on this machine.

Any number of workers, on any machine that shares the database, the storage folder and Redis
(``PANEL_REDIS_URL`` or ``PANEL_QUEUE_URL``). Each runs Dramatiq's worker threads on Panel's
one queue and, every few seconds, a housekeeping round: its heartbeat (for ``/healthz``), the
heartbeats of the jobs it is running (:func:`panel.core.jobs.keep_alive`: a job is taken over
only when its process is gone), :func:`panel.core.jobs.sweep` (jobs a dead process left behind) and the schedule's due jobs
(keyed per period, so two workers never ask twice).
"""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from panel.core import jobs


def run_worker(app, *, threads: int, housekeeping_seconds: float, stop: threading.Event) -> None:
    import dramatiq

    q = jobs.queue(app)
    worker = dramatiq.Worker(q.broker, worker_threads=threads, queues={jobs.QUEUE_NAME})
    worker.start()
    name = jobs.worker_name()
    try:
        while True:
            with app.app_context():
                try:
                    jobs.worker_heartbeat(name, ttl_seconds=int(housekeeping_seconds * 3) + 1)
                    jobs.keep_alive()  # the heartbeats of the jobs this process runs
                    jobs.sweep()
                    jobs.enqueue_due()
                except Exception:  # noqa: BLE001 - housekeeping must never stop the worker
                    app.logger.exception("worker housekeeping failed")
            if stop.wait(housekeeping_seconds):
                break
    finally:
        worker.stop()


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Jobs run at once by this worker.")
@click.option(
    "--housekeeping",
    default=5.0,
    show_default=True,
    help="Seconds between heartbeats, sweeps and schedule checks.",
)
@with_appcontext
def worker_command(threads: int, housekeeping: float) -> None:
    """Run background jobs (de-identification, PDFs, e-mail, re-matching, sync, reminders,
    purges) from the queue until stopped (Ctrl-C or SIGTERM)."""
    app = current_app._get_current_object()
    if jobs.mode(app) != "broker":
        raise click.ClickException(
            "No queue is configured (PANEL_REDIS_URL or PANEL_QUEUE_URL): jobs run inside the "
            "web process, so no worker is needed."
        )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(
        f"Panel worker {jobs.worker_name()}: {threads} threads on queue '{jobs.QUEUE_NAME}'."
    )
    run_worker(app, threads=threads, housekeeping_seconds=housekeeping, stop=stop)
    click.echo("Panel worker stopped.")
