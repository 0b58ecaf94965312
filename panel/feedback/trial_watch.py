"""Suggested trials that stop recruiting while their recommendation is still open.

``trials`` sits below ``feedback`` and never imports it: when a trial that was recruiting
stops (its status leaves ``open`` through ``registry.save_trial``: the sync, the editor, "mark
checked", ``load-trials``; or the sync finds none of its sites recruiting), the registry sends
``core.signals.trial_stopped_recruiting`` and :func:`on_trial_stopped` (connected by
``feedback.init_app`` for its app) flags every **open** recommendation that suggests it:

* a notification (bell and e-mail) to the coordinators and chairs of the case's panel, once
  per person even when they hold both roles, with no clinical text: "A trial suggested for
  case NAP-2026-0001 is no longer recruiting", linking to the record;
* an audit entry (``recommendation.trial_closed``) and a timeline entry for the panel
  (``suggested_trial_closed``), in the same transaction as the status change.

Open means the case is still on its way: a draft record (case *discussed* or
*recommendation*), an approved record not yet sent (*recommendation*), and an approved record
whose letters were sent while the case is not closed (*feedback sent*): the referring team may
be arranging the referral the letter suggested, and the panel can amend the advice (the
referrer is told of an amendment after sending). A closed or withdrawn case is left alone.

The flag shown on the record and the case page (:func:`stopped_trials`) is computed from the
live registry on each view: "NANT-LORLATINIB, suggested here, closed on 5 Dec 2026
(ClinicalTrials.gov NCT03107988)". It goes away when the trial reopens or is removed from the
record (a draft cannot be saved with it; an approved record is amended).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.accounts.models import PanelRoleKind
from panel.accounts.queries import panel_people
from panel.cases.models import Case, CaseStatus
from panel.cases.timeline import PANEL_ONLY, record_event
from panel.core import audit, uktime
from panel.core.db import db
from panel.core.notify import notify
from panel.core.web import path_for
from panel.feedback.models import Recommendation, RecommendationTrial

#: The case states in which a recommendation is open (see the module docstring).
OPEN_STATES = (CaseStatus.DISCUSSED, CaseStatus.RECOMMENDATION, CaseStatus.FEEDBACK_SENT)

#: How the flag says what happened, by the status the matcher sees now.
STOPPED_WORDS = {
    "closed": "closed on {date}",
    "suspended": "suspended on {date}",
    "not_yet_open": "not recruiting since {date}",
    "unknown": "status unknown since {date}",
}
NO_SITE = "no longer recruiting at any of its sites since {date}"

NOTICE_KIND = "recommendation.trial_closed"
EVENT_KIND = "suggested_trial_closed"


def is_open(rec: Recommendation) -> bool:
    """Whether ``rec`` is an open recommendation (its case in :data:`OPEN_STATES`)."""
    return rec.case.status in OPEN_STATES


def open_records_suggesting(code: str) -> list[Recommendation]:
    """The open recommendations whose trials include ``code`` (one query, by the narrow
    ``recommendation_trials`` rows kept in step with each record's frozen list)."""
    return list(
        db.session.scalars(
            select(Recommendation)
            .join(RecommendationTrial, RecommendationTrial.recommendation_id == Recommendation.id)
            .join(Case, Case.id == Recommendation.case_id)
            .where(RecommendationTrial.code == code, Case.status.in_(OPEN_STATES))
            .options(joinedload(Recommendation.case).joinedload(Case.panel))
            .order_by(Recommendation.id)
        ).unique()
    )


def _when(trial: Any) -> date | datetime | None:
    """The day Panel learned that ``trial`` stopped: the last saved change of its status
    (``TrialChange``); for an open trial none of whose sites recruits, the sync that found
    it; else the day its status was checked, or saved."""
    from panel.trials.models import TrialChange

    if trial.status.value == "open" and trial.status_fetched_at is not None:
        return trial.status_fetched_at
    changes = db.session.execute(
        select(TrialChange.at, TrialChange.diff)
        .where(TrialChange.trial_id == trial.id)
        .order_by(TrialChange.version.desc())
        .limit(50)
    ).all()
    for at, diff in changes:
        if isinstance(diff, dict) and ("status" in diff or diff.get("created")):
            return at
    return trial.status_verified_on or trial.updated_at


def flag_text(trial: Any, status: str) -> str:
    """ "NANT-LORLATINIB, suggested here, closed on 5 Dec 2026 (ClinicalTrials.gov
    NCT03107988)": ``status`` is what the matcher sees (``Trial.match_record``)."""
    day = uktime.uk_date(_when(trial)) or "an unrecorded date"
    if status == "closed" and trial.status.value == "open":
        words = NO_SITE.format(date=day)
    else:
        words = STOPPED_WORDS.get(status, "not recruiting since {date}").format(date=day)
    source = trial.status_source or "no source recorded"
    return f"{trial.code}, suggested here, {words} ({source})"


def stopped_trials(rec: Recommendation | None) -> list[dict[str, Any]]:
    """The suggested trials of an open ``rec`` that the live registry says are not recruiting
    now, each with the flag's words (one query; none for a closed case or an empty record)."""
    from panel.trials.models import Trial

    if rec is None or not is_open(rec):
        return []
    codes = [str(t.get("code") or t.get("trial_id") or "") for t in rec.trials or []]
    codes = [c for c in codes if c]
    if not codes:
        return []
    live = {t.code: t for t in db.session.scalars(select(Trial).where(Trial.code.in_(codes)))}
    out = []
    for code in codes:
        trial = live.get(code)
        if trial is None:
            out.append(
                {
                    "code": code,
                    "status": None,
                    "text": f"{code}, suggested here, is no longer in the trial registry",
                }
            )
            continue
        status = trial.match_record()["status"]
        if status != "open":
            out.append({"code": code, "status": status, "text": flag_text(trial, status)})
    return out


def flag_record(
    rec: Recommendation, trial: Any, status: str, *, by: Any, actor_label: str | None
) -> None:
    """Tell the panel's coordinators and chairs, audit and add a timeline entry for one open
    record that suggests ``trial``, which has just stopped recruiting."""
    case = rec.case
    text = flag_text(trial, status)
    audit.record(
        NOTICE_KIND,
        obj=rec,
        actor=by,
        actor_label=None if by is not None else (actor_label or "system"),
        details={
            "trial": trial.code,
            "status": status,
            "source": trial.status_source,
            "checked_on": trial.status_verified_on.isoformat()
            if trial.status_verified_on
            else None,
            "record": rec.status.value,
            "sent": case.feedback_sent_at is not None,
        },
    )
    record_event(
        case,
        EVENT_KIND,
        by=by,
        text=text,
        audience=PANEL_ONLY,
        details={"trial": trial.code, "status": status},
    )
    notify(
        panel_people(case.panel_id, PanelRoleKind.COORDINATOR, PanelRoleKind.CHAIR),
        panel_id=case.panel_id,
        kind=NOTICE_KIND,
        text=f"A trial suggested for case {case.reference} is no longer recruiting",
        link=path_for("feedback.record", ref=case.reference, _anchor="trials"),
        case_ref=case.reference,
    )


def on_trial_stopped(
    sender: Any,
    *,
    trial: Any,
    status: str,
    by: Any = None,
    actor_label: str | None = None,
    **_: Any,
) -> None:
    """The receiver of ``core.signals.trial_stopped_recruiting`` (connected for one app)."""
    for rec in open_records_suggesting(trial.code):
        flag_record(rec, trial, status, by=by, actor_label=actor_label)
