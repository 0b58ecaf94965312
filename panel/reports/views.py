"""The coordinator dashboard and its CSV export (the coordinator's own panels only)."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user, login_required

from panel.accounts.models import PanelRoleKind
from panel.cases.models import STATUS_LABELS
from panel.core import audit
from panel.core.db import db, utcnow
from panel.reports import bp, queries


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
