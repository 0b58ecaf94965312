"""The dashboard's "Trials after the panel": what happened to the trials the panel suggested.

The figures follow one **cohort** per panel: the cases whose record was approved in the chosen
period (UK dates, both ends included). Everything else is counted over that cohort, whenever it
happened (a case approved in March and enrolled in June counts in a March-to-March period), so
every share has a plain denominator and none exceeds 100%:

====================  ==========================================================================
records approved      cases of the panel whose record was approved in the period (the cohort)
trial suggested       of the cohort: cases whose approved record suggests at least one trial
referred              of those: cases with at least one suggested trial referred to its team
screened              of those: cases with at least one suggested trial screened
enrolled              of those: cases enrolled in at least one suggested trial
screen failures       screen-failed referrals of the cohort, by the reason of the step
advice followed       cohort cases with an answered follow-up check saying yes / partly / no:
                      each case's latest such answer
trials suggested      per trial: cohort cases whose record suggests it (of cases with a trial)
trials enrolled       per trial: cohort cases enrolled in it (of the cases it was suggested to)
====================  ==========================================================================

"Was referred" and "was screened" read the recorded steps as well as the stage reached, so a
trial referred and then declined by the family was still referred, and one screened and then not
pursued was still screened. Enrolled or screen-failed means screened (and referred). A referral
back at ``suggested`` (its steps withdrawn) counts nowhere.

Every figure is one aggregate statement (GROUP BY panel) whatever the number of cases: no loop
over cases in Python. See docs/trials.md, "Dashboard: trials after the panel".
"""

from __future__ import annotations

import calendar
import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, or_, select

from panel.accounts.models import Panel
from panel.cases.models import Case
from panel.core.db import db
from panel.core.uktime import UK
from panel.feedback.models import Recommendation, RecommendationStatus, RecommendationTrial
from panel.outcomes.models import (
    ADVICE_FOLLOWED,
    SCREEN_FAIL_REASONS,
    OutcomeCheck,
    ReferralStage,
    TrialReferral,
    TrialReferralStep,
)
from panel.reports.queries import csv_cell

# --------------------------------------------------------------------------- what counts
#: A referral was referred to the trial team if it reached (or has a step of) one of these.
REFERRED = (
    ReferralStage.REFERRED.value,
    ReferralStage.SCREENED.value,
    ReferralStage.ENROLLED.value,
    ReferralStage.SCREEN_FAILED.value,
)
#: ... screened, if one of these.
SCREENED = (
    ReferralStage.SCREENED.value,
    ReferralStage.ENROLLED.value,
    ReferralStage.SCREEN_FAILED.value,
)
ENROLLED = (ReferralStage.ENROLLED.value,)

#: How many trials the page lists in each "most often" list (the CSV lists them all).
TOP_TRIALS = 10


# --------------------------------------------------------------------------- shares
@dataclass(frozen=True)
class Share:
    """``count`` of ``of``. ``percent`` is None when ``of`` is 0: never a share of no cases."""

    count: int
    of: int

    @property
    def percent(self) -> int | None:
        """Whole percent, halves rounded up (1 of 8 = 13%)."""
        if not self.of:
            return None
        return int(
            (Decimal(100 * self.count) / Decimal(self.of)).quantize(Decimal(1), ROUND_HALF_UP)
        )

    @property
    def percent_1dp(self) -> str:
        """The CSV's share: one decimal, halves up; '' when ``of`` is 0."""
        if not self.of:
            return ""
        value = (Decimal(100 * self.count) / Decimal(self.of)).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )
        return f"{value}"

    @property
    def percent_text(self) -> str:
        return "n/a" if self.percent is None else f"{self.percent}%"

    @property
    def text(self) -> str:
        """``12 of 40, 30%`` (``0 of 0, n/a``)."""
        return f"{self.count} of {self.of}, {self.percent_text}"

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- the period
@dataclass(frozen=True)
class Period:
    """UK dates, both included; ``start`` None = from the beginning."""

    start: date | None
    end: date
    preset: str | None = None  # "3m", "12m", "all" or None (chosen dates)

    def bounds(self) -> tuple[datetime | None, datetime]:
        """The UTC instants [start, end) of the period: UK midnight of ``start`` to UK
        midnight after ``end``."""

        def midnight(day: date) -> datetime:
            return datetime(day.year, day.month, day.day, tzinfo=UK).astimezone(UTC)

        return (
            midnight(self.start) if self.start else None,
            midnight(self.end + timedelta(days=1)),
        )

    @property
    def slug(self) -> str:
        """For file names: ``2026-03-01-to-2026-12-06`` or ``all-to-2026-12-06``."""
        return f"{self.start.isoformat() if self.start else 'all'}-to-{self.end.isoformat()}"


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (that month's last day if shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


PRESETS = {"3m": "Last 3 months", "12m": "Last 12 months", "all": "All time"}


def preset_period(preset: str, today: date) -> Period:
    if preset == "3m":
        return Period(months_before(today, 3), today, "3m")
    if preset == "all":
        return Period(None, today, "all")
    return Period(months_before(today, 12), today, "12m")


# --------------------------------------------------------------------------- the figures
@dataclass
class TrialFigure:
    code: str
    title: str
    share: Share


@dataclass
class Reason:
    key: str
    label: str
    share: Share


@dataclass
class PanelOutcomes:
    """Every figure of one panel over one period."""

    panel: Panel
    approved: int = 0
    with_trial: Share = Share(0, 0)  # of approved
    referred: Share = Share(0, 0)  # of with_trial
    screened: Share = Share(0, 0)
    enrolled: Share = Share(0, 0)
    screen_failed: int = 0  # screen-failed referrals: the reasons' denominator
    reasons: list[Reason] = field(default_factory=list)
    advice_answered: int = 0  # cohort cases with an answered yes/partly/no
    advice: list[Reason] = field(default_factory=list)  # yes, partly, no (of advice_answered)
    advice_unanswered: Share = Share(0, 0)  # of approved: no such answer yet
    suggested: list[TrialFigure] = field(default_factory=list)  # every trial, most often first
    enrolled_trials: list[TrialFigure] = field(default_factory=list)

    @property
    def top_suggested(self) -> list[TrialFigure]:
        return self.suggested[:TOP_TRIALS]

    @property
    def top_enrolled(self) -> list[TrialFigure]:
        return self.enrolled_trials[:TOP_TRIALS]


def _cohort(panel_ids: Sequence[int], period: Period):
    """Cases of these panels whose record was approved in the period, with the record's id."""
    start, end = period.bounds()
    conditions = [
        Case.panel_id.in_(list(panel_ids)),
        Recommendation.status == RecommendationStatus.APPROVED,
        Recommendation.approved_at.is_not(None),
        Recommendation.approved_at < end,
    ]
    if start is not None:
        conditions.append(Recommendation.approved_at >= start)
    return (
        select(
            Case.id.label("case_id"),
            Case.panel_id.label("panel_id"),
            Recommendation.id.label("rec_id"),
        )
        .join(Recommendation, Recommendation.case_id == Case.id)
        .where(*conditions)
        .subquery("cohort")
    )


def _reached(stages: Sequence[str]):
    """A referral (``TrialReferral``, outer-joined to its steps ``TrialReferralStep``) reached
    one of ``stages``: its stage is one of them, or the step joined is; never when it is back
    at ``suggested``."""
    return and_(
        TrialReferral.stage != ReferralStage.SUGGESTED.value,
        or_(TrialReferral.stage.in_(stages), TrialReferralStep.step.in_(stages)),
    )


def _case_flags(cohort):
    """Per cohort case with a referral: 1/0 for referred, screened, enrolled, and its number of
    screen-failed referrals. One pass over the cohort's referrals and their steps (a hash join
    and a GROUP BY, no subquery per case)."""
    return (
        select(
            TrialReferral.case_id,
            *(
                func.max(case((_reached(stages), 1), else_=0)).label(name)
                for name, stages in (
                    ("referred", REFERRED),
                    ("screened", SCREENED),
                    ("enrolled", ENROLLED),
                )
            ),
            func.count(
                func.distinct(
                    case(
                        (
                            and_(
                                TrialReferral.stage != ReferralStage.SUGGESTED.value,
                                TrialReferralStep.step == ReferralStage.SCREEN_FAILED.value,
                            ),
                            TrialReferral.id,
                        )
                    )
                )
            ).label("screen_failed"),
        )
        .join(cohort, cohort.c.case_id == TrialReferral.case_id)
        .outerjoin(TrialReferralStep, TrialReferralStep.referral_id == TrialReferral.id)
        .group_by(TrialReferral.case_id)
        .subquery("flags")
    )


def _funnel(cohort) -> dict[int, tuple[int, int, int, int, int, int]]:
    """panel id -> (approved, with a trial, referred, screened, enrolled, screen-failed
    referrals): one statement."""
    with_trials = (
        select(RecommendationTrial.recommendation_id.label("rec_id"))
        .join(cohort, cohort.c.rec_id == RecommendationTrial.recommendation_id)
        .group_by(RecommendationTrial.recommendation_id)
        .subquery("with_trials")
    )
    flags = _case_flags(cohort)
    has_trial = with_trials.c.rec_id.is_not(None)

    def among_with_trial(column):
        return func.sum(case((has_trial, func.coalesce(column, 0)), else_=0))

    stmt = (
        select(
            cohort.c.panel_id,
            func.count(),
            func.sum(case((has_trial, 1), else_=0)),
            among_with_trial(flags.c.referred),
            among_with_trial(flags.c.screened),
            among_with_trial(flags.c.enrolled),
            func.sum(func.coalesce(flags.c.screen_failed, 0)),
        )
        .select_from(cohort)
        .outerjoin(with_trials, with_trials.c.rec_id == cohort.c.rec_id)
        .outerjoin(flags, flags.c.case_id == cohort.c.case_id)
        .group_by(cohort.c.panel_id)
    )
    return {
        panel_id: tuple(int(v or 0) for v in values)
        for panel_id, *values in db.session.execute(stmt)
    }


def _screen_fail_reasons(cohort) -> dict[int, dict[str, int]]:
    """panel id -> {reason: screen-failed referrals} (the total, a referral counted once even
    if two of its steps gave different reasons, comes with the funnel)."""
    stmt = (
        select(
            cohort.c.panel_id,
            TrialReferralStep.reason,
            func.count(func.distinct(TrialReferral.id)),
        )
        .select_from(TrialReferralStep)
        .join(TrialReferral, TrialReferral.id == TrialReferralStep.referral_id)
        .join(cohort, cohort.c.case_id == TrialReferral.case_id)
        .where(
            TrialReferralStep.step == ReferralStage.SCREEN_FAILED.value,
            TrialReferral.stage != ReferralStage.SUGGESTED.value,
        )
        .group_by(cohort.c.panel_id, TrialReferralStep.reason)
    )
    by_reason: dict[int, dict[str, int]] = defaultdict(dict)
    for panel_id, reason, n in db.session.execute(stmt):
        by_reason[panel_id][reason or ""] = int(n)
    return by_reason


def _advice(cohort) -> dict[int, dict[str, int]]:
    """panel id -> {yes/partly/no: cases}: each cohort case's latest answered check that says
    whether the advice was followed."""
    ranked = (
        select(
            cohort.c.panel_id,
            OutcomeCheck.advice_followed,
            func.row_number()
            .over(
                partition_by=OutcomeCheck.case_id,
                order_by=(OutcomeCheck.answered_at.desc(), OutcomeCheck.id.desc()),
            )
            .label("rank"),
        )
        .join(cohort, cohort.c.case_id == OutcomeCheck.case_id)
        .where(
            OutcomeCheck.answered_at.is_not(None),
            OutcomeCheck.advice_followed.in_(list(ADVICE_FOLLOWED)),
        )
        .subquery("ranked")
    )
    stmt = (
        select(ranked.c.panel_id, ranked.c.advice_followed, func.count())
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.panel_id, ranked.c.advice_followed)
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for panel_id, answer, n in db.session.execute(stmt):
        out[panel_id][answer] = int(n)
    return out


def _trials_suggested(cohort) -> dict[int, list[tuple[str, str, int]]]:
    """panel id -> [(code, title, cohort cases whose record suggests it)]."""
    stmt = (
        select(
            cohort.c.panel_id,
            RecommendationTrial.code,
            func.min(RecommendationTrial.title),
            func.count(func.distinct(cohort.c.case_id)),
        )
        .join(cohort, cohort.c.rec_id == RecommendationTrial.recommendation_id)
        .group_by(cohort.c.panel_id, RecommendationTrial.code)
    )
    out: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for panel_id, code, title, n in db.session.execute(stmt):
        out[panel_id].append((code, title or code, int(n)))
    return out


def _trials_enrolled(cohort) -> dict[int, list[tuple[str, str, int]]]:
    """panel id -> [(code, title, cohort cases enrolled in it)]."""
    stmt = (
        select(
            cohort.c.panel_id,
            TrialReferral.trial_code,
            func.min(TrialReferral.trial_title),
            func.count(func.distinct(TrialReferral.case_id)),
        )
        .join(cohort, cohort.c.case_id == TrialReferral.case_id)
        .outerjoin(
            TrialReferralStep,
            and_(
                TrialReferralStep.referral_id == TrialReferral.id,
                TrialReferralStep.step.in_(ENROLLED),
            ),
        )
        .where(_reached(ENROLLED))
        .group_by(cohort.c.panel_id, TrialReferral.trial_code)
    )
    out: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for panel_id, code, title, n in db.session.execute(stmt):
        out[panel_id].append((code, title or code, int(n)))
    return out


def _ranked(items: list[TrialFigure]) -> list[TrialFigure]:
    return sorted(items, key=lambda t: (-t.share.count, t.title.lower(), t.code))


def reason_label(key: str) -> str:
    if not key:
        return "No reason given"
    return SCREEN_FAIL_REASONS.get(key, key)


def trial_outcomes(panels: Sequence[Panel], period: Period) -> list[PanelOutcomes]:
    """Every figure of "Trials after the panel" for each of ``panels`` (in their order) over
    ``period``: five aggregate statements whatever the number of cases."""
    if not panels:
        return []
    cohort = _cohort([p.id for p in panels], period)
    funnel = _funnel(cohort)
    reasons = _screen_fail_reasons(cohort)
    advice = _advice(cohort)
    suggested = _trials_suggested(cohort)
    enrolled = _trials_enrolled(cohort)
    out = []
    for p in panels:
        approved, with_trial, referred, screened, enrolled_n, failed = funnel.get(
            p.id, (0, 0, 0, 0, 0, 0)
        )
        row = PanelOutcomes(
            panel=p,
            approved=approved,
            with_trial=Share(with_trial, approved),
            referred=Share(referred, with_trial),
            screened=Share(screened, with_trial),
            enrolled=Share(enrolled_n, with_trial),
        )
        # Screen failures: every listed reason (zeros too, for a steady table), then any other.
        row.screen_failed = failed
        counts = reasons.get(p.id, {})
        keys = list(SCREEN_FAIL_REASONS) + sorted(k for k in counts if k not in SCREEN_FAIL_REASONS)
        row.reasons = [
            Reason(k, reason_label(k), Share(counts.get(k, 0), row.screen_failed)) for k in keys
        ]
        answers = advice.get(p.id, {})
        row.advice_answered = sum(answers.values())
        row.advice = [
            Reason(k, label, Share(answers.get(k, 0), row.advice_answered))
            for k, label in ADVICE_FOLLOWED.items()
        ]
        row.advice_unanswered = Share(max(0, approved - row.advice_answered), approved)
        suggested_by_code = {code: n for code, _, n in suggested.get(p.id, [])}
        row.suggested = _ranked(
            [TrialFigure(c, t, Share(n, with_trial)) for c, t, n in suggested.get(p.id, [])]
        )
        row.enrolled_trials = _ranked(
            [
                TrialFigure(c, t, Share(n, suggested_by_code.get(c, 0)))
                for c, t, n in enrolled.get(p.id, [])
            ]
        )
        out.append(row)
    return out


# --------------------------------------------------------------------------- CSV
CSV_HEADER = [
    "panel",
    "period_from",
    "period_to",
    "measure",
    "key",
    "label",
    "count",
    "denominator",
    "denominator_is",
    "share_percent",
]


def csv_rows(rows: Sequence[PanelOutcomes], period: Period) -> list[list[str]]:
    """The figures as rows of :data:`CSV_HEADER`: one row per panel x measure (x reason,
    answer or trial). See docs/trials.md for the measures."""
    start = period.start.isoformat() if period.start else ""
    end = period.end.isoformat()
    out: list[list[str]] = []
    for r in rows:

        def add(measure, key, label, count, share: Share | None, denominator_is="", r=r):
            out.append(
                [
                    r.panel.code,
                    start,
                    end,
                    measure,
                    key,
                    label,
                    str(count),
                    str(share.of) if share else "",
                    denominator_is if share else "",
                    share.percent_1dp if share else "",
                ]
            )

        add(
            "records_approved",
            "",
            "Cases whose record was approved in the period",
            r.approved,
            None,
        )
        add(
            "trial_suggested",
            "",
            "At least one trial suggested",
            r.with_trial.count,
            r.with_trial,
            "records_approved",
        )
        for measure, label, share in (
            ("referred", "At least one suggested trial referred to its team", r.referred),
            ("screened", "At least one suggested trial screened", r.screened),
            ("enrolled", "Enrolled in a suggested trial", r.enrolled),
        ):
            add(measure, "", label, share.count, share, "trial_suggested")
        for reason in r.reasons:
            add(
                "screen_fail_reason",
                reason.key,
                reason.label,
                reason.share.count,
                reason.share,
                "screen_failed_referrals",
            )
        for answer in r.advice:
            add(
                "advice_followed",
                answer.key,
                answer.label,
                answer.share.count,
                answer.share,
                "cases_with_answer",
            )
        add(
            "advice_not_answered",
            "",
            "No answer yet on whether the advice was followed",
            r.advice_unanswered.count,
            r.advice_unanswered,
            "records_approved",
        )
        for t in r.suggested:
            add("trial_suggested_count", t.code, t.title, t.share.count, t.share, "trial_suggested")
        for t in r.enrolled_trials:
            add(
                "trial_enrolled_count",
                t.code,
                t.title,
                t.share.count,
                t.share,
                "cases_trial_suggested_to",
            )
    return out


def outcomes_csv(rows: Sequence[PanelOutcomes], period: Period) -> tuple[str, int]:
    """The CSV text (CRLF, cells escaped against spreadsheet formulas) and its row count."""
    body = csv_rows(rows, period)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in body:
        writer.writerow([csv_cell(v) for v in line])
    return buf.getvalue(), len(body)
