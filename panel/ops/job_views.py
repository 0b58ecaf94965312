"""``/admin/jobs``: the background job queue for admins and coordinators.

Who sees what (the simplest rule that holds): **admins** see every job (counts, and the failed
list: the dead-letter list); **coordinators** see the jobs of the cases of the panels they
coordinate, and no job without a case (the schedule's, the registry's). A case job shows its
case reference to the coordinators (who can open the case); admins see the case's panel only.

Nothing clinical is shown: the kind, when, the attempts and ``last_error``, which Panel writes
without any exception text (:func:`panel.core.jobs._error_text`). Retry (POST, CSRF, audited
``job.retried``) puts a failed job back in the queue with its attempts afresh.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from panel.accounts.models import Panel
from panel.cases.models import Case
from panel.core import audit, jobs
from panel.core.auth import roles_required, signed_in_user
from panel.core.db import db
from panel.core.models import Job
from panel.core.views import COORDINATOR, home_section

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

FAILED_ROWS = 200
STATES = ("queued", "running", "failed")


def _visible(stmt, user):
    """``stmt`` over Job narrowed to what ``user`` may see."""
    if user.is_admin:
        return stmt
    panels = list(user.panel_ids(COORDINATOR))
    return stmt.where(Job.case_id.in_(select(Case.id).where(Case.panel_id.in_(panels))))


@home_section
def _home_failed_jobs(user) -> dict:
    """The home page's link to this page: failed jobs the user may see (admins, coordinators)."""
    if not (user.is_admin or user.is_coordinator):
        return {}
    failing = db.session.scalar(
        _visible(
            select(func.count()).select_from(Job).where(Job.state == "failed", Job.kind != "group"),
            user,
        )
    )
    return {"jobs_failing": failing or 0}


@bp.route("/")
@roles_required("is_coordinator", "is_admin")
def index():
    user = signed_in_user()
    counts = dict(
        db.session.execute(
            _visible(
                select(Job.state, func.count()).where(Job.kind != "group", Job.state.in_(STATES)),
                user,
            ).group_by(Job.state)
        ).all()
    )
    failed = db.session.execute(
        _visible(
            select(Job, Case.reference, Case.panel_id, Panel.code)
            .outerjoin(Case, Case.id == Job.case_id)
            .outerjoin(Panel, Panel.id == Case.panel_id)
            .where(Job.state == "failed", Job.kind != "group"),
            user,
        )
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(FAILED_ROWS)
    ).all()
    coordinated = set(user.panel_ids(COORDINATOR))
    rows = [
        {
            "job": job,
            "case_ref": ref if panel_id in coordinated else None,
            "panel": panel_code,
        }
        for job, ref, panel_id, panel_code in failed
    ]
    return render_template(
        "ops/jobs.html",
        counts={s: counts.get(s, 0) for s in STATES},
        rows=rows,
        queue=jobs.health(),
    )


@bp.route("/retry", methods=["POST"])
@roles_required("is_coordinator", "is_admin")
def retry():
    user = signed_in_user()
    try:
        job_id = int(request.form.get("job_id", ""))
    except ValueError:
        abort(400)
    job = db.session.scalar(_visible(select(Job).where(Job.id == job_id), user))
    if job is None:
        abort(404)
    if job.state != "failed":
        flash("That job is no longer failed: nothing to retry.", "info")
        return redirect(url_for("jobs.index"))
    jobs.retry_failed(job)
    audit.record(
        "job.retried",
        object_type="job",
        object_id=job.id,
        actor=user,
        details={"kind": job.kind},
    )
    db.session.commit()
    flash("The job is queued again.", "success")
    return redirect(url_for("jobs.index"))
