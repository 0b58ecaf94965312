"""``outcomes.remind``: the follow-up outcome reminders, hourly on the workers (what
``flask --app panel send-outcome-reminders`` does from cron). Each check is claimed by a
conditional UPDATE on ``reminded_at IS NULL`` (:func:`panel.outcomes.checks.remind`), so a
second run, or two at once, remind nobody twice. The result is counts only (no case
references)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from panel.core import jobs
from panel.core.models import Job

REMIND = "outcomes.remind"
REMIND_EVERY = timedelta(hours=1)


@jobs.handler(REMIND, max_attempts=3)
def remind(job: Job) -> dict[str, Any]:
    from panel.outcomes.checks import send_reminders

    run = send_reminders(commit=False)
    return {
        "reminded": len(run.reminded),
        "people": run.people,
        "backfilled": len(run.scheduled),
        "skipped": run.skipped,
    }


jobs.every(REMIND, REMIND_EVERY)
