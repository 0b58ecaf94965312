"""Every change to a case: validate, guard privacy, flush, audit. Never commit.

The document functions take plain ``panel-case/2`` or ``panel-case/1`` dicts (a v1 document is
converted, :mod:`panel.caseformat.convert`) and give ``panel-case/2`` ones
(:func:`to_document`; :func:`to_document_v1` for neuroblastoma cases), so the form, both JSON
APIs and the command line all go through the same checks. ``Case.data`` holds the v2 body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from panel.accounts.models import Centre, Panel, User
from panel.caseformat import convert, schema, v2
from panel.cases import workflow
from panel.cases.models import (
    BEFORE_DISCUSSION,
    EDITABLE,
    Case,
    CaseQuestion,
    CaseReferrer,
    CaseRevision,
    CaseStatus,
    InformationRequest,
    ReferenceCounter,
    tumour_of,
)
from panel.core import audit
from panel.core.db import db, utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.privacy.guard import GuardFinding, guard_texts


# --------------------------------------------------------------------------- errors
class InvalidCase(Refused):
    """The document is not a valid ``panel-case/2`` (or ``panel-case/1``) document."""

    def __init__(self, problems: list[schema.Problem]):
        self.problems = problems
        super().__init__(f"{problems[0].field}: {problems[0].message}", problems[0].field)


@dataclass
class SaveResult:
    case: Case
    warnings: list[GuardFinding] = field(default_factory=list)
    replayed: bool = False  # create_case found the case made earlier with the same creation key


# --------------------------------------------------------------------------- references
def allocate_reference(year: int | None = None) -> str:
    """The next ``NB-<year>-<number>``, unique even when several processes ask at once."""
    year = year or utcnow().year
    session = db.session
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    )
    number = session.execute(bump).scalar()
    if number is None:
        dialect = session.get_bind().dialect.name
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReferenceCounter)
        session.execute(
            ins.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
        )
        number = session.execute(bump).scalar()
    return f"NB-{year}-{number:04d}"


# --------------------------------------------------------------------------- documents
def _codes() -> tuple[set[str], set[str]]:
    panels = set(db.session.scalars(select(Panel.code)))
    centres = set(db.session.scalars(select(Centre.code)))
    return panels, centres


def check_document(doc: Any, *, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a document of either version for saving as a draft and give its ``panel-case/2``
    body; raise :class:`InvalidCase`. A ``panel-case/1`` document is checked as v1 (its problems
    name v1 paths) and converted; replacing ``stored`` (a v2 document), it keeps what v1 cannot
    carry (:func:`convert.merge_v1`)."""
    panels, centres = _codes()
    if isinstance(doc, dict) and doc.get("schema") == schema.SCHEMA:
        if stored is not None and stored.get("tumour") and not convert.is_neuroblastoma(stored):
            morph = stored["tumour"].get("morphology")
            raise InvalidCase(
                [
                    schema.Problem(
                        "schema",
                        f"{schema.SCHEMA} holds neuroblastoma cases only; this case's tumour "
                        f"type is {morph or 'not neuroblastoma'}: send it as {v2.SCHEMA_V2}",
                    )
                ]
            )
        problems = schema.validate(doc, panels=panels, centres=centres)
        if problems:
            raise InvalidCase(problems)
        doc = (
            convert.merge_v1(stored, schema.normalise(doc))
            if stored is not None
            else convert.v1_to_v2(schema.normalise(doc))
        )
    elif not (isinstance(doc, dict) and doc.get("schema") == v2.SCHEMA_V2):
        raise InvalidCase(
            [
                schema.Problem(
                    "schema", f'must be "{v2.SCHEMA_V2}" (or "{schema.SCHEMA}" for neuroblastoma)'
                )
            ]
        )
    problems = v2.validate_v2(doc, panels=panels, centres=centres)
    if problems:
        raise InvalidCase(problems)
    return schema.normalise(doc)


def to_document(case: Case) -> dict[str, Any]:
    """The case as ``panel-case/2`` (with its reference), questions in their current order."""
    doc = {
        "schema": v2.SCHEMA_V2,
        "reference": case.reference,
        **{k: v for k, v in (case.data or {}).items() if k != "schema"},
    }
    family = dict(doc.get("family") or {})
    questions = [q.text for q in case.questions]
    if questions or "questions" in ((case.data or {}).get("family") or {}):
        family["questions"] = questions
    if family:
        doc["family"] = family
    return doc


def to_document_v1(case: Case) -> dict[str, Any]:
    """The case as ``panel-case/1``; raises :class:`convert.NotConvertible` (with a message to
    show) for a case that is not neuroblastoma."""
    return convert.v2_to_v1(to_document(case))


def stored_document(case: Case) -> dict[str, Any]:
    """The stored v2 body with the schema key (what a v1 save merges into)."""
    return {**(case.data or {}), "schema": v2.SCHEMA_V2}


def _split_questions(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """Move ``family.questions`` out of the body; remember that the key was there."""
    family = doc.get("family")
    if not isinstance(family, dict) or "questions" not in family:
        return doc, None
    questions = list(family.get("questions") or [])
    family = dict(family)
    family["questions"] = []  # a marker: the key was present (round-trips as [] or the list)
    return {**doc, "family": family}, questions


def check_panel_takes(doc: dict[str, Any]) -> None:
    """Refuse a document whose panel does not take its tumour type (``Panel.refusal_for``),
    naming the field ``panel``."""
    code = doc.get("panel")
    panel = db.session.scalar(select(Panel).where(Panel.code == code)) if code else None
    refusal = panel.refusal_for(tumour_of(doc)) if panel is not None else None
    if refusal:
        raise InvalidCase([schema.Problem("panel", refusal)])


def _apply_header(case: Case, doc: dict[str, Any]) -> None:
    panel_code, centre_code = doc.get("panel"), doc.get("referring_centre")
    if panel_code:
        case.panel_id = db.session.scalar(select(Panel.id).where(Panel.code == panel_code))
    if centre_code:
        case.referring_centre_id = db.session.scalar(
            select(Centre.id).where(Centre.code == centre_code)
        )
    else:
        case.referring_centre_id = None
    case.urgency = doc.get("urgency") or "routine"


def create_case(doc: dict[str, Any], *, by: User, creation_key: str | None = None) -> SaveResult:
    """Create a draft from a ``panel-case/2`` or ``panel-case/1`` document (possibly
    incomplete)."""
    if not by.is_referrer:
        raise NotAllowed("Only referring doctors create cases.")
    if creation_key:
        existing = db.session.scalar(
            select(Case).where(Case.created_by_id == by.id, Case.creation_key == creation_key)
        )
        if existing is not None:
            return SaveResult(existing, replayed=True)
    doc = check_document(doc)
    warnings = guard_texts(v2.text_fields_v2(doc))
    if not doc.get("panel"):
        raise InvalidCase([schema.Problem("panel", "is required to create a case")])
    check_panel_takes(doc)
    if not doc.get("referring_centre") and by.centre is not None:
        doc["referring_centre"] = by.centre.code
    body, questions = _split_questions(doc)
    case = Case(
        reference=allocate_reference(), created_by_id=by.id, data=body, creation_key=creation_key
    )
    _apply_header(case, body)
    db.session.add(case)
    db.session.flush()
    for i, text in enumerate(questions or []):
        db.session.add(CaseQuestion(case_id=case.id, position=i, text=text))
    db.session.flush()
    db.session.refresh(case, ["questions"])
    audit.record("case.created", obj=case, actor=by, details={"panel": doc.get("panel")})
    return SaveResult(case, warnings)


def _snapshot(case: Case, reason: str, by: User | None) -> CaseRevision:
    number = (
        db.session.scalar(
            select(func.max(CaseRevision.number)).where(CaseRevision.case_id == case.id)
        )
        or 0
    ) + 1
    rev = CaseRevision(
        case_id=case.id,
        number=number,
        document=to_document(case),
        status=case.status.value,
        reason=reason,
        created_by_id=by.id if by else None,
    )
    db.session.add(rev)
    return rev


def update_case(
    case: Case, doc: dict[str, Any], *, by: User, expected_version: int | None
) -> SaveResult:
    """Replace the referral with ``doc`` (optimistic locking on ``expected_version``)."""
    if not case.can_edit(by):
        raise NotAllowed("This case cannot be edited now.")
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            "Someone else saved this case while you were editing it. Reload to see their changes; "
            "your version was not saved."
        )
    # Workflow status, creator and version are never taken from a document: "status" is the
    # format's disease-status section (an object) and the others are unknown keys.
    doc = check_document(doc, stored=stored_document(case))
    warnings = guard_texts(v2.text_fields_v2(doc))
    if doc.get("panel") and doc["panel"] != case.panel.code and case.status != CaseStatus.DRAFT:
        raise InvalidCase(
            [schema.Problem("panel", "cannot change after submission (the panel refers it on)")]
        )
    check_panel_takes({**doc, "panel": doc.get("panel") or case.panel.code})
    if not case.can_set_urgency(by):
        # After submission the urgency is the coordinator's: a document that leaves it out (or
        # repeats the stored value) keeps it; one that changes it is refused, naming the field.
        if doc.get("urgency") not in (None, case.urgency):
            raise InvalidCase(
                [
                    schema.Problem(
                        "urgency",
                        f"is set by the panel's coordinator after submission (it is {case.urgency}); "
                        "leave it out or send the stored value",
                    )
                ]
            )
        doc = {**doc, "urgency": case.urgency}
    before = to_document(case)
    with db.session.no_autoflush:  # one UPDATE of the case (and one version step) per save
        if case.submitted_at is not None:
            _snapshot(case, "before_edit", by)
        body, questions = _split_questions(doc)
        case.data = body
        _apply_header(case, body)
        if questions is not None:
            _replace_questions(case, questions)
        case.updated_at = utcnow()
    db.session.flush()
    changed = [f for f, _, _ in field_diff(before, to_document(case))]
    audit.record("case.updated", obj=case, actor=by, details={"fields": changed}, clinical=False)
    return SaveResult(case, warnings)


def _replace_questions(case: Case, texts: list[str]) -> None:
    """Match questions by text where possible so unchanged questions keep their identity."""
    existing = list(case.questions)
    remaining = {q.id: q for q in existing}
    new_list: list[CaseQuestion] = []
    for text in texts:
        match = next((q for q in remaining.values() if q.text == text), None)
        if match is not None:
            del remaining[match.id]
            new_list.append(match)
        else:
            new_list.append(CaseQuestion(case_id=case.id, text=text, position=0))
    for q in remaining.values():
        case.questions.remove(q)
    for i, q in enumerate(new_list):
        q.position = i
        if q not in case.questions:
            case.questions.append(q)
    case.questions.sort(key=lambda q: q.position)


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": 1, "c[0]": "x"}`` for comparing two documents field by field."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        if not doc and prefix:
            out[prefix] = {}
        for key, value in doc.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(doc, list):
        if not doc:
            out[prefix] = []
        for i, value in enumerate(doc):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = doc
    return out


def field_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for every field that differs between two documents."""
    a, b = flatten(old), flatten(new)
    return [
        (k, a.get(k), b.get(k))
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k) and k != "reference"
    ]


# --------------------------------------------------------------------------- workflow
def submit_case(case: Case, *, by: User) -> Case:
    """Draft (or information requested) -> submitted, when every required field is there.
    Submitting an already submitted case is a no-op (a double click makes one submission)."""
    if case.status == CaseStatus.SUBMITTED and case.is_referrer(by):
        return case
    if not case.can_submit(by):
        raise NotAllowed("This case cannot be submitted now.")
    refusal = case.panel.refusal_for(case)
    if refusal:
        raise InvalidCase([schema.Problem("panel", refusal)])
    doc = to_document(case)
    problems = v2.missing_for_submit_v2(doc)
    if problems:
        raise InvalidCase(problems)
    guard_texts(v2.text_fields_v2(doc))
    previous = case.status
    now = utcnow()
    case.submitted_at = case.submitted_at or now
    open_request = case.open_information_request
    if open_request is not None:
        # Resubmission closes the request. A reply written before was recorded (and told) when
        # it was sent; without one, the timeline still shows that the questions were answered
        # by the resubmitted referral (the resubmission's notice tells the coordinators).
        if not open_request.response:
            workflow.apply(
                case,
                "information_answered",
                by=by,
                details={"request": open_request.id, "via": "resubmission"},
                quiet=True,
            )
        open_request.answered_at = now
    db.session.flush()
    kind = "submitted" if previous == CaseStatus.DRAFT else "resubmitted"
    revision = _snapshot(case, kind, by)
    workflow.apply(
        case,
        "submit" if previous == CaseStatus.DRAFT else "resubmit",
        by=by,
        details={"revision": revision.number},
    )
    return case


def withdraw_case(case: Case, *, by: User, reason: str = "") -> Case:
    if not case.can_withdraw(by):
        raise NotAllowed("This case cannot be withdrawn now.")
    reason = (reason or "").strip()[:500]
    if reason:
        guard_texts([("reason", reason)])
    case.withdrawn_at = utcnow()
    workflow.apply(
        case,
        "withdraw",
        by=by,
        text=reason or None,
        details={"reason": reason},
        clinical=bool(reason),
    )
    return case


def request_information(case: Case, *, by: User, questions: list[str]) -> Case:
    """A coordinator sends the case back to the referrer with specific questions."""
    if not case.can_request_information(by):
        raise NotAllowed(
            "Only the panel's coordinator can request information on a submitted case."
        )
    questions = [q.strip() for q in questions if q and q.strip()]
    if not questions:
        raise Refused("Write at least one question for the referrer.", "questions")
    guard_texts([(f"questions[{i}]", q) for i, q in enumerate(questions)])
    request = InformationRequest(questions=questions, requested_by_id=by.id)
    case.information_requests.append(request)
    db.session.flush()
    workflow.apply(
        case,
        "request_information",
        by=by,
        text="\n".join(questions),
        details={"request": request.id, "questions": questions},
        clinical=True,
    )
    return case


def respond_to_information_request(case: Case, text: str, *, by: User) -> InformationRequest:
    """The referrer's written reply to the coordinator's questions (before resubmitting)."""
    request = case.open_information_request
    if request is None or case.status != CaseStatus.INFO_REQUESTED or not case.is_referrer(by):
        raise NotAllowed("There is no open information request on this case for you to answer.")
    text = (text or "").strip()
    if not text:
        raise Refused("Write your reply.", "response")
    if len(text) > schema.MAX_TEXT["clinical_question"]:
        raise Refused("The reply is too long.", "response")
    guard_texts([("response", text)])
    request.response = text
    request.responded_by_id = by.id
    case.updated_at = utcnow()
    db.session.flush()
    workflow.apply(
        case,
        "information_answered",
        by=by,
        text=text,
        details={"request": request.id},
    )
    return request


#: One answer for unknown, inactive and non-referrer addresses: it reveals no accounts.
CO_REFERRER_REFUSED = (
    "A co-referrer must be an active referring doctor on Panel; check the e-mail address."
)


def add_co_referrer(case: Case, colleague: User, *, by: User) -> CaseReferrer:
    if not case.is_referrer(by) or case.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
        raise NotAllowed("Only the case's referrers can add a colleague.")
    if not colleague.is_referrer or not colleague.active:
        raise Refused(CO_REFERRER_REFUSED, "colleague")
    if case.is_referrer(colleague):
        raise Refused(f"{colleague.name} is already on this case.", "colleague")
    link = CaseReferrer(case=case, user=colleague, added_by_id=by.id)
    db.session.add(link)
    db.session.flush()
    audit.record("case.co_referrer_added", obj=case, actor=by, details={"user_id": colleague.id})
    return link


# --------------------------------------------------------------------------- questions
def _check_questions_editable(case: Case, by: User) -> None:
    if not case.can_edit_questions(by):
        raise NotAllowed("The parents' questions can no longer be changed on this case.")


def add_question(
    case: Case, text: str, *, by: User | None, source: str = "referral"
) -> CaseQuestion:
    if by is not None:
        _check_questions_editable(case, by)
    elif case.status not in BEFORE_DISCUSSION | {
        CaseStatus.FEEDBACK_SENT,
        CaseStatus.CLOSED,
        CaseStatus.DISCUSSED,
        CaseStatus.RECOMMENDATION,
    }:
        raise NotAllowed("Questions cannot be added to this case.")
    text = _clean_question(text)
    if len(case.questions) >= 20 and source == "referral":
        raise Refused("A referral carries at most 20 questions.", "question")
    guard_texts([("question", text)])
    q = CaseQuestion(case_id=case.id, text=text, position=len(case.questions), source=source)
    case.questions.append(q)
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "case.question_added", obj=case, actor=by, details={"question_id": q.id, "source": source}
    )
    return q


def _clean_question(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Refused("Write the question.", "question")
    if len(text) > schema.MAX_QUESTION:
        raise Refused(f"A question can be at most {schema.MAX_QUESTION} characters.", "question")
    return text


def edit_question(case: Case, question: CaseQuestion, text: str, *, by: User) -> CaseQuestion:
    _check_questions_editable(case, by)
    text = _clean_question(text)
    guard_texts([("question", text)])
    question.text = text
    question.updated_at = case.updated_at = utcnow()
    db.session.flush()
    audit.record("case.question_edited", obj=case, actor=by, details={"question_id": question.id})
    return question


def delete_question(case: Case, question: CaseQuestion, *, by: User) -> None:
    _check_questions_editable(case, by)
    case.questions.remove(question)
    for i, q in enumerate(case.questions):
        q.position = i
    case.updated_at = utcnow()
    db.session.flush()
    audit.record("case.question_removed", obj=case, actor=by, details={"question_id": question.id})


def move_question(case: Case, question: CaseQuestion, delta: int, *, by: User) -> None:
    """Move a question up (-1) or down (+1)."""
    _check_questions_editable(case, by)
    order = list(case.questions)
    i = order.index(question)
    j = max(0, min(len(order) - 1, i + delta))
    if i == j:
        return
    order.insert(j, order.pop(i))
    for pos, q in enumerate(order):
        q.position = pos
    case.questions.sort(key=lambda q: q.position)
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "case.questions_reordered", obj=case, actor=by, details={"order": [q.id for q in order]}
    )


EDITABLE_STATES = EDITABLE
