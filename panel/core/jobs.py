"""Background work on a job queue: Dramatiq over Redis in production, in-process otherwise.

Every piece of slow work is a :class:`~panel.core.models.Job` row, written by :func:`enqueue`
in the transaction that asks for it, and a Dramatiq message that only names the row's id:

* **Enqueued on commit.** The row is part of the caller's transaction; its id is published
  to the queue only after that transaction commits (the session's ``after_commit``), so work
  that was rolled back is never run. A process that dies between the commit and the publish
  leaves a queued row, which :func:`sweep` publishes again.
* **Keyed, so idempotent.** ``key`` is unique: asking twice for the same work returns the first
  row. A worker *claims* a row with one conditional ``UPDATE`` (queued → running); a message
  delivered twice, or to two workers, runs once. The handler's own writes and the row's
  ``done`` commit in one transaction, so a worker killed mid-job leaves nothing half-written:
  the row stays ``running`` until its heartbeat is stale, and :func:`sweep` queues it again.
* **Retries, then the dead-letter list.** A failing job is queued again after a back-off
  (2, 4, 8 ... seconds, at most ten minutes) until ``max_attempts``, then stays ``failed``
  with its error's kind (never the exception's text, which may quote data): the admin page
  lists them and can retry them.

Three modes (``JOBS_MODE``, derived from the configuration when unset):

* ``broker``: ``PANEL_QUEUE_URL`` or ``PANEL_REDIS_URL`` is set. The web processes only
  publish; ``flask --app panel worker`` (any number, on any machine sharing the database, the
  storage and Redis) runs the jobs and the schedule.
* ``inprocess``: neither is set (``make run``): Dramatiq's in-memory broker and a worker
  thread in the web process, so uploads still show progress without any server.
* ``eager``: the tests' default: jobs run in the caller's thread as soon as its commit returns,
  in the order asked, so a test sees their effect without waiting.

Handlers register with :func:`handler` and take the job row (``fn(job) -> dict | None``: the
small, non-clinical result shown by the API). They run inside an application context with
``db.session``; the runner commits.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, false, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from panel.core.db import db, utcnow
from panel.core.models import Job

log = logging.getLogger(__name__)

QUEUE_NAME = "panel"
ACTOR_NAME = "panel_job"
MAX_BACKOFF = timedelta(minutes=10)
_PENDING = "panel_jobs_pending"  # session.info: ids added in the open transaction
_READY = "panel_jobs_ready"  # session.info: ids committed, waiting to run (eager mode)
_AFTER = "panel_jobs_after"  # session.info: the running job's after-commit clean-ups


class JobError(Exception):
    """A failure whose message Panel wrote itself (no data in it): kept on the row as is."""


@dataclass(frozen=True)
class Handler:
    kind: str
    fn: Callable[[Job], dict[str, Any] | None]
    max_attempts: int


_HANDLERS: dict[str, Handler] = {}


def handler(kind: str, *, max_attempts: int = 5):
    """Register ``fn(job)`` as the handler of jobs of ``kind`` (once per process)."""

    def register(fn):
        _HANDLERS[kind] = Handler(kind, fn, max_attempts)
        return fn

    return register


_GROUP_DONE: dict[str, Callable[[Job], None]] = {}


def on_group_done(name: str):
    """Register ``fn(group_job)``: called in the transaction of the child job that finishes a
    group whose payload names it (``{"on_done": name}``), so it runs exactly once per closing
    (e.g. an upload's summary and audit entry once its last file is done)."""

    def register(fn):
        _GROUP_DONE[name] = fn
        return fn

    return register


_ACCESS: list[Callable[[Job, Any], bool | None]] = []


def access_rule(fn: Callable[[Job, Any], bool | None]):
    """Register ``fn(group_job, user) -> True/False`` for the group jobs a domain owns, or
    None for the others (``Job.can_view`` asks each in turn)."""
    _ACCESS.append(fn)
    return fn


def access_rules() -> list[Callable[[Job, Any], bool | None]]:
    return list(_ACCESS)


def after_commit(fn: Callable[[], None]) -> None:
    """Run ``fn`` once the running job's transaction has committed (e.g. remove an input file
    only when what was made of it is safely recorded). Not run when the job fails and rolls
    back; errors in ``fn`` are logged, never raised."""
    db.session.info.setdefault(_AFTER, []).append(fn)


def _commit_and_after() -> None:
    db.session.commit()
    for fn in db.session.info.pop(_AFTER, []):
        try:
            fn()
        except Exception:  # noqa: BLE001 - clean-up only; the purge catches what is left
            log.warning("a job's after-commit clean-up failed", exc_info=False)


def handlers() -> dict[str, Handler]:
    return dict(_HANDLERS)


# --------------------------------------------------------------------------- mode and broker
def queue_url(config: dict[str, Any]) -> str | None:
    return config.get("QUEUE_URL") or config.get("REDIS_URL") or None


def mode(app: Flask | None = None) -> str:
    app = app or current_app
    return app.extensions["panel_jobs"].mode


class _Queue:
    """The app's broker, its one actor and (in-process mode) its worker thread."""

    def __init__(self, app: Flask, mode: str) -> None:
        self.app = app
        self.mode = mode
        self.broker = None
        self.actor = None
        self._worker = None
        self._lock = threading.Lock()
        if mode in ("broker", "inprocess"):
            self._make_broker()

    def _make_broker(self) -> None:
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker
        from dramatiq.brokers.stub import StubBroker

        if self.mode == "broker":
            cfg = self.app.config
            self.broker = RedisBroker(
                url=queue_url(cfg),
                namespace=cfg.get("JOBS_NAMESPACE", "panel-jobs"),
                heartbeat_timeout=int(cfg.get("JOBS_BROKER_HEARTBEAT_MS", 60_000)),
            )
        else:
            self.broker = StubBroker()
        app = self.app

        def panel_job(job_id: int) -> None:
            with app.app_context():
                run(job_id)

        # Retries are Panel's own (a row queued again with a back-off), so the broker's
        # retry middleware never runs a job twice behind the row's back.
        self.actor = dramatiq.actor(
            panel_job,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=QUEUE_NAME,
            max_retries=0,
            time_limit=int(self.app.config.get("JOBS_TIME_LIMIT_MS", 30 * 60_000)),
        )

    def publish(self, job_id: int, delay_ms: int | None = None) -> None:
        if self.mode == "inprocess":
            self.start_inprocess_worker()
        self.actor.send_with_options(args=(job_id,), delay=delay_ms)

    def start_inprocess_worker(self) -> None:
        import dramatiq

        with self._lock:
            if self._worker is None:
                threads = int(self.app.config.get("JOBS_INPROCESS_THREADS", 2))
                self._worker = dramatiq.Worker(self.broker, worker_threads=threads)
                self._worker.start()
                threading.Thread(
                    target=self._housekeeping, name="panel-jobs-sweep", daemon=True
                ).start()

    def _housekeeping(self) -> None:
        """In-process mode: sweep now and then for jobs another process left queued (a command
        that exited before its jobs ran, a web process that was restarted), and ask for the
        schedule's jobs that are due (the daily purge, the hourly reminders, the registry sync)
        as a worker does, unless ``JOBS_INPROCESS_SCHEDULE`` is off."""
        seconds = float(self.app.config.get("JOBS_INPROCESS_SWEEP_SECONDS", 30))
        while self._worker is not None:
            try:
                with self.app.app_context():
                    keep_alive()
                    sweep()
                    if self.app.config.get("JOBS_INPROCESS_SCHEDULE", True):
                        enqueue_due()
            except Exception:  # noqa: BLE001 - housekeeping never stops the worker
                log.warning("in-process job sweep failed", exc_info=True)
            time.sleep(seconds)

    def backlog(self) -> int | None:
        """Messages waiting in the broker's queue (None when it cannot be asked)."""
        try:
            if self.mode == "inprocess":
                return (
                    self.broker.queues[QUEUE_NAME].qsize()
                    if QUEUE_NAME in self.broker.queues
                    else 0
                )
            if self.mode == "broker":
                return int(self.broker.client.llen(f"{self.broker.namespace}:{QUEUE_NAME}"))
        except Exception:  # noqa: BLE001
            return None
        return 0

    def join(self, timeout_ms: int = 60_000) -> None:
        """In-process mode: wait until every published job has run (tests, the CLI)."""
        if self.mode == "inprocess" and self._worker is not None:
            self.broker.join(QUEUE_NAME, timeout=timeout_ms)
            self._worker.join()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None


def init_jobs(app: Flask) -> None:
    """Choose the mode, make the broker; called by :func:`panel.core.init_app`."""
    chosen = app.config.get("JOBS_MODE") or ("broker" if queue_url(app.config) else "inprocess")
    if chosen not in ("broker", "inprocess", "eager"):
        from panel.core.errors import ConfigurationError

        raise ConfigurationError("PANEL_JOBS_MODE must be broker, inprocess or eager.")
    if chosen == "broker" and not queue_url(app.config):
        from panel.core.errors import ConfigurationError

        raise ConfigurationError("PANEL_JOBS_MODE=broker needs PANEL_QUEUE_URL or PANEL_REDIS_URL.")
    app.extensions["panel_jobs"] = q = _Queue(app, chosen)
    if chosen == "inprocess":

        @app.before_request
        def _start_inprocess_worker() -> None:
            # The web process runs the jobs (and sweeps up those other processes left queued)
            # from its first request on, not only from its first publish.
            if q._worker is None:
                q.start_inprocess_worker()


def queue(app: Flask | None = None) -> _Queue:
    return (app or current_app).extensions["panel_jobs"]


# --------------------------------------------------------------------------- enqueue
def enqueue(
    kind: str,
    key: str,
    payload: dict[str, Any] | None = None,
    *,
    parent: Job | None = None,
    case_id: int | None = None,
    user_id: int | None = None,
    total: int = 0,
    delay: timedelta | None = None,
) -> Job:
    """Ask for ``kind`` work in the current transaction; published when it commits.

    ``key`` names the work (e.g. ``"mail:812"``, ``"deid:upload:55:file:3"``): a second call
    with the same key returns the first job, whatever its state. ``payload`` holds ids and
    flags only (it is stored and shown to admins)."""
    if kind not in _HANDLERS and kind != "group":
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    existing = db.session.scalar(select(Job).where(Job.key == key))
    if existing is not None:
        _republish_if_stale(existing)
        return existing
    spec = _HANDLERS.get(kind)
    job = Job(
        key=key,
        kind=kind,
        payload=payload or {},
        state="queued" if kind != "group" else "running",
        parent_id=parent.id if parent is not None else None,
        case_id=case_id if case_id is not None else (parent.case_id if parent else None),
        created_by_id=user_id,
        max_attempts=spec.max_attempts if spec else 1,
        run_after=utcnow() + (delay or timedelta(0)),
        total=total,
    )
    if kind == "group" and total == 0:
        job.state, job.finished_at = "done", utcnow()
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:  # the same key, asked for at the same moment by another process
        job = db.session.scalar(select(Job).where(Job.key == key))
        if job is None:
            raise
        return job
    if kind != "group":
        db.session.info.setdefault(_PENDING, []).append(
            (job.id, int(delay.total_seconds() * 1000) if delay else None)
        )
    return job


def enqueue_many(
    kind: str,
    items: list[tuple[str, dict[str, Any]]],
    *,
    parent: Job | None = None,
    user_id: int | None = None,
) -> list[int]:
    """Ask for many new jobs of ``kind`` at once (``(key, payload)`` pairs) in one INSERT: an
    upload of 2,000 files asks for 2,000 jobs. The keys must be new (e.g. they name a row this
    transaction created); a clash raises, as it would be a bug. Published on commit."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    if not items:
        return []
    spec = _HANDLERS[kind]
    now = utcnow()
    rows = [
        {
            "key": key,
            "kind": kind,
            "payload": payload,
            "state": "queued",
            "parent_id": parent.id if parent is not None else None,
            "case_id": parent.case_id if parent is not None else None,
            "created_by_id": user_id,
            "attempts": 0,
            "max_attempts": spec.max_attempts,
            "run_after": now,
            "created_at": now,
            "done": 0,
            "failed": 0,
            "total": 0,
        }
        for key, payload in items
    ]
    ids: list[int] = []
    for start in range(0, len(rows), 500):
        ids.extend(
            db.session.scalars(
                insert(Job).returning(Job.id, sort_by_parameter_order=True),
                rows[start : start + 500],
            ).all()
        )
    db.session.info.setdefault(_PENDING, []).extend((jid, None) for jid in ids)
    return ids


def _republish_if_stale(job: Job) -> None:
    """Asked again for a job that has waited unclaimed for a while (the process that asked first
    may have died before publishing it, or, in-process, with its queue): publish it again after
    this commit. A copy delivered twice is claimed once."""
    if job.state != "queued" or job.kind == "group":
        return
    now = utcnow()
    older = now - timedelta(seconds=int(current_app.config.get("JOBS_REPUBLISH_SECONDS", 60)))
    last = job.published_at or job.created_at
    if job.run_after <= now and last is not None and last <= older:
        job.published_at = now
        db.session.info.setdefault(_PENDING, []).append((job.id, None))


def group(
    key: str,
    *,
    total: int,
    case_id: int | None = None,
    user_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Job:
    """A job that only counts its children (e.g. one upload's files): done when all are.
    ``payload={"on_done": name}`` calls the :func:`on_group_done` hook ``name`` then."""
    return enqueue("group", key, payload, case_id=case_id, user_id=user_id, total=total)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released (SQLAlchemy says so too): nothing is committed yet
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        q = current_app.extensions.get("panel_jobs")
    except RuntimeError:  # no application context: nothing can have been enqueued
        return
    if q is None:
        return
    if q.mode == "eager":
        session.info.setdefault(_READY, []).extend(jid for jid, _delay in pending)
        return
    for job_id, delay_ms in pending:
        try:
            q.publish(job_id, delay_ms)
        except Exception:  # noqa: BLE001 - the sweep publishes it again
            log.warning("job %s could not be published now; the sweep will", job_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the outer transaction's jobs still stand
    session.info.pop(_PENDING, None)


def run_ready() -> int:
    """Eager mode: run the jobs whose transaction has committed, in order (and those they
    ask for). Called when a commit returns (``panel.core.db`` commits through it)."""
    session = db.session()
    if session.info.get("panel_jobs_running"):
        return 0  # the outer call's loop runs what this commit made ready
    ran = 0
    session.info["panel_jobs_running"] = True
    try:
        while session.info.get(_READY):
            job_id = session.info[_READY].pop(0)
            run(job_id)
            ran += 1
    finally:
        session.info.pop("panel_jobs_running", None)
    return ran


# --------------------------------------------------------------------------- running
def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def _stale_after() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("JOBS_STALE_SECONDS", 300)))


def claim(job_id: int) -> bool:
    """Take the job (queued and due, or running with a stale heartbeat) for this worker, in
    one conditional UPDATE that only one process can win; committed at once, so the attempt
    counts even if the process dies."""
    now = utcnow()
    res = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.kind != "group",
            (
                (Job.state == "queued") & (Job.run_after <= now)
                | ((Job.state == "running") & (Job.heartbeat_at < now - _stale_after()))
            ),
        )
        .values(
            state="running",
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            worker=worker_name(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return res.rowcount == 1


def sa_true(flag: bool):
    return true() if flag else false()


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


def run(job_id: int) -> str:
    """Claim and run one job; returns what happened (``ran``, ``skipped``, ``retry``,
    ``failed``). Never raises for the handler's failure: it is recorded on the row."""
    if not claim(job_id):
        return "skipped"
    job = db.session.get(Job, job_id, populate_existing=True)  # one SELECT, as claimed
    mine = (job.worker, job.attempts)  # this attempt's claim
    spec = _HANDLERS.get(job.kind)
    try:
        if spec is None:
            raise JobError(f"no handler for jobs of kind {job.kind}")
        result = spec.fn(job)
        if not _still_mine(job_id, mine):
            db.session.rollback()
            db.session.info.pop(_AFTER, None)
            log.warning("job %s was taken over by another worker: this attempt is dropped", job_id)
            return "lost"
        job.state = "done"
        job.finished_at = utcnow()
        job.result = result or {}
        job.last_error = None
        _count_in_parent(job, failed=False)
        _commit_and_after()
        return "ran"
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        db.session.rollback()
        db.session.info.pop(_AFTER, None)
        return _failed(job_id, exc, mine)


def _still_mine(job_id: int, mine: tuple[str | None, int]) -> bool:
    """Whether this attempt still holds the job: running, claimed by this worker thread, with
    the attempt number the claim gave it. Another worker takes a job over when its heartbeat
    is stale (its process silent, or hung); the attempt that lost it then writes nothing, so a
    file is never stored, a group never counted and an audit entry never written twice. The row
    stays locked (PostgreSQL) until this transaction ends, so no claim can slip in between."""
    row = db.session.execute(
        select(Job.state, Job.worker, Job.attempts).where(Job.id == job_id).with_for_update()
    ).one_or_none()
    return row is not None and row.state == "running" and (row.worker, row.attempts) == mine


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, JobError):
        return str(exc)[:300]
    return f"{type(exc).__name__} (details are in the worker's log)"


def _failed(job_id: int, exc: BaseException, mine: tuple[str | None, int] | None = None) -> str:
    # Where it failed (files and lines), never the exception's text: it may quote the data.
    where = "" if isinstance(exc, JobError) else "".join(traceback.format_tb(exc.__traceback__))
    log.warning("job %s failed: %s\n%s", job_id, type(exc).__name__, where)
    if mine is not None and not _still_mine(job_id, mine):
        db.session.rollback()  # another worker runs it now: its outcome is that one's
        return "lost"
    job = db.session.get(Job, job_id)
    if job is None:
        return "failed"
    job.last_error = _error_text(exc)
    if job.attempts < job.max_attempts:
        wait = backoff(job.attempts)
        job.state = "queued"
        job.run_after = utcnow() + wait
        db.session.commit()
        q = queue()
        if q.mode == "eager":
            db.session.info.setdefault(_READY, [])  # eager retries at once, without waiting
            job.run_after = utcnow()
            db.session.commit()
            db.session.info[_READY].append(job_id)
        else:
            try:
                q.publish(job_id, int(wait.total_seconds() * 1000))
            except Exception:  # noqa: BLE001 - the sweep publishes it again
                log.warning("job %s could not be re-published; the sweep will", job_id)
        return "retry"
    job.state = "failed"
    job.finished_at = utcnow()
    try:
        _count_in_parent(job, failed=True)
        _commit_and_after()
    except Exception as hook_exc:  # noqa: BLE001 - the group's hook failed: count it anyway
        db.session.rollback()
        db.session.info.pop(_AFTER, None)
        log.warning("job %s: closing its group failed: %s", job_id, type(hook_exc).__name__)
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = "failed", utcnow()
        _count_in_parent(job, failed=True, hooks=False)
        db.session.commit()
    return "failed"


def _count_in_parent(job: Job, *, failed: bool, hooks: bool = True) -> None:
    """One child finished: count it in its group, atomically, and close the group when all
    have (a single UPDATE, so two workers finishing at once both count)."""
    if job.parent_id is None:
        return
    column = Job.failed if failed else Job.done
    counted = db.session.execute(
        update(Job)
        .where(Job.id == job.parent_id)
        .values({column: column + 1})
        .returning(Job.done, Job.failed, Job.total, Job.state)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if counted is None or counted.done + counted.failed < counted.total:
        return  # not the last (the row stays locked until this commit: the counts are exact)
    if counted.state != "running":
        return
    closed = db.session.execute(
        update(Job)
        .where(Job.id == job.parent_id, Job.done + Job.failed >= Job.total, Job.state == "running")
        .values(state="done", finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount == 1 and hooks:  # this transaction closed the group: only one can
        parent = db.session.get(Job, job.parent_id)
        db.session.refresh(parent)
        hook = _GROUP_DONE.get((parent.payload or {}).get("on_done", ""))
        if hook is not None:
            hook(parent)


def heartbeat(job: Job) -> None:
    """A long handler says it is alive (and keeps its claim)."""
    db.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def keep_alive() -> int:
    """Refresh the heartbeat of every job this process is running (the worker's housekeeping
    calls it every few seconds): a job's heartbeat then goes stale only when its process is
    gone or silent, however long the job itself takes. Rows locked by their own job's commit
    are skipped (they are about to be done). Committed; returns how many were refreshed."""
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    mine = (
        select(Job.id)
        .where(Job.state == "running", Job.worker.startswith(prefix, autoescape=True))
        .with_for_update(skip_locked=True)
    )
    res = db.session.execute(
        update(Job)
        .where(Job.id.in_(mine))
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return res.rowcount or 0


# --------------------------------------------------------------------------- sweeping
def sweep(*, older_than: timedelta | None = None) -> int:
    """Publish again what may have been lost: queued jobs that are due but were not claimed
    for ``older_than`` (a publish lost with its process), and running jobs whose heartbeat is
    stale (a worker killed mid-job). Returns how many were published."""
    q = queue()
    if q.mode == "eager":
        return 0
    now = utcnow()
    lost_possible = q.backlog() == 0  # with messages waiting, a queued job is not lost
    older_than = older_than or timedelta(
        seconds=int(current_app.config.get("JOBS_REPUBLISH_SECONDS", 60))
    )
    ids = db.session.scalars(
        select(Job.id)
        .where(
            Job.kind != "group",
            (
                (Job.state == "queued")
                & (Job.run_after <= now - older_than)
                & (Job.created_at <= now - older_than)
                & ((Job.published_at.is_(None)) | (Job.published_at <= now - older_than))
                & sa_true(lost_possible)
            )
            | ((Job.state == "running") & (Job.heartbeat_at < now - _stale_after())),
        )
        .order_by(Job.id)
        .limit(1000)
    ).all()
    if ids:
        db.session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(published_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    for job_id in ids:
        q.publish(job_id)
    return len(ids)


def retry_failed(job: Job) -> None:
    """An admin asks for a failed job to run again (its attempts start afresh)."""
    if job.state != "failed":
        raise JobError("Only a failed job can be retried.")
    job.state = "queued"
    job.attempts = 0
    job.run_after = utcnow()
    job.finished_at = None
    if job.parent_id is not None:
        db.session.execute(
            update(Job)
            .where(Job.id == job.parent_id)
            .values(failed=Job.failed - 1, state="running", finished_at=None)
            .execution_options(synchronize_session=False)
        )
    db.session.info.setdefault(_PENDING, []).append((job.id, None))


# --------------------------------------------------------------------------- the schedule
_SCHEDULE: dict[str, timedelta] = {}


def every(kind: str, period: timedelta) -> None:
    """Run jobs of ``kind`` once per ``period`` (the workers' scheduler asks for them)."""
    _SCHEDULE[kind] = period


def schedule() -> dict[str, timedelta]:
    return dict(_SCHEDULE)


def scheduled_off(app: Flask | None = None) -> set[str]:
    """The scheduled kinds this deployment does not run (``PANEL_JOBS_SCHEDULE_OFF``, a comma
    list; e.g. ``trials.sync`` where the registries cannot be reached)."""
    value = (app or current_app).config.get("JOBS_SCHEDULE_OFF") or ""
    if isinstance(value, str):
        value = value.split(",")
    return {v.strip() for v in value if v and v.strip()}


def enqueue_due(now=None) -> list[Job]:
    """Ask for each scheduled kind's job of the current period. The key names the period, so
    however many workers (on however many machines) ask, each period's job exists once."""
    now = now or utcnow()
    made = []
    off = scheduled_off()
    for kind, period in sorted(_SCHEDULE.items()):
        if kind in off:
            continue
        slot = int(now.timestamp() // period.total_seconds())
        made.append(enqueue(kind, f"{kind}@{slot}", {"slot": slot}))
    db.session.commit()
    return made


# --------------------------------------------------------------------------- health
def worker_heartbeat(name: str, ttl_seconds: int) -> None:
    """A worker says it is alive (a Redis key that expires)."""
    q = queue()
    if q.mode == "broker":
        q.broker.client.set(
            f"{q.broker.namespace}:workers:{name}", utcnow().isoformat(), ex=ttl_seconds
        )


def _newest_heartbeat_age(q: _Queue, keys: list) -> float | None:
    """Seconds since the newest worker heartbeat (None: no worker has one)."""
    from datetime import datetime

    stamps = []
    for value in q.broker.client.mget(keys) if keys else []:
        if value:
            try:
                stamps.append(datetime.fromisoformat(value.decode()))
            except ValueError:
                continue
    if not stamps:
        return None
    return round(max(0.0, (utcnow() - max(stamps)).total_seconds()), 1)


def worker_problem(state: dict[str, Any]) -> str | None:
    """Why background work is not being done (broker mode), for ``/healthz``: no broker, no
    worker alive, or the newest heartbeat older than ``JOBS_WORKER_STALE_SECONDS``."""
    if state["mode"] != "broker":
        return None
    if state["broker"] != "ok":
        return "broker unreachable"
    if not state["workers"]:
        return "no worker"
    age = state.get("heartbeat_age_seconds")
    if age is None or age > int(current_app.config.get("JOBS_WORKER_STALE_SECONDS", 60)):
        return "worker heartbeat stale"
    return None


def health() -> dict[str, Any]:
    """The queue's part of ``/healthz``: the mode, the broker, the live workers (by their
    heartbeats) and, in broker mode, the age of the newest heartbeat. No data about any case."""
    q = queue()
    out: dict[str, Any] = {"mode": q.mode}
    if q.mode == "broker":
        try:
            q.broker.client.ping()
            out["broker"] = "ok"
            keys = list(q.broker.client.scan_iter(f"{q.broker.namespace}:workers:*", count=100))
            out["workers"] = len(keys)
            out["heartbeat_age_seconds"] = _newest_heartbeat_age(q, keys)
        except Exception:  # noqa: BLE001 - any failure means the broker is unreachable
            out["broker"] = "unreachable"
            out["workers"] = None
            out["heartbeat_age_seconds"] = None
    else:
        out["broker"] = "in-process"
        out["workers"] = 1 if q.mode == "inprocess" else 0
    return out
