"""The two letters made from one recommendation record: the clinician letter for the referring
team and the plain-language family letter, as HTML and as PDF (WeasyPrint).

``clinician_context`` and ``family_context`` turn the record into plain data that the templates
render. Everything typed by people is rendered escaped (Jinja autoescape), so HTML in an answer
prints as literal text in the page and in the PDF. The clinician letter carries placeholders
(``[child's name]``, ``[hospital]``) that the treating team fills in, so no name ever enters
Panel. The family letter is the family's own copy (on paper from their doctor, online with an
access code, and as PDF): it addresses the family ("Dear parent or carer", "your child's
doctor"), carries no placeholder, and names no staff member and no e-mail address.

Once the feedback is sent, the letters are served as stored (``documents.py``): these
functions render them at sending, for an addendum or an updated version, and for the panel's
draft before sending.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from flask import render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from panel.cases.needs import communication_needs
from panel.core import uktime
from panel.core.db import db, utcnow
from panel.core.pdf import html_to_pdf
from panel.feedback.models import (
    CATEGORIES,
    CONSENSUS,
    QuestionAnswer,
    Recommendation,
    RecommendationAmendment,
)
from panel.trials.models import plain_words

KINDS = ("clinician", "family")
KIND_TITLES = {"clinician": "Clinician letter", "family": "Family letter"}

#: Filled in by the treating team (constants, so they render exactly as written).
PLACEHOLDERS = {
    "child": Markup("[child's name]"),
    "consultant": Markup("[treating consultant]"),
    "hospital": Markup("[hospital]"),
}

DISCLAIMER_CLINICIAN = (
    "The panel's advice supports, and does not replace, the clinical judgement of the treating team, "
    "who remain responsible for the patient's care and for discussing the options with the family. "
    "The panel has not examined the patient and relied on the anonymised information supplied."
)
DISCLAIMER_FAMILY = (
    "This advice is to help your child's own doctors. It does not take their place. The team "
    "who treat your child know your child best. They will decide with you what is right for "
    "your child."
)

#: Who the panel is, for a panel configured without its own words (``Panel.family_words``).
FAMILY_PANEL_GENERIC = "The panel gives advice to your child's doctors."

#: The categories in plain words for the family letter (standard, large print and easy read).
FAMILY_CATEGORIES = {
    "trial": "The panel suggests a clinical trial for your child.",
    "standard_salvage": "The panel suggests treatment that is not part of a trial. It would be "
    "chosen to suit your child (salvage treatment).",
    "further_investigations": "The panel suggests more tests. This may be a new biopsy, or "
    "tests on the genes of the tumour (molecular profiling).",
    "molecular_radiotherapy": "The panel suggests radiotherapy that goes in through a vein "
    "(molecular radiotherapy). One kind is mIBG therapy.",
    "immunotherapy": "The panel suggests a medicine that helps the body fight the tumour "
    "(immunotherapy).",
    "local_control": "The panel suggests treatment of one part of the body. This may be "
    "surgery or radiotherapy.",
    "second_opinion": "The panel suggests you ask another team of experts for their view (a "
    "second opinion).",
    "palliative": "The panel suggests care that puts your child's comfort and quality of life "
    "first (palliative care).",
    "insufficient_information": "The panel needs more facts before it can give advice. Your "
    "child's doctor will send them. Then the panel will talk about your child again.",
}

#: The order of the family letter's advice: each category's stage. The letter shows the stages
#: in this order, each with its categories in the panel's own order (``rec.categories``).
FAMILY_STAGES = {
    "first": "What happens first",
    "next": "What happens next",
    "if_not": "If that does not work",
}
CATEGORY_STAGE = {
    "insufficient_information": "first",
    "further_investigations": "first",
    "trial": "first",
    "standard_salvage": "first",
    "immunotherapy": "first",
    "molecular_radiotherapy": "first",
    "local_control": "next",
    "second_opinion": "next",
    "palliative": "if_not",
}

FAMILY_CONSENSUS = {
    "unanimous": "Everyone on the panel agreed with this advice.",
    "majority": "Most people on the panel agreed with this advice.",
    "no_consensus": "The people on the panel did not all agree. Your child's doctor will talk "
    "with you about the choices they discussed.",
}

#: When the panel wants to talk about the child again but wrote no sentence for the family.
FAMILY_RE_PRESENT_GENERIC = (
    "The panel would like to talk about your child again later. Your child's doctor will tell "
    "you when."
)

VERDICTS = {
    "eligible": "Likely eligible",
    "possible": "Possibly eligible: checks needed",
    "ineligible": "Not eligible",
}

REGISTRY_STATUS = {
    "open": "Open to recruitment",
    "recruiting": "Open to recruitment",
    "suspended": "Recruitment suspended",
    "closed": "Closed to recruitment",
    "not_yet_open": "Not yet open",
    "opening": "Opening soon",
}

PROFILING = {
    "": "",
    "done": "Molecular profiling at relapse has been done.",
    "requested": "Molecular profiling has been requested.",
    "recommended": "The panel recommends molecular profiling of the tumour at relapse (for example through SMPaeds).",
    "in_progress": "Molecular profiling is in progress.",
    "pending": "Molecular profiling results are awaited.",
    "not_needed": "The panel does not think further molecular profiling is needed now.",
    "not_possible": "Molecular profiling is not possible at present.",
    "failed": "Molecular profiling was attempted but gave no result.",
}

FAMILY_PROFILING = {
    "done": "Tests on the genes of your child's tumour have been done (molecular profiling). "
    "The panel used the results.",
    "requested": "Tests on the genes of your child's tumour have been asked for (molecular "
    "profiling).",
    "recommended": "The panel suggests tests on the genes of your child's tumour (molecular "
    "profiling). In the UK, a national study called SMPaeds does these tests. The results may "
    "show a medicine that targets a change in the tumour.",
    "in_progress": "Tests on the genes of your child's tumour are being done now (molecular "
    "profiling).",
    "pending": "The results of tests on the genes of your child's tumour are not back yet "
    "(molecular profiling).",
}

PROFILING_NO_STUDY = (
    "The panel recommends molecular profiling of the tumour at relapse (SMPaeds is not confirmed "
    "open)."
)

#: "recommended" when SMPaeds is not confirmed open: the letter names no study.
FAMILY_PROFILING_NO_STUDY = (
    "The panel suggests tests on the genes of your child's tumour (molecular profiling). Your "
    "child's doctor will tell you where this can be done. The results may show a medicine that "
    "targets a change in the tumour."
)

#: A suggested trial's registry status as the family letter says it.
FAMILY_STATUS = {
    "suspended": "This trial has paused. It is not taking new patients now.",
    "closed": "This trial is not taking new patients now.",
    "not_yet_open": "This trial is not open yet.",
    "opening": "This trial will open soon.",
}

KM_PER_MILE = 1.609344

OWNER_ROLES = {
    "referrer": "Referring team",
    "coordinator": "Panel coordinator",
    "chair": "Panel chair",
    "panel": "Panel",
}


# --------------------------------------------------------------------------- small helpers
def uk_date(moment: datetime | None) -> str:
    """``3 March 2026`` in UK time ('' for none)."""
    return uktime.uk_date(moment, "%-d %B %Y")


def _as_list(value: Any) -> list[str]:
    """Facts / checks as a list of strings, whatever shape they were frozen in."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [line.strip(" -•\t") for line in value.splitlines() if line.strip(" -•\t")]
    out = []
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, dict):
            text = (
                item.get("label")
                or item.get("question")
                or item.get("text")
                or item.get("field")
                or ""
            )
            if text:
                out.append(str(text))
        elif item not in (None, ""):
            out.append(str(item))
    return out


def _phase_label(phase: Any) -> str:
    if phase in (None, ""):
        return ""
    text = str(phase).strip()
    if text.lower().startswith("phase"):
        return text[0].upper() + text[1:]
    return f"Phase {text.upper() if text.lower() in ('i', 'ii', 'iii', 'i/ii') else text}"


def trial_view(raw: dict[str, Any]) -> dict[str, Any]:
    """One frozen trial suggestion as the letters print it (tolerant of key spellings)."""
    site = raw.get("nearest_site") or raw.get("site") or raw.get("nearest_site_name")
    site_name, distance = "", raw.get("distance_km")
    if isinstance(site, dict):
        site_name = site.get("name") or site.get("centre") or ""
        if distance is None:
            distance = site.get("distance_km")
    elif site:
        site_name = str(site)
    status = raw.get("registry_status") or raw.get("status") or ""
    verified = raw.get("verified_on") or raw.get("status_verified_on") or raw.get("verified") or ""
    priority = raw.get("priority")
    source = letter_source(raw.get("status_source"))
    return {
        "id": str(raw.get("trial_id") or raw.get("id") or raw.get("code") or ""),
        "title": str(raw.get("title") or raw.get("trial_id") or raw.get("id") or ""),
        "phase": _phase_label(raw.get("phase")),
        "priority": priority,
        "verdict": raw.get("verdict") or "",
        "verdict_label": VERDICTS.get(str(raw.get("verdict") or ""), str(raw.get("verdict") or "")),
        "facts": _as_list(raw.get("facts") or raw.get("matching_facts")),
        "to_check": _as_list(
            raw.get("to_check") if raw.get("to_check") is not None else raw.get("missing")
        ),
        "site": site_name,
        "every_site": raw.get("sites_mode") == "all",  # the child attends every site
        "distance_km": distance if isinstance(distance, int | float) else None,
        "status": status,
        "status_label": REGISTRY_STATUS.get(
            str(status), str(status).replace("_", " ").capitalize()
        ),
        "verified_on": _date_text(verified),
        "status_source": source,
        "availability": availability(str(status), site_name, _date_text(verified), source),
        "note": str(raw.get("note") or raw.get("comment") or ""),
    }


_CHECKED_BY = re.compile(r"\s*\(checked by [^)]*\)", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")


def letter_source(text: Any) -> str:
    """Where a trial's status was checked, as a letter prints it: the registry and its id
    ("ClinicalTrials.gov NCT03363373") or what the coordinator wrote, without the "(checked by
    e-mail)" that ``mark_checked`` adds and without any e-mail address (the family letter names
    no staff member)."""
    cleaned = _EMAIL.sub("", _CHECKED_BY.sub("", str(text or ""))).strip(" ,;")
    return " ".join(cleaned.split())


def availability(status: str, site: str, checked: str, source: str) -> str:
    """ "Recruiting at SITE, checked DATE with SOURCE": the frozen status of one suggested
    trial, the site the record froze, and the check the approval relied on. A trial with no
    confirmed site, or a missing date or source, says so plainly."""
    if status in ("open", "recruiting"):
        head = f"Recruiting at {site}" if site else "Recruiting, with no UK site confirmed yet"
    elif status:
        head = REGISTRY_STATUS.get(status, status.replace("_", " ").capitalize())
    else:
        head = "Registry status not recorded"
    if checked and source:
        tail = f"checked {checked} with {source}"
    elif checked:
        tail = f"checked {checked} (source not recorded)"
    elif source:
        tail = f"date of the check not recorded ({source})"
    else:
        tail = "no check recorded"
    return f"{head}, {tail}"


def miles_text(km: float | None) -> str:
    """A distance as UK families think of it: "about 40 miles (64 km)" ('' for none)."""
    if km is None:
        return ""
    miles = round(km / KM_PER_MILE)
    kilometres = f"{round(km)} km" if km >= 1 else "under 1 km"
    if miles < 1:
        return f"less than 1 mile ({kilometres})"
    return f"about {miles} mile{'s' if miles != 1 else ''} ({kilometres})"


def family_availability(
    status: str,
    site: str,
    checked: str,
    source: str,
    distance: str = "",
    every_site: bool = False,
) -> str:
    """The availability line of :func:`availability` in plain words for the family letter, with
    the distance when there is one: "Taking new patients at SITE, about 40 miles (64 km) from
    your child's hospital. Checked on DATE with SOURCE." A missing site, date or source is said
    plainly."""
    far = f", {distance} from your child's hospital" if distance else ""
    if status in ("open", "recruiting"):
        if site and every_site:
            head = (
                "Taking new patients. Your child would go to more than one hospital. "
                f"The farthest is {site}{far}."
            )
        elif site:
            head = f"Taking new patients at {site}{far}."
        else:
            head = (
                "Taking new patients. No UK hospital is confirmed yet. Your child's doctor will "
                "ask the trial team where it runs."
            )
    else:
        if status:
            head = FAMILY_STATUS.get(status, f"Trial status: {status.replace('_', ' ')}.")
        else:
            head = "We do not know if this trial is taking new patients."
        if site:
            head += f" The nearest hospital for it is {site}{far}."
    if checked and source:
        tail = f"Checked on {checked} with {source}."
    elif checked:
        tail = f"Checked on {checked}. We did not record where."
    elif source:
        tail = f"We did not record the date of the check ({source})."
    else:
        tail = "We have no record of a check."
    return f"{head} {tail}"


def family_advice(codes: list[str] | None) -> list[dict[str, Any]]:
    """The advice as the family letter orders it: the stages of :data:`FAMILY_STAGES` that hold
    a category, in that order, each with its categories in the panel's order. The first stage
    shown is always "What happens first" (palliative care alone is what happens first)."""
    stages: dict[str, list[dict[str, str]]] = {key: [] for key in FAMILY_STAGES}
    for code in codes or []:
        stage = CATEGORY_STAGE.get(code, "first")
        stages[stage].append(
            {
                "code": code,
                "label": CATEGORIES.get(code, code),
                "plain": FAMILY_CATEGORIES.get(code, CATEGORIES.get(code, code)),
            }
        )
    shown = [(key, items) for key, items in stages.items() if items]
    return [
        {
            "stage": key,
            "heading": FAMILY_STAGES["first" if i == 0 else key],
            "categories": items,
        }
        for i, (key, items) in enumerate(shown)
    ]


def _date_text(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        return uk_date(value)
    try:
        parsed = datetime.fromisoformat(str(value))
        return uktime.uk_date(parsed if len(str(value)) > 10 else parsed.date(), "%-d %B %Y")
    except ValueError:
        return str(value)


def _sorted_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    views = [trial_view(t) for t in trials or [] if isinstance(t, dict)]

    def key(v):
        p = v["priority"]
        return (not isinstance(p, int | float), p if isinstance(p, int | float) else 0)

    return sorted(views, key=key)  # stable: the drafted order within the same priority


def _discussion(case) -> tuple[datetime | None, str]:
    """When the panel discussed the case, and the meeting's title (one query)."""
    from panel.meetings.models import AgendaItem, Meeting

    row = db.session.execute(
        select(AgendaItem.discussed_at, Meeting.starts_at, Meeting.title)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.case_id == case.id, AgendaItem.discussed_at.is_not(None))
        .order_by(AgendaItem.discussed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return case.discussed_at, ""
    return row.starts_at or row.discussed_at, row.title or ""


@lru_cache(maxsize=1)
def _glossary_data() -> dict[str, Any]:
    return json.loads(
        resources.files("panel.data").joinpath("glossary.json").read_text(encoding="utf-8")
    )


@lru_cache(maxsize=1)
def _compiled_terms() -> list[tuple[dict[str, str], re.Pattern[str]]]:
    out = []
    for entry in _glossary_data()["terms"]:
        pattern = r"(?<![\w-])(?:" + "|".join(entry["patterns"]) + r")(?![\w-])"
        out.append((entry, re.compile(pattern, re.IGNORECASE)))
    return out


def glossary_for(text: str) -> list[dict[str, str]]:
    """The glossary entries whose word appears in ``text``, in alphabetical order, each once."""
    found = [
        {"term": e["term"], "plain": e["plain"]} for e, rx in _compiled_terms() if rx.search(text)
    ]
    return sorted(found, key=lambda e: e["term"].lower())


#: How the letter names each place in an organisation's ``covers`` (glossary.json).
COVERS_WORDS = {"UK": "the UK", "Ireland": "Ireland", "Northern Ireland": "Northern Ireland"}


def covers_text(covers: list[str]) -> str:
    """``["UK"]`` -> "the UK"; ``["Northern Ireland", "Ireland"]`` -> "Northern Ireland and
    Ireland"; the letter prints "For families in ..."."""
    words = [COVERS_WORDS.get(c, c) for c in covers or []]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def support_organisations() -> list[dict[str, Any]]:
    """The family letter's support organisations (``glossary.json`` "support_organisations"):
    each with its link, where it serves families (``covers``, and ``covers_text`` for the
    letter) and the source its one-line description was checked against (for staff: the
    letter does not print it)."""
    return [
        {**o, "url": o.get("url") or _link(o["web"]), "covers_text": covers_text(o["covers"])}
        for o in _glossary_data()["support_organisations"]
    ]


def trial_finders() -> list[dict[str, Any]]:
    """The factsheet's four websites for finding a trial (``glossary.json`` "trial_finders",
    each with its source), for the family letter's further information."""
    return list(_glossary_data()["trial_finders"])


def _link(web: str) -> str:
    return web if web.startswith(("https://", "http://")) else f"https://{web}"


def recommendation_for(case) -> Recommendation | None:
    return db.session.scalar(
        select(Recommendation)
        .where(Recommendation.case_id == case.id)
        .options(
            joinedload(Recommendation.drafted_by),
            joinedload(Recommendation.approved_by),
            selectinload(Recommendation.answers).joinedload(QuestionAnswer.question),
            selectinload(Recommendation.amendments).joinedload(RecommendationAmendment.by),
        )
    )


# --------------------------------------------------------------------------- contexts
def _common(rec: Recommendation, kind: str) -> dict[str, Any]:
    case = rec.case
    discussed, meeting_title = _discussion(case)
    letter_moment = case.feedback_sent_at or rec.approved_at or utcnow()
    as_of = rec.trial_status_as_of or rec.approved_at or rec.updated_at
    answers_by_question = {a.question_id: a for a in rec.answers}
    amendments = [
        {"number": a.number, "date": uk_date(a.at), "reason": a.reason}
        for a in sorted(rec.applied_amendments, key=lambda a: a.number)
    ]  # a pending or rejected amendment never reaches a letter
    return {
        "kind": kind,
        "title": KIND_TITLES[kind],
        "reference": case.reference,
        "panel_name": case.panel.name,
        "panel_code": case.panel.code,
        "panel_remit": case.panel.remit,
        # Who the panel is and what it takes, in its own words (Panel.family_words, issue 20).
        "panel_family_words": case.panel.family_words or FAMILY_PANEL_GENERIC,
        "panel_letterhead": case.panel.letterhead_words,
        "panel_cancer_words": "" if case.panel.takes_any_tumour else case.panel.takes_words,
        "date": uk_date(letter_moment),
        "meeting_date": uk_date(discussed),
        "meeting_title": meeting_title,
        "approved": rec.is_approved,
        "approved_date": uk_date(rec.approved_at),
        "trial_status_as_of": uk_date(as_of),
        "placeholders": PLACEHOLDERS,
        "amendments": amendments,
        "latest_amendment": amendments[-1] if amendments else None,
        "_answers_by_question": answers_by_question,
        "re_present": rec.re_present.strip(),
        "study_included": case.study_opt_out_at is None,
        "consensus": rec.consensus,
    }


def study_status_line(study: dict[str, Any]) -> str:
    """A study's status as a letter prints it, with its source: "open, checked 2 December 2026
    with the study team", "closed, checked ...", "open, not checked since 1 Dec 2026 (...)",
    "unknown, never confirmed (...)"."""
    source = letter_source(study.get("source"))
    checked = _date_text(study.get("checked_on"))
    status = study.get("status") or "unknown"
    note = str(study.get("note") or "")
    note = note[len("Status ") :] if note.startswith("Status ") else note
    if study.get("confirmed"):
        return availability_tail("open", checked, source)
    if status == "open":
        head = f"open, {note or 'not confirmed'}"
    elif status == "unknown":
        head = note or "unknown"
    else:
        return availability_tail(status.replace("_", " "), checked, source)
    return f"{head} ({source})" if source else head


def availability_tail(head: str, checked: str, source: str) -> str:
    """``head`` followed by "checked DATE with SOURCE", saying which of the two is missing."""
    if checked and source:
        return f"{head}, checked {checked} with {source}"
    if checked:
        return f"{head}, checked {checked} (source not recorded)"
    return f"{head} ({source})" if source else head


def _studies(rec: Recommendation) -> dict[str, Any]:
    """The studies the letters speak of, with their status **read now**: the letters are
    rendered and stored when they are sent, so what the family was told is the stored letter
    (and ``letters.stored`` in the audit trail lists the statuses it read)."""
    from panel.feedback.operations import studies_status

    st = studies_status(rec.case, rec)
    epi, prof = st["epidemiology"], st["profiling"]
    return {
        "epidemiology": {
            "title": epi["title"],
            "state": epi["state"],
            "status": epi["study"]["status"],
            "status_line": study_status_line(epi["study"]),
        },
        "profiling": {
            "title": prof["title"],
            "confirmed": prof["study"]["confirmed"],
            "status": prof["study"]["status"],
            "status_line": study_status_line(prof["study"]),
        },
    }


#: Sections of the case format left out of the clinician letter's annex: the referral header
#: and question (in the letter itself) and the family's practicalities (not clinical; their
#: questions are answered in the letter). Every other section, present or future, is printed.
ANNEX_LEFT_OUT = frozenset({"referral", "family"})


def annex_sections(doc: dict[str, Any], sections: Any = None) -> list[dict[str, Any]]:
    """The whole clinical summary of a case for the clinician letter's annex: every section of
    the case format's field table (``cases.display.case_sections``, built from
    ``caseformat.fields``) but the referral and the family, every field that holds a value,
    lists of objects (treatment lines, ALK variants) with each item's fields."""
    if sections is None:
        from panel.cases.display import case_sections as sections
    return [
        {
            "key": s.key,
            "title": s.title,
            "rows": [
                {"path": r.path, "label": r.label, "value": r.value, "entries": r.items}
                for r in s.rows
            ],
        }
        for s in sections(doc)
        if s.key not in ANNEX_LEFT_OUT and s.rows
    ]


def _asked_later(rec: Recommendation, question) -> str:
    """The date a question was sent to the panel when it came after the record was approved
    (a family's follow-up question): the panel has not had the chance to answer it in the
    approved record, so the letters say "sent to the panel on DATE" until it is answered.
    '' for the questions the approved record had to answer."""
    if rec.approved_at is None or question.created_at is None:
        return ""
    return uk_date(question.created_at) if question.created_at > rec.approved_at else ""


def clinician_context(rec: Recommendation) -> dict[str, Any]:
    """What the clinician letter prints, as plain data."""
    from panel.cases.display import case_sections
    from panel.cases.operations import to_document

    case = rec.case
    ctx = _common(rec, "clinician")
    by_q = ctx.pop("_answers_by_question")
    doc = to_document(case)
    summary = annex_sections(doc, case_sections)
    studies = _studies(rec)
    centre = case.referring_centre
    ctx.update(
        addressee={
            "name": case.created_by.name,
            "centre": centre.name if centre is not None else "",
        },
        copies=[r.user.name for r in case.co_referrers],
        signatory=rec.approved_by.name if rec.approved_by is not None else "",
        clinical_question=(doc.get("clinical_question") or "").strip(),
        summary=summary,
        categories=[{"code": c, "label": CATEGORIES.get(c, c)} for c in rec.categories or []],
        consensus_label=CONSENSUS.get(rec.consensus, rec.consensus),
        options_considered=rec.options_considered.strip(),
        rationale=rec.rationale.strip(),
        trials=_sorted_trials(rec.trials),
        molecular_profiling=(
            PROFILING_NO_STUDY
            if rec.molecular_profiling == "recommended" and not studies["profiling"]["confirmed"]
            else PROFILING.get(rec.molecular_profiling, rec.molecular_profiling.replace("_", " "))
        ),
        studies=studies,
        answers=[
            {
                "number": i,
                "question": q.text,
                "source": q.source,
                "answer": (by_q[q.id].clinician_answer.strip() if q.id in by_q else ""),
                "asked": _asked_later(rec, q),
            }
            for i, q in enumerate(case.questions, start=1)
        ],
        follow_ups=[
            {
                "description": f.description,
                "owner": OWNER_ROLES.get(f.owner_role, f.owner_role.capitalize()),
                "due_in_days": f.due_in_days,
                "due_date": uk_date(f.due_at),
                "done": f.done_at is not None,
            }
            for f in rec.follow_ups
        ],
        disclaimer=DISCLAIMER_CLINICIAN,
        glossary=[],
    )
    return ctx


#: The family letter's layouts: the standard letter, large print (16 pt) and easy read.
FAMILY_LAYOUTS = ("standard", "large_print", "easy_read")


def family_context(rec: Recommendation, layout: str = "standard") -> dict[str, Any]:
    """What the family letter prints, as plain data: no staff names, no e-mail addresses, and
    the glossary of the medical words that the letter uses. ``layout`` is one of
    :data:`FAMILY_LAYOUTS`."""
    if layout not in FAMILY_LAYOUTS:
        raise ValueError(f"unknown family letter layout {layout!r}")
    ctx = _common(rec, "family")
    by_q = ctx.pop("_answers_by_question")
    case = rec.case
    trials = _sorted_trials(rec.trials)
    studies = _studies(rec)
    plain = plain_words([t["id"] for t in trials if t["id"]])
    advice = family_advice(rec.categories)
    profiling_plain = FAMILY_PROFILING.get(rec.molecular_profiling, "")
    if rec.molecular_profiling == "recommended" and not studies["profiling"]["confirmed"]:
        profiling_plain = FAMILY_PROFILING_NO_STUDY
    ctx.update(
        categories=[c for stage in advice for c in stage["categories"]],
        advice=advice,
        consensus_plain=FAMILY_CONSENSUS.get(rec.consensus, ""),
        trials=[_family_trial(t, plain) for t in trials if t["verdict"] != "ineligible"],
        layout=layout,
        family_summary=rec.family_summary.strip(),
        family_re_present=rec.family_re_present.strip(),
        # Never the clinician's text: the family's own sentence, else a plain generic one.
        re_present=rec.family_re_present.strip()
        or (FAMILY_RE_PRESENT_GENERIC if rec.re_present.strip() else ""),
        # {"language", "text", "dir"} in the family's language and script (panel/cases/needs.py)
        translation_notice=communication_needs(case).translation_notice,
        molecular_profiling=profiling_plain,
        studies=studies,
        answers=[
            {
                "number": i,
                "question": q.text,
                "answer": (by_q[q.id].family_answer.strip() if q.id in by_q else ""),
                "asked": _asked_later(rec, q),
            }
            for i, q in enumerate(case.questions, start=1)
        ],
        organisations=support_organisations(),
        trial_finders=trial_finders(),
        disclaimer=DISCLAIMER_FAMILY,
        glossary=[],
    )
    # Explain each medical word the letter uses: render the body once, then look the words up.
    text = _visible_text(render_template(family_body(layout), letter=ctx))
    ctx["glossary"] = glossary_for(text)
    return ctx


def family_body(layout: str) -> str:
    """The template of the family letter's body for ``layout`` (easy read has its own)."""
    if layout == "easy_read":
        return "feedback/letters/_family_easy_read.html"
    return "feedback/letters/_family_body.html"


def _family_trial(t: dict[str, Any], plain: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """One suggested trial as the family letter prints it: the registry's plain words (the
    registry title only on a draft before they are written), miles, availability in plain
    words."""
    plain_title, plain_summary = plain.get(t["id"], ("", ""))
    distance = miles_text(t["distance_km"])
    keep = (
        "id",
        "title",
        "phase",
        "site",
        "every_site",
        "distance_km",
        "status",
        "status_label",
        "verified_on",
        "status_source",
        "availability",
    )
    return {k: t[k] for k in keep} | {
        "plain_title": plain_title,
        "plain_summary": plain_summary,
        "name": plain_title or t["title"],
        "distance": distance,
        "status_plain": ""
        if t["status"] in ("open", "recruiting")
        else FAMILY_STATUS.get(t["status"], "We do not know if this trial is taking new patients."),
        "family_availability": family_availability(
            t["status"],
            t["site"],
            t["verified_on"],
            t["status_source"],
            distance,
            t["every_site"],
        ),
    }


def _visible_text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def letter_context(rec: Recommendation, kind: str, layout: str = "standard") -> dict[str, Any]:
    if kind == "clinician":
        return clinician_context(rec)
    if kind == "family":
        return family_context(rec, layout)
    raise ValueError(f"unknown letter kind {kind!r}")


# --------------------------------------------------------------------------- rendering
def render_letter_html(
    rec: Recommendation, kind: str, *, for_pdf: bool = False, layout: str = "standard"
) -> str:
    """The letter as HTML: the sheet alone (for the app's page) or, with ``for_pdf``, a whole
    document with the print stylesheet, page footer and (before approval) a DRAFT watermark.
    ``layout`` (family letter only) is one of :data:`FAMILY_LAYOUTS`."""
    letter = letter_context(rec, kind, layout)
    return render_template(f"feedback/letters/{kind}.html", letter=letter, for_pdf=for_pdf)


def render_letter_pdf(rec: Recommendation, kind: str, layout: str = "standard") -> bytes:
    """The letter as an A4 PDF."""
    return html_to_pdf(render_letter_html(rec, kind, for_pdf=True, layout=layout))


def addendum_context(
    rec: Recommendation, questions: list, kind: str, *, number: int, at: datetime
) -> dict[str, Any]:
    """What an answer addendum prints: the follow-up questions it answers, each with the
    panel's answer for the clinician or, for the family, in plain language."""
    case = rec.case
    ctx = _common(rec, kind)
    by_q = ctx.pop("_answers_by_question")
    numbers = {q.id: i for i, q in enumerate(case.questions, start=1)}
    centre = case.referring_centre
    ctx.update(
        title=(
            f"Answer to the family's follow-up question (addendum {number})"
            if kind == "clinician"
            else "The panel's answer to your question"
        ),
        addendum_number=number,
        signatory=rec.approved_by.name if rec.approved_by is not None else "",
        date=uk_date(at),
        sent_date=uk_date(case.feedback_sent_at),
        addressee={
            "name": case.created_by.name,
            "centre": centre.name if centre is not None else "",
        },
        answers=[
            {
                "number": numbers.get(q.id, 0),
                "question": q.text,
                "asked": uk_date(q.created_at),
                "answer": (
                    (
                        by_q[q.id].clinician_answer
                        if kind == "clinician"
                        else by_q[q.id].family_answer
                    )
                    if q.id in by_q
                    else ""
                ).strip(),
            }
            for q in questions
        ],
        disclaimer=DISCLAIMER_CLINICIAN if kind == "clinician" else DISCLAIMER_FAMILY,
        glossary=[],
        latest_amendment=None,
    )
    if kind == "family":
        ctx["glossary"] = glossary_for(" ".join(a["answer"] for a in ctx["answers"]))
    return ctx


def pdf_filename(case, kind: str, layout: str = "standard") -> str:
    suffix = "" if layout == "standard" else "-" + layout.replace("_", "-")
    return f"{case.reference}-{kind}-letter{suffix}.pdf"
