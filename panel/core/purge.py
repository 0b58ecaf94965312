"""``core.purge``: the scheduled clean-up of what nothing needs any more (daily).

Each domain registers what it owns with :func:`purger` (``fn(now) -> int``: rows or files
removed), so this module knows no other package's tables:

* ``temp_files`` (here): files in the storage's ``tmp/`` folder (uploads being received, packs
  and exports being built) older than ``PURGE_TEMP_HOURS`` (24): what a killed process left;
* ``family_sessions`` (feedback): ended or expired family sign-ins;
* ``finished_jobs`` (here): job rows done more than ``PURGE_JOBS_DAYS`` (30) ago;
* ``password_reset_tokens`` and ``api_tokens`` (accounts): used or expired links; revoked or
  expired API tokens after ``PURGE_API_TOKENS_DAYS`` on the account page.

The job writes one ``core.purged`` audit entry with the counts only (nothing about whose rows
they were). Running it twice removes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from panel.core import audit, jobs
from panel.core.db import utcnow
from panel.core.models import Job

PURGE = "core.purge"
PURGE_EVERY = timedelta(days=1)

_PURGERS: dict[str, Callable[[datetime], int]] = {}


def purger(name: str):
    """Register ``fn(now) -> int`` as the purge of ``name`` (flushes, never commits)."""

    def register(fn):
        _PURGERS[name] = fn
        return fn

    return register


def temp_age() -> timedelta:
    return timedelta(hours=int(current_app.config.get("PURGE_TEMP_HOURS", 24)))


@purger("temp_files")
def purge_temp_files(now: datetime) -> int:
    """Remove files in the storage's ``tmp/`` folder not touched for a day (by their mtime)."""
    from panel.core.storage import get_storage

    tmp = get_storage().tmp
    cutoff = (now - temp_age()).timestamp()
    removed = 0
    if not tmp.is_dir():
        return 0
    for path in tmp.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # removed by its owner meanwhile
            continue
    return removed


@purger("finished_jobs")
def purge_finished_jobs(now: datetime) -> int:
    """Remove job rows done more than ``PURGE_JOBS_DAYS`` (30) ago: one per e-mail, PDF and
    scheduled run would otherwise pile up. Failed jobs stay (the dead-letter list) until an
    admin retries them. A PDF whose job row is gone is printed again when next asked for."""
    from sqlalchemy import delete

    from panel.core.db import db

    days = int(current_app.config.get("PURGE_JOBS_DAYS", 30))
    result = db.session.execute(
        delete(Job)
        .where(Job.state == "done", Job.finished_at < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def purge(now: datetime | None = None) -> dict[str, int]:
    """Run every registered purge; the counts by name (flushed, not committed)."""
    now = now or utcnow()
    return {name: int(fn(now)) for name, fn in sorted(_PURGERS.items())}


@jobs.handler(PURGE, max_attempts=3)
def purge_job(job: Job) -> dict[str, Any]:
    counts = purge()
    audit.record("core.purged", object_type="job", object_id=job.id, details=counts)
    return counts


jobs.every(PURGE, PURGE_EVERY)
