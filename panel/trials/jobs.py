"""The trial registry's background jobs (imported by ``panel.trials.init_app``, so every web and
worker process has them).

* ``trials.rematch`` (asked for by :func:`panel.trials.registry.ask_for_rematch` when a trial
  opens or its criteria change; key ``trials.rematch:<trial id>:v<version>``): evaluates the
  open cases against the trial as it was before this version and as it is now. A job whose
  trial has a later re-match job, or that is no longer open, does nothing (the later job, or
  the closing, has the last word). Running it twice changes nothing more: the verdicts are
  overwritten and a case has one waiting "newly matching" record per trial.
* ``trials.sync`` (daily, :func:`panel.core.jobs.every`; key ``trials.sync@<day>``): what
  ``flask --app panel sync-trials`` does, from the configured registries. Syncing again
  changes nothing when the registries have not changed.

Results are counts only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from panel.core import jobs
from panel.core.db import db
from panel.core.models import Job

REMATCH = "trials.rematch"
SYNC = "trials.sync"
SYNC_EVERY = timedelta(days=1)


def rematch_key(trial_id: int, version: int) -> str:
    return f"{REMATCH}:{trial_id}:v{version}"


def _later_rematch(trial_id: int, version: int) -> bool:
    prefix = f"{REMATCH}:{trial_id}:v"
    keys = db.session.scalars(select(Job.key).where(Job.key.like(prefix + "%"))).all()
    return any(int(k[len(prefix) :]) > version for k in keys if k[len(prefix) :].isdigit())


@jobs.handler(REMATCH)
def rematch(job: Job) -> dict[str, Any]:
    from panel.trials.models import Trial, TrialChange
    from panel.trials.registry import normalise_record, rematch_after_change

    trial_id, version = int(job.payload["trial_id"]), int(job.payload["version"])
    trial = db.session.get(Trial, trial_id)
    if trial is None:
        return {"skipped": "trial deleted"}
    if _later_rematch(trial_id, version):
        return {"skipped": "a later version is re-matched"}
    after = normalise_record(trial.to_record())
    if after.get("is_study") is True or (after.get("status") or "open") != "open":
        return {"skipped": "not open"}
    before = db.session.scalar(
        select(TrialChange.record)
        .where(TrialChange.trial_id == trial_id, TrialChange.version < version)
        .order_by(TrialChange.version.desc())
        .limit(1)
    )
    created = rematch_after_change(
        trial, before, after, announce=bool(job.payload.get("announce", True))
    )
    from panel.trials.matching import clear_cache

    clear_cache()
    return {"newly_matching": len(created)}


@jobs.handler(SYNC, max_attempts=3)
def sync(job: Job) -> dict[str, Any]:
    from panel.trials import sync as trial_sync
    from panel.trials.matching import clear_cache

    summary = trial_sync.sync_trials(trial_sync.source_from_config(current_app.config))
    clear_cache()
    return {
        "trials": len(summary.results),
        "changed": sum(1 for r in summary.results if r.ok and r.changes),
        "failed": len(summary.failed),
    }


jobs.every(SYNC, SYNC_EVERY)
