"""The recommendation record: drafting, answers to every parents' question, approval by the
chair, amendments after approval, frozen trials, studies, access and bad input."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from panel.cases import operations as case_ops
from panel.cases.models import CaseStatus
from panel.core.db import db
from panel.core.errors import Conflict, IdentifiersFound, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification
from panel.feedback import operations as ops
from panel.feedback.models import Recommendation, RecommendationStatus
from tests.support.data import answers_for, discussed_at_meeting, full_record_data
from tests.support.db import database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD
from tests.support.web import post_form


def url(case, tail: str = "") -> str:
    return f"/cases/{case.reference}/recommendation{tail}"


def editor_form(rec, *, answers: dict | None = None, **changes) -> dict:
    """The editor's posted fields for ``full_record_data`` (plus answers)."""
    data = full_record_data(**changes)
    form: dict = {
        "version": str(rec.version),
        "consensus": data["consensus"],
        "options_considered": data["options_considered"],
        "rationale": data["rationale"],
        "re_present": data["re_present"],
        "molecular_profiling": data["molecular_profiling"],
        "categories": data["categories"],
        "trials": [t["trial_id"] for t in data["trials"]],
    }
    for i, key in enumerate(data["categories"], 1):
        form[f"order-{key}"] = str(i)
    for t in data["trials"]:
        form[f"priority-{t['trial_id']}"] = str(t["priority"])
    for i, f in enumerate(data["follow_ups"]):
        form[f"fu-{i}-description"] = f["description"]
        form[f"fu-{i}-owner_role"] = f["owner_role"]
        form[f"fu-{i}-due_in_days"] = str(f["due_in_days"])
    form["fu-9-description"] = ""  # a spare blank row is ignored
    for qid, a in (answers or {}).items():
        form[f"answer-{qid}-clinician"] = a["clinician"]
        form[f"answer-{qid}-family"] = a["family"]
    return form


def actions(ref: str) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == ref).order_by(AuditEntry.id)
        )
    )


def reload(rec) -> Recommendation:
    db.session.expire_all()
    return db.session.get(Recommendation, rec.id)


# --------------------------------------------------------------------------- the full flow
def test_full_flow_draft_answers_approve(
    app, client, login, discussed_case, feedback_people, db_session
):
    """Can the coordinator draft the record and answer every question through the pages, and
    the chair approve it, locking it and notifying the coordinators?"""
    case = discussed_case
    coordinator, chair = feedback_people["nap_coordinator"], feedback_people["chair"]
    login(client, coordinator)
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Draft the recommendation" in page

    resp = post_form(app, client, url(case, "/start"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url(case))
    db_session.expire_all()
    rec = ops.recommendation_for(case)
    assert rec is not None and rec.status == RecommendationStatus.DRAFT
    assert case.status == CaseStatus.RECOMMENDATION
    assert len(rec.answers) == 3

    page = client.get(url(case)).get_data(as_text=True)
    assert "0 of 3 answered" in page
    for code in ("CRISP", "NAXITAMAB-201", "NANT-LORLATINIB", "MINIVAN"):
        assert f'value="{code}"' in page
    assert "ESMART" not in page  # ineligible trials are not offered
    assert "Leeds Children" in page and "131 km" in page

    # Save with two of three questions answered.
    some = dict(list(answers_for(case).items())[:2])
    resp = post_form(app, client, url(case), editor_form(rec, answers=some))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    rec = reload(rec)
    assert rec.categories == ["trial", "further_investigations"]
    assert [t["code"] for t in rec.trials] == ["CRISP", "NAXITAMAB-201"]
    assert rec.trials[0]["priority"] == 1 and rec.trials[0]["nearest_site"]["distance_km"] == 131
    assert rec.trials[0]["facts"] and rec.trials[0]["status"] == "open"
    assert rec.trial_status_as_of is not None
    assert [(f.owner_role, f.due_in_days) for f in rec.follow_ups] == [
        ("referrer", 14),
        ("coordinator", 7),
    ]
    assert len(ops.unanswered_questions(rec)) == 1
    assert "2 of 3 answered" in client.get(url(case)).get_data(as_text=True)

    resp = post_form(app, client, url(case), editor_form(rec, answers=answers_for(case)))
    assert resp.status_code == 302
    rec = reload(rec)
    assert ops.unanswered_questions(rec) == []

    chair_client = app.test_client()
    login(chair_client, chair)
    page = chair_client.get(url(case)).get_data(as_text=True)
    assert "3 of 3 answered" in page and "Approve and lock" in page
    resp = post_form(app, chair_client, url(case, "/approve"), {"version": str(rec.version)})
    assert resp.status_code == 302
    rec = reload(rec)
    assert rec.status == RecommendationStatus.APPROVED
    assert rec.approved_by_id == chair.id and rec.approved_at is not None
    assert rec.case.approved_at == rec.approved_at
    page = chair_client.get(url(case)).get_data(as_text=True)
    assert "Amend" in page and 'name="rationale"' not in page  # read-only now
    assert actions(case.reference)[-3:] == [
        "recommendation.saved",
        "recommendation.saved",
        "recommendation.approved",
    ]
    note = db_session.scalar(
        select(Notification).where(
            Notification.user_id == coordinator.id, Notification.kind == "recommendation.approved"
        )
    )
    assert note is not None and case.reference in note.text and "ALK" not in note.text


def test_save_and_approve_in_one_step(app, client, login, draft_recommendation, feedback_people):
    """Can a chair save the answers and approve with one button?"""
    rec = draft_recommendation
    login(client, feedback_people["chair"])
    form = editor_form(rec, answers=answers_for(rec.case))
    form["action"] = "approve"
    resp = post_form(app, client, url(rec.case), form)
    assert resp.status_code == 302
    assert reload(rec).is_approved


def test_save_and_approve_keeps_the_save_when_approval_is_refused(
    app, client, login, draft_recommendation, feedback_people
):
    """Is the draft saved even when "Save and approve" is refused for an unanswered question?"""
    rec = draft_recommendation
    login(client, feedback_people["chair"])
    form = editor_form(rec, rationale="A new rationale for the panel's choice.")
    form["action"] = "approve"
    resp = post_form(app, client, url(rec.case), form, follow_redirects=True)
    assert "Saved, but not approved" in resp.get_data(as_text=True)
    rec = reload(rec)
    assert not rec.is_approved and rec.rationale == "A new rationale for the panel's choice."


# --------------------------------------------------------------------------- approval
def test_coordinator_cannot_approve(app, client, login, draft_recommendation, feedback_people):
    """Is approval refused to a coordinator (NotAllowed; 403 through the page)?"""
    rec = draft_recommendation
    coordinator = feedback_people["nap_coordinator"]
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=coordinator,
        expected_version=rec.version,
    )
    db.session.commit()
    with pytest.raises(NotAllowed):
        ops.approve(rec, by=coordinator, expected_version=rec.version)
    db.session.rollback()
    login(client, coordinator)
    assert (
        post_form(app, client, url(rec.case, "/approve"), {"version": str(rec.version)}).status_code
        == 403
    )
    assert "Approve and lock" not in client.get(url(rec.case)).get_data(as_text=True)
    assert not reload(rec).is_approved


def test_chair_of_another_panel_cannot_approve(draft_recommendation, feedback_people):
    with pytest.raises(NotAllowed):
        ops.approve(draft_recommendation, by=feedback_people["north_chair"], expected_version=None)


def test_approval_refused_listing_the_unanswered_question(
    app, client, login, draft_recommendation, feedback_people
):
    """Is approval refused while a question is unanswered, naming it?"""
    rec = draft_recommendation
    case = rec.case
    answers = answers_for(case)
    last = case.questions[-1]
    answers[last.id]["family"] = "   "  # only the clinician answer: not complete
    ops.save_record(
        rec,
        full_record_data(answers=answers),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    db.session.commit()
    assert ops.unanswered_questions(rec) == [last]
    with pytest.raises(Refused) as err:
        ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    assert (
        last.text[:40] in err.value.message and "1 of the parents' questions" in err.value.message
    )
    db.session.rollback()
    login(client, feedback_people["chair"])
    resp = post_form(
        app, client, url(case, "/approve"), {"version": str(rec.version)}, follow_redirects=True
    )
    page = resp.get_data(as_text=True)
    assert "still need a clinician answer" in page and "treatment abroad" in page
    assert not reload(rec).is_approved


def test_question_added_by_the_family_later_needs_an_answer(
    approved_recommendation, feedback_people
):
    """Does a question the family sends later count as unanswered, and is answering it after
    approval an amendment with a reason?"""
    rec = approved_recommendation
    q = case_ops.add_question(
        rec.case, "Can we stay together on the ward?", by=None, source="family"
    )
    assert ops.unanswered_questions(rec) == [q]
    chair = feedback_people["chair"]
    with pytest.raises(Refused, match="reason"):
        ops.save_answer(
            rec,
            q,
            clinician_answer="Yes, parents can stay.",
            family_answer="Yes, you can stay.",
            by=chair,
        )
    ops.save_answer(
        rec,
        q,
        clinician_answer="Yes, parents can stay.",
        family_answer="Yes, you can stay.",
        by=chair,
        reason="Answer to the family's follow-up question",
    )
    assert ops.unanswered_questions(rec) == []
    am = rec.amendments[-1]
    assert am.number == 1 and list(am.after) == ["answers"]
    assert am.before["answers"][str(q.id)] is None
    assert am.after["answers"][str(q.id)]["family"] == "Yes, you can stay."


def test_approval_refused_without_categories_or_rationale(discussed_case, feedback_people):
    rec = ops.start_recommendation(discussed_case, by=feedback_people["nap_coordinator"])
    for q in discussed_case.questions:
        ops.save_answer(
            rec,
            q,
            clinician_answer="Clinical answer.",
            family_answer="Plain answer.",
            by=feedback_people["nap_coordinator"],
        )
    with pytest.raises(Refused, match="category"):
        ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)


# --------------------------------------------------------------------------- amendments
def test_editing_after_approval_needs_a_reason_and_makes_an_amendment(
    app, client, login, approved_recommendation, feedback_people
):
    """Is a change to an approved record refused without a reason, and recorded as amendment 1
    (before/after of the changed fields) with one?"""
    rec = approved_recommendation
    coordinator = feedback_people["nap_coordinator"]
    data = full_record_data(rationale="Revised: the trial slot at Leeds is confirmed.")
    for reason in (None, "", "   "):
        with pytest.raises(Refused, match="reason"):
            ops.save_record(rec, data, by=coordinator, expected_version=rec.version, reason=reason)
        db.session.rollback()
    rec = reload(rec)
    assert rec.amendments == [] and rec.rationale != data["rationale"]

    # Through the pages: the record form refuses without the reason, the amend form records it.
    login(client, coordinator)
    resp = post_form(app, client, url(rec.case), editor_form(rec, rationale=data["rationale"]))
    assert resp.status_code == 422 and "give a reason" in resp.get_data(as_text=True)
    resp = post_form(
        app, client, url(rec.case, "/amend"), editor_form(rec, rationale=data["rationale"])
    )
    assert resp.status_code == 422
    assert "Revised: the trial slot at Leeds is confirmed." in resp.get_data(
        as_text=True
    )  # nothing lost
    form = editor_form(rec, rationale=data["rationale"])
    form["reason"] = "The trial team confirmed a slot after the meeting."
    resp = post_form(app, client, url(rec.case, "/amend"), form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    rec = reload(rec)
    # A coordinator's change to the advice waits for a chair (issue 14): the approved text stays.
    assert rec.is_approved and rec.rationale != data["rationale"]
    [am] = rec.amendments
    assert am.is_pending
    ops.approve_amendment(rec, am, by=feedback_people["chair"])
    db.session.commit()
    rec = reload(rec)
    assert rec.is_approved and rec.rationale == data["rationale"]
    [am] = rec.amendments
    assert am.number == 1 and am.by_id == coordinator.id and am.is_applied
    assert am.reason == "The trial team confirmed a slot after the meeting."
    assert set(am.before) == set(am.after) == {"rationale"}
    assert am.after["rationale"] == data["rationale"] and am.before["rationale"].startswith(
        "ALK F1174L"
    )
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert "Amendment 1" in page and "The trial team confirmed a slot" in page
    assert "recommendation.amended" in actions(rec.case.reference)

    # A second amendment is numbered 2; an unchanged save records nothing.
    ops.save_record(
        rec,
        full_record_data(rationale=data["rationale"], re_present="In three months."),
        by=feedback_people["chair"],
        expected_version=rec.version,
        reason="Timing agreed",
    )
    assert [a.number for a in rec.amendments] == [1, 2]
    with pytest.raises(Refused, match="Nothing was changed"):
        ops.save_record(
            rec,
            full_record_data(rationale=data["rationale"], re_present="In three months."),
            by=feedback_people["chair"],
            expected_version=rec.version,
            reason="Again",
        )


def test_amendment_keeps_frozen_trials_and_freezes_new_ones(
    approved_recommendation, feedback_people
):
    rec = approved_recommendation
    before = [dict(t) for t in rec.trials]
    ops.save_record(
        rec,
        full_record_data(
            trials=[
                {"trial_id": "NAXITAMAB-201", "priority": 1},
                {"trial_id": "CRISP", "priority": 2},
                {"trial_id": "MINIVAN", "priority": 3},
            ]
        ),
        by=feedback_people["chair"],
        expected_version=rec.version,
        reason="MINIVAN added after review",
    )
    by_code = {t["code"]: t for t in rec.trials}
    assert [t["code"] for t in rec.trials] == ["NAXITAMAB-201", "CRISP", "MINIVAN"]
    assert {**by_code["CRISP"], "priority": 1} == before[0]  # unchanged apart from the priority
    assert by_code["MINIVAN"]["verdict"] == "eligible"
    assert rec.amendments[-1].before["trials"] == before


# --------------------------------------------------------------------------- frozen trials
def test_frozen_trials_do_not_change_with_the_registry(
    app, client, login, approved_recommendation, feedback_people, db_session
):
    """Does the record keep a trial as it was when frozen after the registry row changes?"""
    from panel.trials.models import Trial, TrialStatus

    rec = approved_recommendation
    frozen = [dict(t) for t in rec.trials]
    trial = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    trial.title = "CRISP renamed in the registry"
    trial.status = TrialStatus.CLOSED
    db_session.commit()
    rec = reload(rec)
    assert rec.trials == frozen
    login(client, feedback_people["nap_member"])
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert "CRISP: crizotinib with temsirolimus" in page and "CRISP renamed" not in page


def test_a_trial_that_does_not_match_is_refused(draft_recommendation, feedback_people):
    """Is a trial the case does not match (ineligible, unknown or a study) refused, nothing saved?"""
    rec = draft_recommendation
    version = rec.version
    for code in ("ESMART", "NO-SUCH-TRIAL", "NB-EPIDEMIOLOGY"):
        with pytest.raises(Refused, match="not among the trials"):
            ops.save_record(
                rec,
                full_record_data(trials=[{"trial_id": code, "priority": 1}]),
                by=feedback_people["nap_coordinator"],
                expected_version=version,
            )
        db.session.rollback()
    assert [t["code"] for t in reload(rec).trials] == ["CRISP", "NAXITAMAB-201"]


def test_a_trial_chosen_by_its_database_id(draft_recommendation, feedback_people, db_session):
    from panel.trials.models import Trial

    minivan = db_session.scalar(select(Trial).where(Trial.code == "MINIVAN"))
    rec = draft_recommendation
    ops.save_record(
        rec,
        full_record_data(trials=[{"trial_id": minivan.id, "priority": 1}]),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    assert [t["code"] for t in rec.trials] == ["MINIVAN"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": []}, "at least one"),
        ({"categories": ["trial", "trial"]}, "twice"),
        ({"categories": ["made_up"]}, "Unknown"),
        ({"consensus": "no_consensus", "options_considered": ""}, "options"),
        ({"consensus": "nearly"}, "agreed"),
        ({"rationale": "  "}, "rationale"),
        ({"molecular_profiling": "maybe"}, "profiling"),
        (
            {"follow_ups": [{"description": "Call", "owner_role": "referrer", "due_in_days": 0}]},
            "1 to 365",
        ),
        (
            {"follow_ups": [{"description": "Call", "owner_role": "janitor", "due_in_days": 3}]},
            "owns",
        ),
        ({"trials": [{"trial_id": "CRISP", "priority": "first"}]}, "whole number"),
        (
            {
                "trials": [
                    {"trial_id": "CRISP", "priority": 1},
                    {"trial_id": "CRISP", "priority": 2},
                ]
            },
            "twice",
        ),
    ],
)
def test_bad_record_input_is_refused(draft_recommendation, feedback_people, change, message):
    with pytest.raises(Refused, match=message):
        ops.save_record(
            draft_recommendation,
            full_record_data(**change),
            by=feedback_people["nap_coordinator"],
            expected_version=draft_recommendation.version,
        )


def test_no_consensus_with_options(draft_recommendation, feedback_people):
    rec = draft_recommendation
    ops.save_record(
        rec,
        full_record_data(
            consensus="no_consensus", options_considered="Trial, or standard salvage."
        ),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    assert (
        rec.consensus == "no_consensus" and rec.options_considered == "Trial, or standard salvage."
    )


def test_identifiers_are_refused_and_nothing_is_saved(
    app, client, login, draft_recommendation, feedback_people
):
    """Is a patient identifier in an answer or the rationale refused, with the text kept on the page?"""
    rec = draft_recommendation
    qid = rec.case.questions[0].id
    with pytest.raises(IdentifiersFound):
        ops.save_record(
            rec,
            full_record_data(rationale="Seen at clinic, NHS number 943 476 5919."),
            by=feedback_people["nap_coordinator"],
            expected_version=rec.version,
        )
    db.session.rollback()
    with pytest.raises(IdentifiersFound):
        ops.save_answer(
            rec,
            rec.case.questions[0],
            clinician_answer="NHS number 943 476 5919",
            family_answer="Plain.",
            by=feedback_people["nap_coordinator"],
        )
    db.session.rollback()
    login(client, feedback_people["nap_coordinator"])
    answers = {qid: {"clinician": "Her NHS number is 943 476 5919.", "family": "Plain words."}}
    resp = post_form(app, client, url(rec.case), editor_form(rec, answers=answers))
    page = resp.get_data(as_text=True)
    assert (
        resp.status_code == 422
        and "patient identifier" in page
        and "an answer to a parents" in page
    )
    assert "Plain words." in page  # what was typed is still there
    rec = reload(rec)
    assert all(not a.clinician_answer for a in rec.answers)


def test_html_in_answers_and_rationale_renders_inert(
    app, client, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    script = "<script>alert(1)</script><b>bold</b>"
    answers = {
        q.id: {"clinician": f"Clinical {script}", "family": f"Plain {script}"}
        for q in rec.case.questions
    }
    ops.save_record(
        rec,
        full_record_data(rationale=f"Because {script}", answers=answers),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db.session.commit()
    login(client, feedback_people["nap_member"])
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 7  # rationale + 2 x 3 answers
    client2 = app.test_client()
    login(client2, feedback_people["nap_coordinator"])
    page = client2.get(url(rec.case, "/amend")).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


# --------------------------------------------------------------------------- concurrency
def test_stale_version_is_a_conflict(app, client, login, draft_recommendation, feedback_people):
    """Does a save from a stale page get a conflict, keeping what the user typed?"""
    rec = draft_recommendation
    stale = rec.version
    ops.save_record(
        rec,
        full_record_data(rationale="Saved by the chair first."),
        by=feedback_people["chair"],
        expected_version=stale,
    )
    db.session.commit()
    with pytest.raises(Conflict):
        ops.save_record(
            rec, full_record_data(), by=feedback_people["nap_coordinator"], expected_version=stale
        )
    db.session.rollback()
    login(client, feedback_people["nap_coordinator"])
    form = editor_form(rec, rationale="The coordinator's own words.")
    form["version"] = str(stale)
    resp = post_form(app, client, url(rec.case), form)
    assert resp.status_code == 409
    assert "The coordinator&#39;s own words." in resp.get_data(as_text=True)
    assert reload(rec).rationale == "Saved by the chair first."


def test_two_approvals_with_the_same_version(approved_recommendation, feedback_people):
    """A second approval sent with the same (now stale) version gets a conflict."""
    rec = approved_recommendation
    with pytest.raises(Conflict):
        ops.approve(rec, by=feedback_people["nap_chair2"], expected_version=rec.version - 1)
    assert rec.approved_by_id == feedback_people["chair"].id


def test_conditional_update_refuses_a_stale_version(
    draft_recommendation, feedback_people, db_session
):
    """The approval's UPDATE itself checks status and version (not only the in-memory check)."""
    from sqlalchemy import update

    rec = draft_recommendation
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    db_session.commit()
    version = rec.version
    # Another process approves behind this session's back.
    db_session.execute(
        update(Recommendation)
        .where(Recommendation.id == rec.id)
        .values(status=RecommendationStatus.APPROVED, version=Recommendation.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict):
        ops.approve(rec, by=feedback_people["chair"], expected_version=version)


def test_simultaneous_approvals_one_wins(backend, tmp_path):
    """Do two chairs approving at the same moment (own connections, real commits) give exactly
    one approval and one conflict, on both databases?"""
    url_ = database_url(backend, tmp_path, "panel_test_approve_race")
    app = make_app(url_, tmp_path / "storage")
    migrate_and_seed(app)
    from panel.accounts import operations as account_ops
    from panel.accounts.models import Centre, Panel, PanelRoleKind, User
    from panel.cases.models import Case
    from tests.support.db import ROOT

    with app.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
        nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))
        referrer = account_ops.create_user(
            email="ref@nhs.example.org",
            name="Dr Ref",
            centre_id=centre.id,
            is_referrer=True,
            password=TEST_PASSWORD,
        )
        coord = account_ops.create_user(
            email="coord@nhs.example.org",
            name="Coord",
            centre_id=None,
            is_referrer=False,
            password=TEST_PASSWORD,
        )
        account_ops.add_panel_role(coord, nap, PanelRoleKind.COORDINATOR, by=None)
        chairs = []
        for i in range(2):
            chair = account_ops.create_user(
                email=f"chair{i}@nhs.example.org",
                name=f"Dr Chair {i}",
                centre_id=None,
                is_referrer=False,
                password=TEST_PASSWORD,
            )
            account_ops.add_panel_role(chair, nap, PanelRoleKind.CHAIR, by=None)
            chairs.append(chair)
        doc = json.loads((ROOT / "tests" / "data" / "case-example-alk.json").read_text())
        case = case_ops.create_case(doc, by=referrer).case
        case_ops.submit_case(case, by=referrer)
        discussed_at_meeting(db.session, case)
        rec = ops.start_recommendation(case, by=coord)
        ops.save_record(
            rec,
            full_record_data(trials=[], answers=answers_for(case)),
            by=coord,
            expected_version=rec.version,
        )
        db.session.commit()
        rec_id, version, chair_ids, case_id = rec.id, rec.version, [c.id for c in chairs], case.id

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def approver(chair_id: int) -> None:
        try:
            with app.app_context():
                me = db.session.get(User, chair_id)
                me.roles_on(0)  # load the roles now
                db.session.commit()
                barrier.wait()
                mine = db.session.get(Recommendation, rec_id)
                try:
                    ops.approve(mine, by=me, expected_version=version)
                    db.session.commit()
                    outcomes.append("approved")
                except Conflict:
                    db.session.rollback()
                    outcomes.append("conflict")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=approver, args=(cid,)) for cid in chair_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(outcomes) == ["approved", "conflict"]
    with app.app_context():
        rec = db.session.get(Recommendation, rec_id)
        assert rec.is_approved and rec.approved_by_id in chair_ids and rec.version == version + 1
        assert db.session.get(Case, case_id).approved_at == rec.approved_at
        approvals = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "recommendation.approved")
        ).all()
        assert len(approvals) == 1
        db.engine.dispose()


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize(
    ("who", "get", "post"),
    [
        ("nap_coordinator", 200, 302),
        ("chair", 200, 302),
        ("nap_member", 200, 403),
        ("north_coordinator", 404, 404),
        ("north_chair", 404, 404),
        ("referrer", 404, 404),
        ("other_referrer", 404, 404),
        ("admin", 404, 404),
    ],
)
def test_who_may_open_and_save_the_editor(
    app, client, login, draft_recommendation, feedback_people, who, get, post
):
    rec = draft_recommendation
    login(client, feedback_people[who])
    resp = client.get(url(rec.case))
    assert resp.status_code == get
    if get == 200:
        assert "ALK F1174L" in resp.get_data(as_text=True)
    assert post_form(app, client, url(rec.case), editor_form(rec)).status_code == post
    assert client.get(url(rec.case, "/amend")).status_code in (
        {200, 302}
        if who in ("nap_coordinator", "chair")
        else {403}
        if who == "nap_member"
        else {404}
    )
    expected_approve = {"chair": 302, "nap_member": 403, "nap_coordinator": 403}.get(who, 404)
    assert (
        post_form(app, client, url(rec.case, "/approve"), {"version": str(rec.version)}).status_code
        == expected_approve
    )


def test_member_reads_the_record_without_forms(
    app, client, login, draft_recommendation, feedback_people
):
    login(client, feedback_people["nap_member"])
    page = client.get(url(draft_recommendation.case)).get_data(as_text=True)
    assert (
        'data-testid="record-view"' in page
        and 'name="rationale"' not in page
        and "Approve and lock" not in page
    )


def test_anonymous_is_sent_to_login(client, draft_recommendation):
    resp = client.get(url(draft_recommendation.case))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_only_the_coordinator_or_chair_starts_and_only_after_discussion(
    app, client, login, feedback_people, make_case, discussed_case, db_session
):
    """Issue 14: the chair of the case's panel may start the draft too; members, and chairs of
    other panels, may not."""
    for outsider in ("nap_member", "north_chair"):
        with pytest.raises(NotAllowed):
            ops.start_recommendation(discussed_case, by=feedback_people[outsider])
    submitted = make_case(feedback_people["referrer"], submit=True)
    with pytest.raises(Refused, match="discussed"):
        ops.start_recommendation(submitted, by=feedback_people["nap_coordinator"])
    login(client, feedback_people["nap_member"])
    assert post_form(app, client, url(discussed_case, "/start")).status_code == 403
    rec = ops.start_recommendation(discussed_case, by=feedback_people["nap_coordinator"])
    assert (
        ops.start_recommendation(discussed_case, by=feedback_people["nap_coordinator"]) is rec
    )  # idempotent


def test_case_page_summary(app, client, login, draft_recommendation, feedback_people):
    """The case page shows the record's summary to the panel, and nothing to the referrer."""
    case = draft_recommendation.case
    login(client, feedback_people["nap_member"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert (
        'data-testid="case-record"' in page
        and "0 of 3 parents" in page
        and "Refer to a clinical trial" in page
    )
    assert "Draft the recommendation" not in page
    referrer = app.test_client()
    login(referrer, feedback_people["referrer"])
    page = referrer.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="case-record"' not in page


# --------------------------------------------------------------------------- studies
def test_study_opt_out(app, client, login, draft_recommendation, feedback_people, db_session):
    """Can the referrer record (and the coordinator withdraw) the family's opt-out of the
    epidemiological study, shown on the record?"""
    case = draft_recommendation.case
    status = ops.studies_status(case, draft_recommendation)
    assert status["epidemiology"]["included"] and status["profiling"]["label"] == "Requested"
    login(client, feedback_people["referrer"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="case-study"' in page and "Record the family&#39;s opt-out" in page
    resp = post_form(app, client, f"/cases/{case.reference}/study-opt-out", {"opted_out": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case.reference}")
    db_session.expire_all()
    assert case.study_opt_out_at is not None and ops.is_opted_out(case)
    assert "Withdraw the opt-out" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    coord = app.test_client()
    login(coord, feedback_people["nap_coordinator"])
    page = coord.get(url(case)).get_data(as_text=True)
    assert "Opted out by the family" in page and "Withdraw the opt-out" in page
    resp = post_form(app, coord, f"/cases/{case.reference}/study-opt-out", {"opted_out": "0"})
    assert resp.status_code == 302
    db_session.expire_all()
    assert case.study_opt_out_at is None
    assert actions(case.reference)[-2:] == ["case.study_opt_out", "case.study_opt_in"]
    member = app.test_client()
    login(member, feedback_people["nap_member"])
    assert (
        post_form(
            app, member, f"/cases/{case.reference}/study-opt-out", {"opted_out": "1"}
        ).status_code
        == 403
    )
    other = app.test_client()
    login(other, feedback_people["other_referrer"])
    assert (
        post_form(
            app, other, f"/cases/{case.reference}/study-opt-out", {"opted_out": "1"}
        ).status_code
        == 404
    )
    assert (
        post_form(
            app, coord, f"/cases/{case.reference}/study-opt-out", {"opted_out": "maybe"}
        ).status_code
        == 400
    )


# --------------------------------------------------------------------------- audit and snapshot
def test_audit_trail_and_snapshot(approved_recommendation, feedback_people):
    rec = approved_recommendation
    assert actions(rec.case.reference) == [
        "case.created",
        "case.submitted",
        "recommendation.started",
        "recommendation.saved",
        "recommendation.saved",
        "recommendation.approved",
    ]
    snap = ops.record_snapshot(rec)
    assert set(snap) == {
        "categories",
        "consensus",
        "options_considered",
        "rationale",
        "trials",
        "follow_ups",
        "re_present",
        "family_summary",
        "family_re_present",
        "molecular_profiling",
        "answers",
    }
    assert len(snap["answers"]) == 3 and all(
        a["clinician"] and a["family"] for a in snap["answers"].values()
    )
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("recommendation.%"))
    ).all()
    assert all(e.panel_id == rec.case.panel_id for e in entries)
    assert all("ALK" not in str(e.details) for e in entries if not e.clinical)
