"""Demo data for local use: people at several centres, on the national and one ECMC panel.

Loaded once by ``flask --app panel demo-data``; refused by a production configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from flask import current_app
from sqlalchemy import select

from panel.accounts import operations
from panel.accounts.models import Centre, Panel, PanelRoleKind, User
from panel.accounts.reference import load_reference_data
from panel.core.db import db, utcnow

DEMO_PASSWORD = "Panel-demo-2026"  # noqa: S105 - local demo accounts, refused in production
DEMO_DOMAIN = "demo.example.org"


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name: str
    centre: str | None
    referrer: bool = False
    admin: bool = False
    roles: tuple[tuple[str, PanelRoleKind], ...] = ()

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"

    @property
    def description(self) -> str:
        parts = []
        if self.admin:
            parts.append("admin")
        if self.referrer:
            parts.append(f"referrer at {self.centre}")
        parts += [f"{role.value} of {panel}" for panel, role in self.roles]
        return ", ".join(parts)


M, C, K = PanelRoleKind.MEMBER, PanelRoleKind.CHAIR, PanelRoleKind.COORDINATOR

PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("aisha.rahman", "Dr Aisha Rahman", "NEWCASTLE", referrer=True),
    DemoPerson("tom.whitfield", "Dr Tom Whitfield", "BIRMINGHAM", referrer=True),
    DemoPerson("priya.natarajan", "Dr Priya Natarajan", "SOUTHAMPTON", referrer=True),
    DemoPerson("helen.carter", "Prof Helen Carter", "GOSH", roles=(("NAP", C), ("NAP", M))),
    DemoPerson("james.okafor", "Dr James Okafor", "MANCHESTER", roles=(("NAP", M),)),
    DemoPerson("sophie.lindqvist", "Dr Sophie Lindqvist", "ROYAL_MARSDEN", roles=(("NAP", M),)),
    DemoPerson("rachel.moore", "Rachel Moore", None, roles=(("NAP", K),)),
    DemoPerson(
        "fiona.macleod", "Dr Fiona MacLeod", "GLASGOW", roles=(("ECMC-NORTH", C), ("ECMC-NORTH", M))
    ),
    DemoPerson("ben.ashworth", "Dr Ben Ashworth", "LEEDS", roles=(("ECMC-NORTH", M),)),
    DemoPerson("chloe.evans", "Dr Chloe Evans", "NEWCASTLE", roles=(("ECMC-NORTH", M), ("NAP", M))),
    DemoPerson("daniel.price", "Daniel Price", None, roles=(("ECMC-NORTH", K),)),
    DemoPerson("sam.taylor", "Sam Taylor", None, admin=True),
)


class DemoDataRefused(RuntimeError):
    pass


def demo_data_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.is_demo).limit(1)) is not None


def load_demo_data() -> list[tuple[DemoPerson, User]]:
    """Create the demo people (once). Returns them with their accounts."""
    if not current_app.config.get("ALLOW_DEMO_DATA"):
        raise DemoDataRefused("Demo data is refused in a production configuration.")
    load_reference_data()
    from panel.trials.registry import load_registry

    load_registry(new_only=True)
    if demo_data_loaded():
        return []
    centres = {c.code: c for c in db.session.scalars(select(Centre))}
    panels = {p.code: p for p in db.session.scalars(select(Panel))}
    created = []
    for person in PEOPLE:
        user = operations.create_user(
            email=person.email,
            name=person.name,
            centre_id=centres[person.centre].id if person.centre else None,
            is_referrer=person.referrer,
            is_admin=person.admin,
            password=DEMO_PASSWORD,
            is_demo=True,
        )
        for panel_code, role in person.roles:
            operations.add_panel_role(user, panels[panel_code], role, by=None)
        if user.requires_totp:
            # Demo accounts that must use two-factor come enrolled; `flask demo-totp` shows codes.
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = utcnow()
        created.append((person, user))
    db.session.flush()
    load_demo_cases()
    load_demo_meetings()
    load_demo_feedback()
    load_demo_senders(centres)
    return created


def load_demo_senders(centres: dict) -> None:
    """A demo hospital PACS of Newcastle's, allowed from this machine only: with
    ``flask --app panel dicom-listen`` running, ``storescu -aet DEMO_PACS -aec PANEL 127.0.0.1
    11112 FILES`` sends studies to the demo referrer's cases (docs/imaging.md)."""
    from panel.imaging.netcli import add_sender

    add_sender(
        centres["NEWCASTLE"],
        "DEMO_PACS",
        network="127.0.0.0/8",
        label="Demo RVI PACS (this machine)",
    )


def _example(name: str) -> dict:
    return _document(f"case-example-{name}.json")


def _document(filename: str) -> dict:
    import json
    from importlib import resources

    return json.loads(resources.files("panel.data.demo_cases").joinpath(filename).read_text())


def demo_case_documents() -> list[tuple[str, str, dict]]:
    """(referrer key, target state, document) for the demo cases: panel-case/1 neuroblastoma
    documents (converted on creation, as an old client's would be) and panel-case/2 documents
    of other tumour types."""
    import copy

    alk = _example("alk")
    refractory = _example("refractory")

    ref_bham = copy.deepcopy(refractory)
    ref_bham["referring_centre"] = "BIRMINGHAM"

    north = copy.deepcopy(alk)
    north.update(
        panel="ECMC-NORTH",
        urgency="urgent",
        clinical_question="Second relapse after lorlatinib on the NANT trial. Is there an early-phase trial for ALK-resistant disease in the north?",
    )
    north["status"].update(episode=2, months_diagnosis_to_event=41, months_since_last_treatment=1)
    north["patient"].update(age_now_months=71)
    north["treatment"]["prior_alk_inhibitor"] = ["LORLATINIB"]
    north["treatment"]["lines"].append(
        {"phase": "salvage", "regimen": "LORLATINIB", "cycles": 9, "best_response": "PD"}
    )
    north["family"]["questions"] = [
        "Are there any trials left for our child?",
        "Can treatment be given closer to home?",
    ]
    # Communication needs, shown on the case page and, once there is a record, where the
    # letter is prepared and sent (the send step asks about the translation).
    north["family"]["communication"] = {
        "language": "urdu",
        "interpreter": True,
        "easy_read": True,
    }

    progressive = copy.deepcopy(refractory)
    progressive.update(
        referring_centre="SOUTHAMPTON",
        clinical_question="Progression during induction (new liver lesions). Salvage options and trials?",
    )
    progressive["status"] = {
        "category": "progressive",
        "episode": 1,
        "months_diagnosis_to_event": 3,
        "months_since_last_treatment": 0,
        "relapse_pattern": "combined",
    }
    progressive["disease"]["sites"] = ["bone", "bone_marrow", "liver"]
    progressive["disease"]["measurable"] = True
    progressive["biology"]["alk"] = {"status": "amplification", "copy_number": 12}
    progressive["biology"]["profiling_at_relapse"] = "pending"

    draft = {
        "schema": "panel-case/1",
        "panel": "NAP",
        "referring_centre": "SOUTHAMPTON",
        "urgency": "routine",
        "clinical_question": "Late isolated relapse in the skull base four years after diagnosis: local therapy or systemic?",
        "family": {
            "aware_of_referral": True,
            "questions": ["Could this be cured with radiotherapy alone?"],
        },
        "patient": {"age_at_diagnosis_months": 26, "age_now_months": 75, "sex": "female"},
        "diagnosis": {
            "inrg_stage": "M",
            "risk_group": "high",
            "primary_site": "adrenal",
            "mibg": "avid",
        },
        "status": {"category": "relapsed", "episode": 1, "months_diagnosis_to_event": 49},
    }

    info = copy.deepcopy(alk)
    info["referring_centre"] = "NEWCASTLE"
    info["clinical_question"] = (
        "Relapse in marrow only with an ALK R1275Q mutation. Which ALK-inhibitor trial is best?"
    )
    info["biology"]["alk"]["variants"] = [
        {"protein_change": "R1275Q", "vaf_pct": 8, "origin": "somatic"}
    ]
    info["family"]["questions"] = ["Is the new treatment given as tablets at home?"]

    # Three other tumour types at the ECMC North panel (panel-case/2: the core, the sarcoma
    # module where it applies, and the molecular alterations tumour-agnostic trials read).
    ecmc = [
        ("aisha.rahman", "submitted", _document(f"case-ecmc-{name}.json"))
        for name in ("rhabdomyosarcoma", "ewing", "glioma")
    ]

    return [
        ("aisha.rahman", "submitted", alk),
        ("tom.whitfield", "submitted", ref_bham),
        ("aisha.rahman", "submitted", north),
        ("priya.natarajan", "submitted", progressive),
        ("priya.natarajan", "draft", draft),
        ("aisha.rahman", "info_requested", info),
        *ecmc,
    ]


def load_demo_cases() -> list:
    """Create the demo cases through the same operations the app uses."""
    from panel.cases import operations as case_ops

    created = []
    coordinators = {p.code: None for p in db.session.scalars(select(Panel))}
    for person in PEOPLE:
        for panel_code, role in person.roles:
            if role == PanelRoleKind.COORDINATOR:
                coordinators[panel_code] = User.by_email(person.email)
    for key, state, doc in demo_case_documents():
        user = User.by_email(f"{key}@{DEMO_DOMAIN}")
        case = case_ops.create_case(doc, by=user).case
        if state in ("submitted", "info_requested"):
            case_ops.submit_case(case, by=user)
        if state == "info_requested":
            case_ops.request_information(
                case,
                by=coordinators[doc["panel"]],
                questions=["Please add the bone marrow result from the relapse assessment."],
            )
        created.append(case)
    db.session.flush()
    return created


def load_demo_meetings() -> list:
    """An upcoming video meeting for the national panel and one for ECMC North (UK time), with
    empty agendas: the coordinators put the submitted demo cases on them."""
    from datetime import time, timedelta

    from panel.core.uktime import from_uk, uk_today
    from panel.meetings.models import Meeting

    panels = {p.code: p for p in db.session.scalars(select(Panel))}
    today = uk_today()
    made = []
    for code, weekday, at, title in (
        ("NAP", 3, time(16, 0), "National Advisory Panel"),
        ("ECMC-NORTH", 1, time(13, 0), "ECMC North early-phase panel"),
    ):
        day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        coordinator = db.session.scalar(
            select(User)
            .join(User.panel_roles)
            .where(
                User.is_demo,
                User.panel_roles.any(panel_id=panels[code].id, role=PanelRoleKind.COORDINATOR),
            )
        )
        meeting = Meeting(
            panel_id=panels[code].id,
            title=title,
            starts_at=from_uk(day, at),
            duration_minutes=120,
            video_link="https://video.example.org/panel-" + code.lower(),
            created_by_id=coordinator.id if coordinator else None,
        )
        db.session.add(meeting)
        made.append(meeting)
    db.session.flush()
    return made


def demo_logins() -> list[tuple[str, str, bool]]:
    """(e-mail, description, needs a two-factor code) for the README and `make run`."""
    out = []
    for person in PEOPLE:
        user = User.by_email(person.email)
        if user is not None:
            out.append((person.email, person.description, user.totp_enabled))
    return out


# --------------------------------------------------------------------------- later stages
DEMO_RATIONALE = (
    "Persistent mIBG-avid bone disease after induction. The panel advises a trial if one is "
    "open to the child; otherwise standard salvage treatment, with re-assessment after two cycles."
)


def _demo_user(key: str) -> User:
    return User.by_email(f"{key}@{DEMO_DOMAIN}")


def _demo_past_meeting(coordinator: User):
    """The national panel's meeting that began an hour before the demo was loaded, at which
    the demo's later-stage cases were discussed: a real meeting (attendance, minutes, outcome)
    that has started, closed at the end of :func:`load_demo_feedback`."""
    from datetime import timedelta

    from panel.meetings import operations as meeting_ops
    from panel.meetings.models import Meeting, MeetingStatus

    title = "National Advisory Panel (earlier session)"
    meeting = db.session.scalar(select(Meeting).where(Meeting.title == title))
    if meeting is not None:
        return meeting
    nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))
    meeting = Meeting(
        panel_id=nap.id,
        title=title,
        starts_at=(utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0),
        duration_minutes=120,
        video_link="https://video.example.org/panel-nap",
        created_by_id=coordinator.id,
        status=MeetingStatus.PUBLISHED,
        published_at=utcnow() - timedelta(days=7),
    )
    db.session.add(meeting)
    db.session.flush()
    attending = [
        _demo_user(key).id
        for key in ("helen.carter", "james.okafor", "sophie.lindqvist", "chloe.evans")
    ]
    meeting_ops.set_attendance(meeting, attending, by=coordinator)
    return meeting


def _demo_discuss(case, coordinator: User, *, note: str) -> None:
    """Put ``case`` on that meeting, write its minutes and mark it discussed, as the
    coordinator does during a meeting."""
    from panel.meetings import minutes
    from panel.meetings import operations as meeting_ops

    meeting = _demo_past_meeting(coordinator)
    item = meeting_ops.add_case(meeting, case, by=coordinator)
    minutes.save_minutes(
        item,
        discussion=(
            "Persistent mIBG-avid bone disease after induction; the panel reviewed the scans "
            f"and the tumour biology ({note})."
        ),
        outcome=DEMO_RATIONALE,
        expected_version=item.minutes_version,
        by=coordinator,
    )
    minutes.record_outcome(item, by=coordinator)


def _demo_trials(case, coordinator: User) -> list[dict]:
    """The first open trial the case matches, to suggest in its record: its status checked by
    the demo coordinator first when it is unknown or stale (a demo check, said so in its
    source), as a coordinator does before approval. None when the case matches no open trial."""
    from panel.feedback import operations as feedback_ops
    from panel.trials.models import Trial, status_note
    from panel.trials.sync import mark_checked

    for entry in feedback_ops.trial_choices(case):
        if entry.get("status") != "open":
            continue
        if status_note(entry):
            trial = db.session.scalar(select(Trial).where(Trial.code == entry["code"]))
            mark_checked(
                trial,
                status="open",
                source="demo data: not a real check, confirm with the trial team",
                by=coordinator,
            )
        return [{"trial_id": entry["code"], "priority": 1}]
    return []


def _demo_screening_log(case, referrer: str) -> None:
    """The sent case's screening log: its first suggested trial referred to the trial team by
    the referrer, then screened (recorded by the coordinator)."""
    from panel.core.uktime import uk_today
    from panel.outcomes import operations as outcome_ops
    from panel.outcomes.screening import suggested_trials

    codes = list(suggested_trials(case))
    if not codes:
        return
    today = uk_today()
    outcome_ops.record_step(
        case,
        codes[0],
        "referred",
        today,
        note="Referral sent to the trial team by e-mail.",
        by=_demo_user(referrer),
    )
    outcome_ops.record_step(case, codes[0], "screened", today, by=_demo_user("rachel.moore"))


def _demo_sent_case(doc: dict, referrer: str, *, note: str, trials: bool = False):
    """A case through discussion, the record (every question answered), the chair's approval
    and the coordinator sending the feedback: its letters are rendered and stored once. With
    ``trials``, the record suggests the first open trial the case matches."""
    from panel.cases import operations as case_ops
    from panel.feedback import operations as feedback_ops
    from panel.feedback import sending

    coordinator, chair = _demo_user("rachel.moore"), _demo_user("helen.carter")
    case = case_ops.create_case(doc, by=_demo_user(referrer)).case
    case_ops.submit_case(case, by=_demo_user(referrer))
    _demo_discuss(case, coordinator, note=note)
    rec = feedback_ops.start_recommendation(case, by=coordinator)  # prefilled from the minutes
    answers = {
        q.id: {
            "clinician": f"The panel discussed this question ({note}); see the rationale above.",
            "family": "Your child's doctor will explain the panel's answer with you.",
        }
        for q in case.questions
    }
    feedback_ops.save_record(
        rec,
        {
            "categories": ["trial", "standard_salvage"],
            "consensus": "unanimous",
            "rationale": DEMO_RATIONALE,
            "re_present": "After two cycles, with restaging scans.",
            "molecular_profiling": "requested",
            "trials": _demo_trials(case, coordinator) if trials else [],
            "follow_ups": [
                {
                    "description": "Discuss the panel's advice with the family",
                    "owner_role": "referrer",
                    "due_in_days": 14,
                }
            ],
            "answers": answers,
        },
        by=coordinator,
        expected_version=rec.version,
    )
    feedback_ops.approve(rec, by=chair, expected_version=rec.version)
    # The coordinator has arranged the translation the family's language needs (if any).
    sending.send_feedback(rec, by=coordinator, translation_arranged=True)
    return case


def load_demo_feedback() -> dict:
    """Cases at the later stages, so a newcomer sees every one (part of the demo, loaded once
    with it): an information request the referrer has answered; a case whose feedback was sent
    (letters stored); and a sent case whose family has sent a follow-up question that waits
    for the panel's answer. Both sent cases have their follow-up outcome checks (made by the
    sending), due 3, 6 and 12 months after it: ``flask --app panel send-outcome-reminders
    --now <a date 3 months on>`` shows the reminders and makes the forms answerable."""
    import copy

    from panel.cases import operations as case_ops
    from panel.feedback import family

    out = {}
    with current_app.test_request_context("/"):
        refractory = _example("refractory")
        answered = copy.deepcopy(refractory)
        answered.update(
            referring_centre="BIRMINGHAM",
            clinical_question="Refractory bone marrow disease after induction: is a trial possible?",
        )
        tom = _demo_user("tom.whitfield")
        case = case_ops.create_case(answered, by=tom).case
        case_ops.submit_case(case, by=tom)
        case_ops.request_information(
            case,
            by=_demo_user("rachel.moore"),
            questions=["Please add the result of the latest bone marrow assessment."],
        )
        case_ops.respond_to_information_request(
            case,
            "The latest bone marrow assessment shows 5% infiltration (down from 20%).",
            by=tom,
        )
        out["information_answered"] = case

        sent = copy.deepcopy(refractory)
        sent["referring_centre"] = "NEWCASTLE"
        # Communication needs: the family letter is stored in large print too, and prints
        # at its top, in Polish, that a translated copy can be asked for.
        sent["family"]["communication"] = {
            "language": "polish",
            "interpreter": True,
            "large_print": True,
        }
        out["sent"] = _demo_sent_case(sent, "aisha.rahman", note="letters sent", trials=True)
        _demo_screening_log(out["sent"], "aisha.rahman")

        waiting = copy.deepcopy(refractory)
        waiting.update(
            referring_centre="SOUTHAMPTON",
            clinical_question="Refractory disease after induction: which salvage regimen?",
        )
        case = _demo_sent_case(waiting, "priya.natarajan", note="follow-up waiting")
        code, _ = family.create_code(case, by=_demo_user("priya.natarajan"))
        family.send_question(code, "Will the new treatment mean more time in hospital than before?")
        out["follow_up_waiting"] = case
        from panel.meetings import operations as meeting_ops

        meeting_ops.close_meeting(
            _demo_past_meeting(_demo_user("rachel.moore")), by=_demo_user("rachel.moore")
        )
    db.session.flush()
    return out
