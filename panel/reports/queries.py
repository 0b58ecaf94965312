"""Read helpers for the coordinator dashboard and its CSV export.

Each helper is one SQL statement whatever the number of cases; the arithmetic (months,
median, 90th percentile, trial counts) is plain Python on the rows, so it is easy to test.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from panel.accounts.models import Panel
from panel.cases.models import Case, CaseStatus
from panel.core.db import db, utcnow
from panel.core.uktime import UK, to_uk
from panel.feedback.models import (
    FollowUpAction,
    Recommendation,
    RecommendationStatus,
    RecommendationTrial,
)

#: Statuses a coordinator sees (drafts are the referrer's business), in workflow order.
STATUSES = [s for s in CaseStatus if s != CaseStatus.DRAFT]


# --------------------------------------------------------------------------- statistics
def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks (the
    spreadsheet PERCENTILE / numpy "linear" definition); None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return float(data[lo] + (data[hi] - data[lo]) * (pos - lo))


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


# --------------------------------------------------------------------------- panels and status
def coordinator_panels(panel_ids: Iterable[int]) -> list[Panel]:
    ids = sorted(set(panel_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(select(Panel).where(Panel.id.in_(ids)).order_by(Panel.scope, Panel.code))
    )


@dataclass
class StatusRow:
    panel: Panel
    counts: dict[CaseStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cases_by_status(panels: list[Panel]) -> list[StatusRow]:
    """One row per panel: how many submitted cases are in each status."""
    rows = {p.id: StatusRow(p, {s: 0 for s in STATUSES}) for p in panels}
    if not rows:
        return []
    stmt = (
        select(Case.panel_id, Case.status, func.count())
        .where(Case.panel_id.in_(list(rows)), Case.submitted_at.is_not(None))
        .group_by(Case.panel_id, Case.status)
    )
    for panel_id, status, n in db.session.execute(stmt):
        status = CaseStatus(status)
        if status in rows[panel_id].counts:
            rows[panel_id].counts[status] += n
    return list(rows.values())


# --------------------------------------------------------------------------- turnaround
def _month_start(dt: datetime) -> tuple[int, int]:
    """The UK month of a stored instant (UTC; naive counts as UTC): feedback sent at 23:30 UTC
    on 31 March (00:30 BST) belongs to April."""
    local = to_uk(dt)
    return local.year, local.month


def last_months(now: datetime, n: int = 12) -> list[tuple[int, int]]:
    """``n`` (year, month) pairs ending with the UK month of ``now``, oldest first."""
    y, m = _month_start(now)
    out = []
    for _ in range(n):
        out.append((y, m))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


@dataclass
class MonthTurnaround:
    year: int
    month: int
    count: int
    median: float | None
    p90: float | None

    @property
    def label(self) -> str:
        return datetime(self.year, self.month, 1).strftime("%b %Y")

    @property
    def short_label(self) -> str:
        return datetime(self.year, self.month, 1).strftime("%b")


def turnaround_by_month(
    pairs: Iterable[tuple[datetime, datetime]], now: datetime, months: int = 12
) -> list[MonthTurnaround]:
    """Days from submission to feedback sent, grouped by the month feedback was sent (UK time):
    count, median and 90th percentile for each of the last ``months`` months."""
    keys = last_months(now, months)
    buckets: dict[tuple[int, int], list[float]] = {k: [] for k in keys}
    for submitted, sent in pairs:
        if submitted is None or sent is None:
            continue
        key = _month_start(sent)
        if key in buckets:
            buckets[key].append(max(0.0, (sent - submitted).total_seconds() / 86400))
    return [
        MonthTurnaround(y, m, len(v), median(v), percentile(v, 90)) for (y, m), v in buckets.items()
    ]


def turnaround(
    panel_ids: Sequence[int], now: datetime | None = None, months: int = 12
) -> list[MonthTurnaround]:
    now = now or utcnow()
    first_y, first_m = last_months(now, months)[0]
    since = datetime(first_y, first_m, 1, tzinfo=UK).astimezone(now.tzinfo or UTC)
    if now.tzinfo is None:
        since = since.replace(tzinfo=None)
    stmt = select(Case.submitted_at, Case.feedback_sent_at).where(
        Case.panel_id.in_(list(panel_ids)),
        Case.submitted_at.is_not(None),
        Case.feedback_sent_at.is_not(None),
        Case.feedback_sent_at >= since,
    )
    return turnaround_by_month(db.session.execute(stmt).all(), now, months)


# --------------------------------------------------------------------------- chart geometry
@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_max: float
    y_ticks: list[tuple[int, float]]  # (value in ``unit``, y)
    x_labels: list[tuple[float, str, str]]  # (x, short label, full label)
    series: dict[str, list[list[tuple[float, float, str]]]]  # name -> segments of (x, y, title)
    has_data: bool
    unit: str = "days"  # the y axis: "days", or "hours" when every value is under a day


#: Tick steps: whole hours that divide a day, and whole days of 1, 2, 5 x 10^n (and 25s).
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12)
MAX_TICKS = 5  # intervals on the y axis: the labels (11 px) stay apart on the 196 px plot


def _day_steps():
    exp = 1
    while True:
        for step in (1, 2, 5) if exp < 10 else (1, 2, 2.5, 5):
            yield int(step * exp)
        exp *= 10


def axis_scale(max_days: float) -> tuple[str, float, list[int]]:
    """The y axis for a largest value of ``max_days``: its unit ("hours" when every value is
    under a day, else "days"), the factor from days to that unit, and the ticks: whole numbers
    from 0, evenly spaced, at most :data:`MAX_TICKS` intervals, the last at or above the value."""
    if 0 < max_days < 1:
        unit, factor, value = "hours", 24.0, max_days * 24
        steps: Iterable[int] = HOUR_STEPS
    else:
        unit, factor, value = "days", 1.0, max(max_days, 0.0)
        steps = _day_steps()
    for step in steps:
        if math.ceil(value / step - 1e-9) <= MAX_TICKS:
            break
    intervals = max(1, math.ceil(value / step - 1e-9))
    return unit, factor, [step * k for k in range(intervals + 1)]


def _amount(days: float) -> str:
    """A duration for a tooltip: hours under a day ("5 hours"), else days to one decimal."""
    if days < 1:
        hours = round(days * 24)
        return "under an hour" if hours < 1 else f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days:.1f} days"


def turnaround_chart(rows: list[MonthTurnaround], width: int = 720, height: int = 280) -> Chart:
    """Coordinates for a two-series line chart (median, 90th percentile) drawn as SVG in the
    template. Months without feedback break the lines (no invented values). The y axis is in
    whole days (whole hours when every value is under a day): see :func:`axis_scale`."""
    # The left margin holds the tick labels (right-aligned 6 px left of the axis) and, left of
    # them, the rotated unit label at x = 12: room for 4-digit ticks without the two touching.
    left, right, top, bottom = 60, 16, 44, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for r in rows for v in (r.median, r.p90) if v is not None]
    unit, factor, ticks = axis_scale(max(values) if values else 0)
    y_max = ticks[-1]
    n = max(1, len(rows))
    step = plot_w / n

    def x_at(i: int) -> float:
        return round(left + step * (i + 0.5), 1)

    def y_at(v: float) -> float:
        return round(top + plot_h - (v / y_max) * plot_h, 1)

    series: dict[str, list[list[tuple[float, float, str]]]] = {}
    for name in ("median", "p90"):
        segments: list[list[tuple[float, float, str]]] = [[]]
        for i, r in enumerate(rows):
            v = getattr(r, name)
            if v is None:
                if segments[-1]:
                    segments.append([])
                continue
            label = "Median" if name == "median" else "90th percentile"
            segments[-1].append(
                (
                    x_at(i),
                    y_at(v * factor),
                    f"{r.label}: {label} {_amount(v)} ({r.count} case{'s' if r.count != 1 else ''})",
                )
            )
        series[name] = [s for s in segments if s]
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        y_max=y_max,
        y_ticks=[(t, y_at(t)) for t in ticks],
        x_labels=[(x_at(i), r.short_label, r.label) for i, r in enumerate(rows)],
        series=series,
        has_data=bool(values),
        unit=unit,
    )


# --------------------------------------------------------------------------- overdue follow-ups
@dataclass
class Overdue:
    reference: str
    panel_code: str
    description: str
    owner_role: str
    due_at: datetime
    days_overdue: int


def _overdue_where(panel_ids: Sequence[int], now: datetime):
    return (
        Case.panel_id.in_(list(panel_ids)),
        FollowUpAction.due_at.is_not(None),
        FollowUpAction.due_at < now,
        FollowUpAction.done_at.is_(None),
    )


#: Overdue actions listed at once (oldest first); the badge counts all of them.
OVERDUE_LIMIT = 50


def overdue_count(panel_ids: Sequence[int], now: datetime | None = None) -> int:
    now = now or utcnow()
    return (
        db.session.scalar(
            select(func.count(FollowUpAction.id))
            .join(Recommendation, Recommendation.id == FollowUpAction.recommendation_id)
            .join(Case, Case.id == Recommendation.case_id)
            .where(*_overdue_where(panel_ids, now))
        )
        or 0
    )


def overdue_actions(
    panel_ids: Sequence[int], now: datetime | None = None, limit: int | None = OVERDUE_LIMIT
) -> list[Overdue]:
    """Follow-up actions past their due date and not done, oldest first."""
    now = now or utcnow()
    stmt = (
        select(
            Case.reference,
            Panel.code,
            FollowUpAction.description,
            FollowUpAction.owner_role,
            FollowUpAction.due_at,
        )
        .select_from(FollowUpAction)
        .join(Recommendation, Recommendation.id == FollowUpAction.recommendation_id)
        .join(Case, Case.id == Recommendation.case_id)
        .join(Panel, Panel.id == Case.panel_id)
        .where(*_overdue_where(panel_ids, now))
        .order_by(FollowUpAction.due_at, Case.reference)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Overdue(ref, code, desc, role, due, int((now - due).total_seconds() // 86400))
        for ref, code, desc, role, due in db.session.execute(stmt)
    ]


# --------------------------------------------------------------------------- trials suggested
@dataclass
class TrialCount:
    code: str
    title: str
    count: int


def trials_suggested(
    panel_ids: Sequence[int], limit: int = 10, now: datetime | None = None, days: int = 365
) -> list[TrialCount]:
    """Trials suggested most often in the records of these panels approved in the last year."""
    since = (now or utcnow()) - timedelta(days=days)
    if not panel_ids:
        return []
    # Counted from the narrow copy of each record's suggestions (RecommendationTrial).
    stmt = (
        select(
            RecommendationTrial.code,
            func.min(RecommendationTrial.title),
            func.count(func.distinct(RecommendationTrial.recommendation_id)).label("n"),
        )
        .join(Recommendation, Recommendation.id == RecommendationTrial.recommendation_id)
        .join(Case, Case.id == Recommendation.case_id)
        .where(
            Case.panel_id.in_(list(panel_ids)),
            Recommendation.status == RecommendationStatus.APPROVED,
            Recommendation.approved_at >= since,
        )
        .group_by(RecommendationTrial.code)
    )
    counts = [
        TrialCount(code, title or code, int(n)) for code, title, n in db.session.execute(stmt)
    ]
    counts.sort(key=lambda c: (-c.count, c.title.lower()))
    return counts[:limit]


# --------------------------------------------------------------------------- CSV
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    ("reference", "reference"),
    ("panel", "panel"),
    ("status", "status"),
    ("urgency", "urgency"),
    ("submitted_at", "submitted"),
    ("triaged_at", "triaged"),
    ("scheduled_at", "scheduled"),
    ("discussed_at", "discussed"),
    ("approved_at", "approved"),
    ("feedback_sent_at", "feedback_sent"),
    ("family_informed_at", "family_informed"),
    ("closed_at", "closed"),
]


def csv_cell(value: Any) -> str:
    """A cell as text, with a leading apostrophe when a spreadsheet would read it as a
    formula (= + - @, tab or carriage return first)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    elif isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def cases_csv(panel_ids: Sequence[int]) -> str:
    """One row per submitted case of these panels: reference, panel, status, urgency, the
    turnaround timestamps (ISO 8601, UTC) and days to feedback. No clinical free text."""
    stmt = (
        select(
            Case.reference,
            Panel.code,
            Case.status,
            Case.urgency,
            Case.submitted_at,
            Case.triaged_at,
            Case.scheduled_at,
            Case.discussed_at,
            Case.approved_at,
            Case.feedback_sent_at,
            Case.family_informed_at,
            Case.closed_at,
        )
        .join(Panel, Panel.id == Case.panel_id)
        .where(Case.panel_id.in_(list(panel_ids)), Case.submitted_at.is_not(None))
        .order_by(Case.submitted_at, Case.reference)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in CSV_COLUMNS] + ["days_to_feedback"])
    for row in db.session.execute(stmt):
        values = list(row)
        status = values[2]
        values[2] = status.value if isinstance(status, CaseStatus) else status
        submitted, sent = values[4], values[9]
        days = round((sent - submitted).total_seconds() / 86400, 1) if submitted and sent else None
        writer.writerow([csv_cell(v) for v in values] + [csv_cell(days)])
    return out.getvalue()
