"""Synthetic volume: ``flask --app panel demo-data --cases N`` adds N realistic synthetic cases.

For page benchmarks and load tests (``bench/``), not for clinical use: the cases are built from
the two example referrals with varied panels, centres, ages, disease status, biology and
questions, spread over three years and over every status of the road, with comments, agenda
items, recommendations (approved, with answers and frozen trials) and follow-up actions where
the status says the case got that far. Rows go in with multi-row INSERTs so 20,000 cases take
seconds, on SQLite and PostgreSQL. One audit entry records the load (not one per row).
"""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta
from importlib import resources
from typing import Any

from sqlalchemy import insert, select, text

from panel.accounts.models import Centre, Panel, PanelRoleKind, User
from panel.cases.models import Case, CaseQuestion, CaseStatus, ReferenceCounter
from panel.core import audit
from panel.core.db import db, utcnow

STATUS_MIX: tuple[tuple[CaseStatus, float], ...] = (
    (CaseStatus.DRAFT, 0.05),
    (CaseStatus.SUBMITTED, 0.08),
    (CaseStatus.INFO_REQUESTED, 0.03),
    (CaseStatus.SCHEDULED, 0.05),
    (CaseStatus.DISCUSSED, 0.04),
    (CaseStatus.RECOMMENDATION, 0.05),
    (CaseStatus.FEEDBACK_SENT, 0.25),
    (CaseStatus.CLOSED, 0.43),
    (CaseStatus.WITHDRAWN, 0.02),
)
REACHED_DISCUSSION = {
    CaseStatus.DISCUSSED,
    CaseStatus.RECOMMENDATION,
    CaseStatus.FEEDBACK_SENT,
    CaseStatus.CLOSED,
}
APPROVED = {CaseStatus.FEEDBACK_SENT, CaseStatus.CLOSED}
AGENDA_SIZE = 15

QUESTIONS = (
    "Is there a trial that fits our child?",
    "Would treatment mean staying away from home for weeks?",
    "Should we think about treatment abroad?",
    "What are the side effects of the new treatment?",
    "Can some of the treatment be given at our local hospital?",
    "Is there anything we can do to help at home?",
    "How will we know if the treatment is working?",
    "Can our child still go to school during treatment?",
)
COMMENTS = (
    "Worth checking the marrow result before the meeting.",
    "The ALK variant is a known hotspot; a trial slot may be available.",
    "Agree with discussing at the next meeting.",
    "Could the referrer confirm the last mIBG score?",
)
CATEGORY_SETS = (
    ["trial"],
    ["trial", "further_investigations"],
    ["standard_salvage"],
    ["molecular_radiotherapy", "trial"],
    ["immunotherapy"],
    ["local_control", "standard_salvage"],
    ["palliative"],
    ["further_investigations"],
)


def _examples() -> list[dict[str, Any]]:
    folder = resources.files("panel.data.demo_cases")
    return [
        json.loads(folder.joinpath(f"case-example-{n}.json").read_text())
        for n in ("alk", "refractory")
    ]


def _pick(rng: random.Random, mix) -> Any:
    r, acc = rng.random(), 0.0
    for value, weight in mix:
        acc += weight
        if r < acc:
            return value
    return mix[-1][0]


def _vary(rng: random.Random, base: dict[str, Any], panel: str, centre: str) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc.pop("schema", None)
    doc["panel"], doc["referring_centre"] = panel, centre
    doc["urgency"] = "urgent" if rng.random() < 0.08 else "routine"
    dx = rng.randint(14, 60)
    since = rng.randint(4, 48)
    doc.setdefault("patient", {}).update(age_at_diagnosis_months=dx, age_now_months=dx + since)
    status = doc.setdefault("status", {})
    status["months_diagnosis_to_event"] = rng.randint(max(1, since // 2), since)
    if "months_since_last_treatment" in status:
        status["months_since_last_treatment"] = min(
            status["months_since_last_treatment"], since - status["months_diagnosis_to_event"]
        )
    status["category"] = rng.choice(["relapsed", "relapsed", "refractory", "progressive"])
    status["episode"] = rng.choice([1, 1, 1, 2])
    biology = doc.setdefault("biology", {})
    biology["mycn"] = rng.choice(["amplified", "not_amplified", "amplified"])
    if rng.random() < 0.3:
        biology["alk"] = {
            "status": "mutation",
            "variants": [
                {
                    "protein_change": rng.choice(["F1174L", "R1275Q", "F1245C"]),
                    "vaf_pct": rng.randint(5, 40),
                    "origin": "somatic",
                }
            ],
        }
    doc.setdefault("family", {})["questions"] = []
    return doc


def _bump_counter(year: int, count: int) -> int:
    """Reserve ``count`` references in ``year``; returns the first number."""
    row = db.session.get(ReferenceCounter, year)
    if row is None:
        row = ReferenceCounter(year=year, last=0)
        db.session.add(row)
        db.session.flush()
    first = row.last + 1
    row.last += count
    db.session.flush()
    return first


def add_synthetic_cases(n: int, *, seed: int = 2026, batch: int = 2000) -> dict[str, int]:
    """Add ``n`` synthetic cases (and what their status implies). Needs the demo people."""
    from panel.feedback.models import (
        FollowUpAction,
        QuestionAnswer,
        Recommendation,
        RecommendationStatus,
        RecommendationTrial,
        trial_rows,
    )
    from panel.meetings.models import (
        AgendaItem,
        Comment,
        CommentVisibility,
        ItemOutcome,
        Meeting,
        MeetingStatus,
    )
    from panel.trials.models import Trial

    rng = random.Random(seed)
    now = utcnow()
    referrers = list(
        db.session.scalars(select(User).where(User.is_referrer, User.active).order_by(User.id))
    )
    if not referrers:
        raise RuntimeError("Load the demo people first (flask --app panel demo-data).")
    panels = list(db.session.scalars(select(Panel).order_by(Panel.id)))
    centres = [c.code for c in db.session.scalars(select(Centre).order_by(Centre.id))]
    centre_ids = {c.code: c.id for c in db.session.scalars(select(Centre))}
    panel_weights = [
        (p, 0.55 if p.code == "NAP" else 0.45 / max(1, len(panels) - 1)) for p in panels
    ]
    staff: dict[int, list[int]] = {}
    coordinators: dict[int, int | None] = {}
    for p in panels:
        ids = list(db.session.scalars(select(User.id).where(User.panel_roles.any(panel_id=p.id))))
        staff[p.id] = ids
        coordinators[p.id] = db.session.scalar(
            select(User.id)
            .where(User.panel_roles.any(panel_id=p.id, role=PanelRoleKind.COORDINATOR))
            .limit(1)
        )
    trials = list(
        db.session.scalars(select(Trial).where(Trial.is_study.is_(False)).order_by(Trial.id))
    )
    examples = _examples()

    # Agenda items go onto realistic meetings: at most AGENDA_SIZE cases each, past meetings
    # (closed) for discussed cases and weekly upcoming ones (published) for scheduled cases.
    meeting_fill: dict[tuple[int, str], list] = {}

    def meeting_for(panel_id: int, kind: str, when) -> int:
        slot = meeting_fill.get((panel_id, kind))
        if slot is None or slot[1] >= AGENDA_SIZE:
            number = (slot[2] + 1) if slot else 0
            if kind == "past":
                m = Meeting(
                    panel_id=panel_id,
                    title="Panel meeting",
                    starts_at=when,
                    status=MeetingStatus.CLOSED,
                    closed_at=when + timedelta(hours=2),
                    created_by_id=coordinators[panel_id],
                )
            else:
                m = Meeting(
                    panel_id=panel_id,
                    title="Panel meeting",
                    starts_at=now + timedelta(days=7 * (number + 1)),
                    status=MeetingStatus.PUBLISHED,
                    published_at=now,
                    created_by_id=coordinators[panel_id],
                )
            db.session.add(m)
            db.session.flush()
            slot = [m.id, 0, number]
            meeting_fill[(panel_id, kind)] = slot
        slot[1] += 1
        return slot[0]

    counts = {"cases": 0, "questions": 0, "comments": 0, "agenda_items": 0, "recommendations": 0}
    done = 0
    while done < n:
        size = min(batch, n - done)
        plans = []
        by_year: dict[int, int] = {}
        for _ in range(size):
            status = _pick(rng, STATUS_MIX)
            age_days = rng.randint(1, 3 * 365)
            created = now - timedelta(days=age_days, minutes=rng.randint(0, 1440))
            year = created.year
            by_year[year] = by_year.get(year, 0) + 1
            panel = _pick(rng, panel_weights)
            plans.append((status, created, year, panel))
        next_number = {year: _bump_counter(year, count) for year, count in sorted(by_year.items())}

        rows = []
        for status, created, year, panel in plans:
            ref = f"NB-{year}-{next_number[year]:04d}"
            next_number[year] += 1
            referrer = rng.choice(referrers)
            centre = rng.choice(centres)
            submitted = (
                created + timedelta(hours=rng.randint(1, 72))
                if status != CaseStatus.DRAFT
                else None
            )

            def step(days, after):
                return (after + timedelta(days=rng.uniform(*days))) if after else None

            triaged = (
                step((0.5, 5), submitted)
                if status not in (CaseStatus.DRAFT, CaseStatus.SUBMITTED)
                else None
            )
            scheduled = (
                step((0.5, 7), triaged)
                if status in REACHED_DISCUSSION | {CaseStatus.SCHEDULED}
                else None
            )
            discussed = step((2, 14), scheduled) if status in REACHED_DISCUSSION else None
            approved = step((1, 7), discussed) if status in APPROVED else None
            sent = step((0.2, 3), approved) if status in APPROVED else None
            informed = step((1, 10), sent) if status in APPROVED and rng.random() < 0.8 else None
            closed = step((5, 60), sent) if status == CaseStatus.CLOSED else None
            moments = [
                m
                for m in (
                    created,
                    submitted,
                    triaged,
                    scheduled,
                    discussed,
                    approved,
                    sent,
                    informed,
                    closed,
                )
                if m
            ]
            latest = min(max(moments), now)
            rows.append(
                {
                    "reference": ref,
                    "panel_id": panel.id,
                    "referring_centre_id": centre_ids[centre],
                    "created_by_id": referrer.id,
                    "status": status,
                    "urgency": "routine",
                    "data": _vary(rng, rng.choice(examples), panel.code, centre),
                    "version": 1,
                    "created_at": created,
                    "updated_at": latest,
                    "submitted_at": submitted,
                    "withdrawn_at": latest if status == CaseStatus.WITHDRAWN else None,
                    "triaged_at": min(triaged, now) if triaged else None,
                    "scheduled_at": min(scheduled, now) if scheduled else None,
                    "discussed_at": min(discussed, now) if discussed else None,
                    "approved_at": min(approved, now) if approved else None,
                    "feedback_sent_at": min(sent, now) if sent else None,
                    "family_informed_at": min(informed, now) if informed else None,
                    "closed_at": min(closed, now) if closed else None,
                    "rolled_over": False,
                }
            )
        for row in rows:
            row["urgency"] = row["data"]["urgency"]
        inserted = db.session.execute(
            insert(Case).returning(Case.id, Case.status, Case.panel_id, Case.discussed_at), rows
        ).all()
        counts["cases"] += len(inserted)

        questions, comments, items, recs = [], [], [], []
        for case_id, status, panel_id, discussed in inserted:
            texts = rng.sample(QUESTIONS, rng.randint(1, 3))
            questions += [
                {
                    "case_id": case_id,
                    "position": i,
                    "text": t,
                    "source": "referral",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, t in enumerate(texts)
            ]
            if status != CaseStatus.DRAFT and staff[panel_id] and rng.random() < 0.4:
                comments.append(
                    {
                        "case_id": case_id,
                        "author_id": rng.choice(staff[panel_id]),
                        "visibility": rng.choice(list(CommentVisibility)),
                        "body": rng.choice(COMMENTS),
                        "created_at": now - timedelta(days=rng.randint(0, 300)),
                    }
                )
            if status == CaseStatus.SCHEDULED:
                items.append(
                    {
                        "meeting_id": meeting_for(panel_id, "upcoming", now),
                        "case_id": case_id,
                        "position": case_id,
                        "minutes_allotted": 15,
                        "outcome_status": ItemOutcome.PENDING,
                        "added_at": now,
                    }
                )
            elif status in REACHED_DISCUSSION:
                items.append(
                    {
                        "meeting_id": meeting_for(panel_id, "past", discussed),
                        "case_id": case_id,
                        "position": case_id,
                        "minutes_allotted": 15,
                        "outcome_status": ItemOutcome.DISCUSSED,
                        "added_at": now,
                        "discussion": "Discussed with imaging and biology.",
                        "outcome": "See the recommendation.",
                        "minutes_version": 1,
                        "discussed_at": discussed,
                    }
                )
            if status in {CaseStatus.RECOMMENDATION} | APPROVED:
                chosen = rng.sample(trials, min(len(trials), rng.randint(0, 2))) if trials else []
                recs.append(
                    {
                        "case_id": case_id,
                        "status": RecommendationStatus.APPROVED
                        if status in APPROVED
                        else RecommendationStatus.DRAFT,
                        "categories": rng.choice(CATEGORY_SETS),
                        "consensus": "unanimous",
                        "options_considered": "",
                        "rationale": "Synthetic rationale for benchmarking.",
                        "re_present": "",
                        "trials": [
                            {
                                "trial_id": t.code,
                                "code": t.code,
                                "title": t.title,
                                "phase": t.phase,
                                "priority": i + 1,
                                "verdict": "eligible",
                                "facts": [],
                                "to_check": [],
                                "nearest_site": None,
                                "distance_km": None,
                                "registry_status": t.status.value,
                                "verified_on": t.status_verified_on.isoformat()
                                if t.status_verified_on
                                else None,
                            }
                            for i, t in enumerate(chosen)
                        ],
                        "trial_status_as_of": now,
                        "molecular_profiling": "",
                        "drafted_by_id": coordinators[panel_id],
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                        "approved_at": now if status in APPROVED else None,
                    }
                )
        if questions:
            db.session.execute(insert(CaseQuestion), questions)
            counts["questions"] += len(questions)
        if comments:
            db.session.execute(insert(Comment), comments)
            counts["comments"] += len(comments)
        if items:
            db.session.execute(insert(AgendaItem), items)
            counts["agenda_items"] += len(items)
        if recs:
            made = db.session.execute(
                insert(Recommendation).returning(
                    Recommendation.id, Recommendation.case_id, Recommendation.status
                ),
                recs,
            ).all()
            counts["recommendations"] += len(made)
            trials_of = {r["case_id"]: r["trials"] for r in recs}
            narrow = [
                {"recommendation_id": rec_id, "code": code, "title": title}
                for rec_id, case_id, _ in made
                for code, title in trial_rows(trials_of[case_id])
            ]
            if narrow:
                db.session.execute(insert(RecommendationTrial), narrow)
            qids: dict[int, list[int]] = {}
            for qid, qcase in db.session.execute(
                select(CaseQuestion.id, CaseQuestion.case_id).where(
                    CaseQuestion.case_id.in_([m.case_id for m in made])
                )
            ):
                qids.setdefault(qcase, []).append(qid)
            answers = []
            follow_ups = []
            for rec_id, case_id, rstatus in made:
                if rstatus == RecommendationStatus.APPROVED:
                    for qid in qids.get(case_id, []):
                        answers.append(
                            {
                                "recommendation_id": rec_id,
                                "question_id": qid,
                                "clinician_answer": "Answered at the meeting.",
                                "family_answer": "The panel talked about this and your team will explain.",
                                "updated_at": now,
                            }
                        )
                if rstatus == RecommendationStatus.APPROVED and rng.random() < 0.5:
                    due = now + timedelta(days=rng.randint(-60, 60))
                    follow_ups.append(
                        {
                            "recommendation_id": rec_id,
                            "position": 0,
                            "description": "Repeat imaging and report back",
                            "owner_role": "referrer",
                            "due_in_days": 30,
                            "due_at": due,
                            "done_at": due if rng.random() < 0.6 and due < now else None,
                        }
                    )
            if answers:
                db.session.execute(insert(QuestionAnswer), answers)
            if follow_ups:
                db.session.execute(insert(FollowUpAction), follow_ups)
        db.session.flush()
        done += size
    audit.record("demo.volume_loaded", actor_label="demo-data", details=counts)
    # Fresh planner statistics after a bulk load (PostgreSQL's autovacuum would get there later;
    # SQLite never gathers them by itself).
    db.session.execute(text("ANALYZE"))
    return counts
