"""Issue 16, plain language checked as it is written: the family summary and the family's
re-presentation sentence on the record, the readability hint as the author types (the htmx
endpoint: who may ask, bad input, nothing written, nothing logged) and after a save (the notes
under the fields and the flash; never blocking)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from panel.core.db import db
from panel.core.errors import IdentifiersFound
from panel.core.models import AuditEntry
from panel.core.readability import score
from panel.core.readability_hint import MAX_SCORED_CHARS
from panel.feedback import operations as ops
from panel.feedback.models import Recommendation
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form

HARD = (
    "The multidisciplinary panel recommends consideration of participation in an experimental "
    "immunotherapeutic clinical investigation, subject to confirmation of eligibility by the "
    "coordinating investigators following comprehensive restaging evaluations."
)
EASY = "The panel looked at the scans. A new medicine may help. Your doctor will tell you more."
SUMMARY = "The panel thinks a trial of a new medicine could help. Your doctor will talk to you."
RE_PRESENT = "After two more rounds of treatment, the panel would like to look at the scans again."


def url(case, tail: str = "") -> str:
    return f"/cases/{case.reference}/recommendation{tail}"


def hint(app, client, case, text: str | None, field: str | None = "family_summary", **kw):
    data = {} if text is None else {field or "text": text}
    query = f"?field={field}" if field else ""
    return post_form(app, client, url(case, "/readability") + query, data, **kw)


def editor_form(rec, *, answers: dict | None = None, **changes) -> dict:
    """The editor's posted fields for ``full_record_data`` (plus answers and family texts)."""
    family = {k: changes.pop(k) for k in ("family_summary", "family_re_present") if k in changes}
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
        **family,
    }
    for i, key in enumerate(data["categories"], 1):
        form[f"order-{key}"] = str(i)
    for t in data["trials"]:
        form[f"priority-{t['trial_id']}"] = str(t["priority"])
    for i, f in enumerate(data["follow_ups"]):
        form[f"fu-{i}-description"] = f["description"]
        form[f"fu-{i}-owner_role"] = f["owner_role"]
        form[f"fu-{i}-due_in_days"] = str(f["due_in_days"])
    for qid, a in (answers or {}).items():
        form[f"answer-{qid}-clinician"] = a["clinician"]
        form[f"answer-{qid}-family"] = a["family"]
    return form


def reload(rec) -> Recommendation:
    db.session.expire_all()
    return db.session.get(Recommendation, rec.id)


def audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


# --------------------------------------------------------------------------- the endpoint
def test_the_hint_gives_the_grade_and_lists_the_sentences_to_shorten_above_grade_6(
    app, client, login, draft_recommendation, feedback_people
):
    """Does a hard text get the gentle warning with its grade and the sentences to shorten, an
    easy one a quiet "Easy to read", and an empty one nothing?"""
    case = draft_recommendation.case
    login(client, feedback_people["nap_coordinator"])
    hard, easy = score(HARD), score(EASY)
    assert hard.grade > 6 >= easy.grade

    resp = hint(app, client, case, HARD)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert (
        f"This may be hard for some families to read (grade {hard.grade_label}). "
        "Try shortening these sentences:" in body
    )
    assert 'data-testid="readability-warning"' in body and "<li>The multidisciplinary" in body
    assert "Easy to read" not in body

    resp = hint(app, client, case, EASY, field="answer-1-family")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and f"Easy to read (grade {easy.grade_label})" in body
    assert "hard for some families" not in body

    # Mixed: only the hard sentence is listed.
    body = hint(app, client, case, f"{EASY} {HARD}", field=None).get_data(as_text=True)
    assert "hard for some families" in body and "The panel looked at the scans" not in body

    resp = hint(app, client, case, "   ")
    assert resp.status_code == 200 and resp.get_data(as_text=True).strip() == ""


def test_the_hint_is_for_those_who_may_edit_the_record_only(
    app, client, login, draft_recommendation, feedback_people, discussed_case
):
    """Members of the panel 403; the referrer, another panel's chair and coordinator 404; a
    POST without the CSRF token 400; a case without a record 404."""
    case = draft_recommendation.case
    expected = {
        "nap_coordinator": 200,
        "chair": 200,
        "nap_member": 403,
        "referrer": 404,
        "other_referrer": 404,
        "north_coordinator": 404,
        "north_chair": 404,
        "admin": 404,
    }
    for who, status in expected.items():
        c = app.test_client()
        login(c, feedback_people[who])
        assert hint(app, c, case, EASY).status_code == status, who
    c = app.test_client()
    login(c, feedback_people["nap_coordinator"])
    resp = c.post(url(case, "/readability?field=family_summary"), data={"family_summary": EASY})
    assert resp.status_code == 400 and "Easy to read" not in resp.get_data(as_text=True)
    anonymous = app.test_client()
    resp = hint(app, anonymous, case, EASY)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert app.test_client().get(url(case, "/readability")).status_code in (302, 405)


def test_the_hint_has_no_record_to_edit_before_the_draft(
    app, client, login, discussed_case, feedback_people
):
    login(client, feedback_people["nap_coordinator"])
    assert hint(app, client, discussed_case, EASY).status_code == 404


def test_bad_input_gets_400_or_413_with_a_message_never_500(
    app, client, login, draft_recommendation, feedback_people
):
    case = draft_recommendation.case
    login(client, feedback_people["nap_coordinator"])
    resp = hint(app, client, case, None)
    assert resp.status_code == 400 and "Send the text to check" in resp.get_data(as_text=True)
    resp = hint(app, client, case, EASY, field="bad field!")
    assert resp.status_code == 400 and "Name the field" in resp.get_data(as_text=True)
    resp = hint(app, client, case, EASY, field="x" * 100)
    assert resp.status_code == 400
    resp = hint(app, client, case, "A short sentence. " * (MAX_SCORED_CHARS // 10))
    assert resp.status_code == 413
    assert "Too long to check while you type" in resp.get_data(as_text=True)
    resp = hint(app, client, case, "x" * MAX_SCORED_CHARS)  # at the limit: scored
    assert resp.status_code == 200
    for odd in ("\x00\x01", "!!! ??? ...", "1234 5678", "ü" * 200, "—\n\n\n—"):
        assert hint(app, client, case, odd).status_code == 200, odd


def test_the_hint_writes_nothing_and_logs_no_text(
    app, client, login, draft_recommendation, feedback_people, caplog
):
    """Asking for the hint changes nothing: no audit row, the record untouched; and the text
    appears in no log line at any level."""
    rec = draft_recommendation
    login(client, feedback_people["nap_coordinator"])
    before, version = audit_rows(), rec.version
    secret = "Zebrafinch"  # a word to look for
    text = f"{secret} considerations necessitate comprehensive multidisciplinary evaluation."
    caplog.set_level(logging.DEBUG)
    for field in ("family_summary", "answer-7-family", None):
        assert hint(app, client, rec.case, text, field=field).status_code == 200
    assert hint(app, client, rec.case, secret * 1000).status_code == 413
    db.session.expire_all()
    assert audit_rows() == before
    assert reload(rec).version == version and reload(rec).family_summary == ""
    assert secret not in caplog.text
    assert all(secret not in str(r.args) for r in caplog.records)


# --------------------------------------------------------------------------- the new fields
def test_family_summary_and_re_present_are_saved_shown_and_audited(
    app, client, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    login(client, feedback_people["nap_coordinator"])
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert 'id="family_summary"' in page and 'id="family_re_present"' in page
    # Wired to the hint: htmx posts the textarea alone, the live region describes it.
    assert 'hx-params="family_summary"' in page and 'hx-trigger="input changed delay:700ms"' in page
    assert 'aria-describedby="family_summary-help family_summary-readability"' in page
    assert 'id="family_summary-readability" aria-live="polite"' in page
    qid = rec.case.questions[0].id
    assert f'aria-describedby="answer-{qid}-family-readability"' in page

    resp = post_form(
        app,
        client,
        url(rec.case),
        editor_form(rec, family_summary=SUMMARY, family_re_present=RE_PRESENT),
    )
    assert resp.status_code == 302
    rec = reload(rec)
    assert (rec.family_summary, rec.family_re_present) == (SUMMARY, RE_PRESENT)
    assert rec.re_present == full_record_data()["re_present"]  # the clinician's stays apart
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "recommendation.saved")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert {"family_summary", "family_re_present"} <= set(entry.details["fields"])
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert SUMMARY in page and RE_PRESENT in page
    assert "Saved. Some family text" not in page  # easy texts: the plain flash
    # A caller that does not know the fields (an older form, the demo) does not blank them.
    ops.save_record(
        rec, full_record_data(), by=feedback_people["nap_coordinator"], expected_version=None
    )
    db.session.commit()
    assert reload(rec).family_summary == SUMMARY


def test_a_hard_family_answer_is_saved_with_notes_under_the_fields(
    app, client, login, draft_recommendation, feedback_people
):
    """Is a save with hard family text kept, with the flash and the warning under each hard
    field (and "Easy to read" under the easy ones), without JavaScript?"""
    rec = draft_recommendation
    login(client, feedback_people["nap_coordinator"])
    answers = answers_for(rec.case)
    first, second = list(answers)[:2]
    answers[first]["family"] = HARD
    answers[second]["family"] = EASY
    resp = post_form(
        app, client, url(rec.case), editor_form(rec, answers=answers, family_summary=HARD)
    )
    assert resp.status_code == 302
    rec = reload(rec)
    assert next(a for a in rec.answers if a.question_id == first).family_answer == HARD
    assert rec.family_summary == HARD
    page = client.get(url(rec.case)).get_data(as_text=True)
    assert "Saved. Some family text may be hard to read: see the notes under the fields." in page
    grade = f"grade {score(HARD).grade_label}"
    for fid in ("family_summary", f"answer-{first}-family"):
        region = page.split(f'id="{fid}-readability"', 1)[1].split("</div>\n", 1)[0]
        assert "hard for some families to read" in region and grade in region, fid
    region = page.split(f'id="answer-{second}-family-readability"', 1)[1][:600]
    assert "Easy to read" in region
    # The flash comes once, after the save, not on every visit.
    assert "Saved. Some family text" not in client.get(url(rec.case)).get_data(as_text=True)


def test_the_guard_refuses_an_nhs_number_in_the_family_summary_and_keeps_the_rest(
    app, client, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    coordinator = feedback_people["nap_coordinator"]
    with pytest.raises(IdentifiersFound):
        ops.save_record(
            rec,
            full_record_data(family_summary="Your child (NHS number 943 476 5919) may join."),
            by=coordinator,
            expected_version=rec.version,
        )
    db.session.rollback()
    with pytest.raises(IdentifiersFound):
        ops.save_record(
            rec,
            full_record_data(family_re_present="Bring her back, NHS 943 476 5919."),
            by=coordinator,
            expected_version=rec.version,
        )
    db.session.rollback()
    login(client, coordinator)
    form = editor_form(
        rec,
        rationale="Kept rationale: a targeted trial.",
        family_summary="Your child (NHS number 943 476 5919) may join a trial.",
        family_re_present=RE_PRESENT,
    )
    resp = post_form(app, client, url(rec.case), form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "patient identifier" in page and "in summary for the family" in page
    assert "Kept rationale: a targeted trial." in page and RE_PRESENT in page
    assert "may join a trial." in page  # what was typed is still there to correct
    rec = reload(rec)
    assert rec.family_summary == "" and rec.family_re_present == ""


def test_amendments_carry_the_family_texts(
    app, client, login, approved_recommendation, feedback_people
):
    """Is a change to the family summary after approval an amendment with its before and after
    (a coordinator's waits for the chair; it is clinical content), shown in the amendment list
    under its label, and applied once the chair approves?"""
    rec = approved_recommendation
    case = rec.case
    login(client, feedback_people["nap_coordinator"])
    page = client.get(url(case, "/amend")).get_data(as_text=True)
    assert 'id="family_summary"' in page and 'hx-post="' in page
    form = editor_form(
        rec, answers=answers_for(case), family_summary=HARD, family_re_present=RE_PRESENT
    )
    form["reason"] = "The family asked for a plainer summary."
    resp = post_form(app, client, url(case, "/amend"), form)
    assert resp.status_code == 302
    rec = reload(rec)
    [am] = rec.amendments
    assert am.is_pending
    assert am.after == {"family_summary": HARD, "family_re_present": RE_PRESENT}
    assert am.before == {"family_summary": "", "family_re_present": ""}
    assert rec.family_summary == ""  # the approved text until a chair approves
    page = client.get(url(case)).get_data(as_text=True)
    assert "Saved. Some family text may be hard to read" in page
    amendments = page.split('id="amendments"', 1)[1]
    assert "Summary for the family" in amendments and HARD in amendments

    chair = app.test_client()
    login(chair, feedback_people["chair"])
    resp = post_form(app, chair, url(case, "/amendments/1"), {"action": "approve"})
    assert resp.status_code == 302
    rec = reload(rec)
    assert (rec.family_summary, rec.family_re_present) == (HARD, RE_PRESENT)
    # The read-only record shows them, with the note under the hard one for its editors.
    page = chair.get(url(case)).get_data(as_text=True)
    view = page.split('data-testid="family-texts"', 1)[1].split("</section>", 1)[0]
    assert HARD in view and RE_PRESENT in view and "hard for some families" in view
    member = app.test_client()
    login(member, feedback_people["nap_member"])
    page = member.get(url(case)).get_data(as_text=True)
    assert HARD in page and "hard for some families" not in page  # notes are for the writers
