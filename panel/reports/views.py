"""The coordinator dashboard, "Trials after the panel" and their CSV exports (the coordinator's
own panels only)."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from panel.accounts.models import PanelRoleKind
from panel.cases.models import STATUS_LABELS
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.uktime import to_uk
from panel.reports import bp, outcomes, queries
from panel.reports.forms import OutcomesFilterForm


def _coordinator_panel_ids() -> list[int]:
    """The panels the user coordinates; 403 for panel members and chairs (they can see the
    panel's work but not this page), 404 for everyone else (admins, referrers)."""
    user = current_user._get_current_object()
    ids = sorted(user.panel_ids(PanelRoleKind.COORDINATOR))
    if not ids:
        abort(403 if user.panel_ids() else 404)
    return ids


@bp.route("/reports")
@login_required
def dashboard():
    panel_ids = _coordinator_panel_ids()
    now = utcnow()
    panels = queries.coordinator_panels(panel_ids)
    status_rows = queries.cases_by_status(panels)
    months = queries.turnaround(panel_ids, now)
    return render_template(
        "reports/dashboard.html",
        panels=panels,
        statuses=queries.STATUSES,
        status_labels=STATUS_LABELS,
        status_rows=status_rows,
        status_totals={s: sum(r.counts[s] for r in status_rows) for s in queries.STATUSES},
        months=months,
        chart=queries.turnaround_chart(months),
        overdue=queries.overdue_actions(panel_ids, now),
        overdue_total=queries.overdue_count(panel_ids, now),
        trials=queries.trials_suggested(panel_ids, now=now),
        now=now,
    )


@bp.route("/reports/cases.csv")
@login_required
def cases_csv():
    panel_ids = _coordinator_panel_ids()
    body = queries.cases_csv(panel_ids)
    audit.record(
        "report.cases_csv",
        object_type="report",
        object_id="cases.csv",
        details={"panel_ids": panel_ids, "rows": max(0, body.count("\r\n") - 1)},
    )
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        "\ufeff" + body,  # a byte-order mark, so spreadsheets read the file as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="panel-cases-{stamp}.csv"'},
    )


# --------------------------------------------------------------------------- trials after the panel
def _outcomes_filter():
    """The viewer's panels, the filter form read from the query string, and, when it is valid,
    the panels and the period chosen (else None, None: the page shows the form's errors)."""
    panels = queries.coordinator_panels(_coordinator_panel_ids())
    form = OutcomesFilterForm(panels, formdata=request.args)
    if not form.validate():
        return panels, form, None, None
    today = to_uk(utcnow()).date()
    return panels, form, form.chosen_panels(panels), form.chosen_period(today)


#: The query-string fields of the filter (``OutcomesFilterForm``).
FILTER_FIELDS = ("period", "start", "end", "panel")


@bp.route("/reports/trials")
@login_required
def trial_outcomes():
    """What happened to the trials the panel suggested: per panel, over a chosen period."""
    panels, form, chosen, period = _outcomes_filter()
    rows = outcomes.trial_outcomes(chosen, period) if period else []
    return render_template(
        "reports/trial_outcomes.html",
        panels=panels,
        form=form,
        period=period,
        rows=rows,
        presets=outcomes.PRESETS,
        # The export link repeats the filter's own fields only (never "_external" and the like).
        filter_args={k: v for k in FILTER_FIELDS if (v := request.args.get(k, ""))},
        reason_keys=[r.key for r in rows[0].reasons] if rows else [],
        now=utcnow(),
    ), (200 if period else 400)


@bp.route("/reports/trials.csv")
@login_required
def trial_outcomes_csv():
    """The same figures as CSV (one row per panel x measure), with the same filter."""
    panels, form, chosen, period = _outcomes_filter()
    if period is None:
        return trial_outcomes()
    body, count = outcomes.outcomes_csv(outcomes.trial_outcomes(chosen, period), period)
    audit.record(
        "report.trial_outcomes_csv",
        object_type="report",
        object_id="trial-outcomes.csv",
        details={
            "panel_ids": [p.id for p in chosen],
            "from": period.start.isoformat() if period.start else None,
            "to": period.end.isoformat(),
            "rows": count,
        },
    )
    db.session.commit()
    name = f"panel-trial-outcomes-{period.slug}.csv"
    return Response(
        "\ufeff" + body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
