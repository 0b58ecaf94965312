"""Sending the feedback, the family informed, closing, turnaround and the second-opinion pack."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.db import db
from panel.core.models import AuditEntry, Notification
from panel.feedback import sending
from tests.support.web import csrf_token, post_form


def _actions(db_session, case) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == case.reference)
            .order_by(AuditEntry.id)
        )
    )


def _reload(db_session, obj):
    db_session.expire_all()
    return db_session.get(type(obj), obj.id)


@pytest.fixture
def rec(approved_recommendation):
    return approved_recommendation


@pytest.fixture
def sent(rec, feedback_people, db_session):
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db_session.commit()
    return rec


# --------------------------------------------------------------------------- sending
def test_coordinator_sends_feedback_and_referrer_is_told_without_clinical_content(
    app, client, login, rec, feedback_people, db_session, smtp_server
):
    """Does sending move the case to feedback_sent, stamp it, start the follow-up clocks, audit
    it, and e-mail the referrer a message with no clinical content?"""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    try:
        case = rec.case
        login(client, feedback_people["nap_coordinator"])
        page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
        assert "Send feedback" in page
        resp = post_form(app, client, f"/cases/{case.reference}/send-feedback")
        assert resp.status_code == 302
        resp.close()  # the mail was sent by its job once the action committed (panel.core.mail)
        case = _reload(db_session, case)
        assert case.status == CaseStatus.FEEDBACK_SENT
        assert case.feedback_sent_at is not None
        rec = _reload(db_session, rec)
        for f in rec.follow_ups:
            assert f.due_at is not None
            assert abs((f.due_at - case.feedback_sent_at).days - f.due_in_days) <= 1
        assert "case.feedback_sent" in _actions(db_session, case)
        notes = db_session.scalars(
            select(Notification).where(Notification.user_id == feedback_people["referrer"].id)
        ).all()
        assert any(case.reference in n.text for n in notes)
        mails = [m for m in smtp_server.messages if m["To"] == feedback_people["referrer"].email]
        assert len(mails) == 1
        body = mails[0].get_payload(decode=True).decode() + mails[0]["Subject"]
        assert case.reference in body
        forbidden = [rec.rationale, "ALK", "neuroblastoma", "relapse", "F1174L", "CRISP", "trial"]
        forbidden += [a.clinician_answer for a in rec.answers] + [
            a.family_answer for a in rec.answers
        ]
        forbidden += [q.text for q in case.questions]
        for text in forbidden:
            assert text.lower() not in body.lower(), text
    finally:
        app.config.update(SMTP_HOST=None)


def test_send_refusals(app, client, login, rec, draft_recommendation, feedback_people, db_session):
    """Only the panel's coordinator sends; other panels do not see the case; twice is refused."""
    case = rec.case
    ref = case.reference
    for who, code in (
        ("nap_member", 403),
        ("chair", 403),
        ("referrer", 403),
        ("north_coordinator", 404),
        ("admin", 404),
        ("other_referrer", 404),
    ):
        c = app.test_client()
        login(c, feedback_people[who])
        assert post_form(app, c, f"/cases/{ref}/send-feedback").status_code == code, who
    assert _reload(db_session, case).status == CaseStatus.RECOMMENDATION
    login(client, feedback_people["nap_coordinator"])
    assert client.post(f"/cases/{ref}/send-feedback").status_code == 400  # no CSRF token
    assert post_form(app, client, f"/cases/{ref}/send-feedback").status_code == 302
    resp = post_form(app, client, f"/cases/{ref}/send-feedback", follow_redirects=True)
    assert "already been sent" in resp.get_data(as_text=True)
    assert _actions(db_session, case).count("case.feedback_sent") == 1


def test_draft_cannot_be_sent(app, draft_recommendation, feedback_people, db_session):
    """Is sending a record the chair has not approved refused, with nothing changed?"""
    from panel.core.errors import Refused

    with pytest.raises(Refused, match="approve"):
        sending.send_feedback(draft_recommendation, by=feedback_people["nap_coordinator"])
    db_session.rollback()
    case = _reload(db_session, draft_recommendation.case)
    assert case.status == CaseStatus.RECOMMENDATION and case.feedback_sent_at is None


# --------------------------------------------------------------------------- family informed, close
def test_referrer_marks_family_informed(app, client, login, sent, feedback_people, db_session):
    """Only a referrer of the case marks the family as informed, once, after sending."""
    case = sent.case
    ref = case.reference
    for who, code in (
        ("nap_coordinator", 403),
        ("nap_member", 403),
        ("other_referrer", 404),
        ("admin", 404),
    ):
        c = app.test_client()
        login(c, feedback_people[who])
        assert post_form(app, c, f"/cases/{ref}/family-informed").status_code == code, who
    assert _reload(db_session, case).family_informed_at is None
    login(client, feedback_people["referrer"])
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert "The panel&#39;s feedback is ready" in page or "The panel's feedback is ready" in page
    assert "Mark the family as informed" in page
    assert post_form(app, client, f"/cases/{ref}/family-informed").status_code == 302
    assert (
        post_form(app, client, f"/cases/{ref}/family-informed").status_code == 302
    )  # double click
    case = _reload(db_session, case)
    assert case.family_informed_at is not None
    assert _actions(db_session, case).count("case.family_informed") == 1


def test_family_informed_before_sending_is_refused(
    app, client, login, rec, feedback_people, db_session
):
    case = rec.case
    login(client, feedback_people["referrer"])
    resp = post_form(app, client, f"/cases/{case.reference}/family-informed", follow_redirects=True)
    assert "once the panel" in resp.get_data(as_text=True)
    assert _reload(db_session, case).family_informed_at is None


def test_close_after_sending(app, client, login, rec, feedback_people, db_session):
    """The case closes only after sending, by a referrer or the coordinator, not a member."""
    case = rec.case
    ref = case.reference
    login(client, feedback_people["referrer"])
    post_form(app, client, f"/cases/{ref}/close")
    assert _reload(db_session, case).status == CaseStatus.RECOMMENDATION
    sending.send_feedback(_reload(db_session, rec), by=feedback_people["nap_coordinator"])
    db_session.commit()
    member = app.test_client()
    login(member, feedback_people["nap_member"])
    assert post_form(app, member, f"/cases/{ref}/close").status_code == 403
    assert post_form(app, client, f"/cases/{ref}/close").status_code == 302
    case = _reload(db_session, case)
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None
    assert "case.closed" in _actions(db_session, case)
    # The letters stay readable after closing.
    assert client.get(f"/cases/{ref}/letters/family").status_code == 200


def test_coordinator_may_close(app, sent, feedback_people, db_session):
    case = sending.close_case(sent.case, by=feedback_people["nap_coordinator"])
    assert case.status == CaseStatus.CLOSED


def test_turnaround_lists_every_step(app, sent, feedback_people, db_session):
    """Does the turnaround carry each step with its moment (None when not reached)?"""
    case = sent.case
    sending.mark_family_informed(case, by=feedback_people["referrer"])
    steps = dict(sending.turnaround(case))
    assert list(steps) == [
        "Submitted",
        "Triaged",
        "Scheduled",
        "Discussed",
        "Approved",
        "Feedback sent",
        "Family informed",
        "Closed",
    ]
    for label in ("Submitted", "Discussed", "Approved", "Feedback sent", "Family informed"):
        assert steps[label] is not None, label
    assert steps["Closed"] is None


def test_banner_for_each_viewer(app, client, login, sent, feedback_people):
    """Does the banner show the letters to the referrer and nothing to an admin-like outsider?"""
    ref = sent.case.reference
    login(client, feedback_people["referrer"])
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert (
        f"/cases/{ref}/letters/clinician" in page
        and f"/cases/{ref}/second-opinion-pack.zip" in page
    )
    assert 'data-testid="turnaround"' in page
    member = app.test_client()
    login(member, feedback_people["nap_member"])
    page = member.get(f"/cases/{ref}").get_data(as_text=True)
    assert f"/cases/{ref}/letters/clinician" in page
    assert "second-opinion-pack.zip" not in page and 'data-testid="turnaround"' not in page


# --------------------------------------------------------------------------- second-opinion pack
def _upload_planted_ct(app, client, case, tmp_path):
    from tests.support import synth

    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32, plant=True, noise=False)
    data = {
        "label": "CT",
        "csrf_token": csrf_token(app, client),
        "files": [(io.BytesIO(p.read_bytes()), p.name) for p in ct.paths],
    }
    resp = client.post(
        f"/cases/{case.reference}/images/upload",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return ct.markers


def test_pack_for_the_referrer(app, client, login, sent, feedback_people, db_session, tmp_path):
    """Does the referrer's pack hold the letter, the summary, case.json, the de-identified images
    and a README, and nothing that identifies the patient?"""
    case = sent.case
    coordinator = app.test_client()
    login(coordinator, feedback_people["nap_coordinator"])
    markers = _upload_planted_ct(app, coordinator, case, tmp_path)
    login(client, feedback_people["referrer"])
    resp = client.get(f"/cases/{case.reference}/second-opinion-pack.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert f"{case.reference}-second-opinion-pack.zip" in resp.headers["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    names = zf.namelist()
    assert {"clinician-letter.pdf", "case-summary.pdf", "case.json", "README.txt"} <= set(names)
    assert len([n for n in names if n.startswith("images/") and n.endswith(".dcm")]) == 2
    assert not any("family" in n for n in names)
    letter = zf.read("clinician-letter.pdf")
    assert letter.startswith(b"%PDF")
    summary = PdfReader(io.BytesIO(zf.read("case-summary.pdf")))
    summary_text = " ".join((p.extract_text() or "") for p in summary.pages)
    assert case.reference in summary_text and "ALK" in summary_text
    blob = b"".join(zf.read(n) for n in names)
    for marker in markers.forbidden():
        assert marker.encode() not in blob, marker
    assert "case.second_opinion_pack" in _actions(db_session, case)


def test_pack_access(app, client, login, rec, feedback_people, db_session):
    """Before sending: the coordinator may build it, the referrer gets 404; members 403;
    other panels and admins 404."""
    ref = rec.case.reference
    login(client, feedback_people["referrer"])
    assert client.get(f"/cases/{ref}/second-opinion-pack.zip").status_code == 404
    for who, code in (
        ("nap_coordinator", 200),
        ("nap_member", 403),
        ("north_coordinator", 404),
        ("admin", 404),
    ):
        c = app.test_client()
        login(c, feedback_people[who])
        assert c.get(f"/cases/{ref}/second-opinion-pack.zip").status_code == code, who
    db.session.remove()
