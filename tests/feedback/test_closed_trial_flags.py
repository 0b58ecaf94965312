"""A trial that stops recruiting while it is suggested in an open recommendation is flagged to
the panel's coordinators and chairs (bell and e-mail, once per person, no clinical text), in
the audit trail and the timeline, and on the record and the case page; through the registry's
signal (trials never imports feedback), whichever way the status changed: an edit, "mark
checked", or ``sync-trials`` against a local HTTP server serving recorded responses."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from panel.cases.models import CaseEvent
from panel.core.db import db, utcnow
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.core.uktime import uk_date
from panel.feedback import documents, sending
from panel.trials.models import Trial

REGISTRY = Path(__file__).resolve().parents[1] / "trials" / "data" / "registry"
NOTICE = "A trial suggested for case {ref} is no longer recruiting"


def _trial(code: str) -> Trial:
    return db.session.scalar(select(Trial).where(Trial.code == code))


def _set(code: str, by=None, **values) -> None:
    from panel.trials.matching import clear_cache
    from panel.trials.registry import update_trial

    update_trial(_trial(code), values, by=by, expected_version=None)
    db.session.commit()
    clear_cache()


def _close(code: str, by=None) -> None:
    _set(code, by=by, status="closed", status_source="ClinicalTrials.gov NCT03107988")


def _notices(case) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.case_ref == case.reference,
                Notification.kind == "recommendation.trial_closed",
            )
        )
    )


def _mails(ref: str) -> list[OutboxMail]:
    return [
        m
        for m in db.session.scalars(select(OutboxMail))
        if ref in m.subject and "no longer recruiting" in m.subject
    ]


def _audits(case) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "recommendation.trial_closed",
                AuditEntry.object_id == case.reference,
            )
        )
    )


@pytest.fixture
def both_roles(make_user):
    """A NAP coordinator who is also a NAP chair."""
    return make_user(roles=[("NAP", "coordinator"), ("NAP", "chair")], name="Dr Both")


# --------------------------------------------------------------------------- the notices
def test_closing_a_suggested_trial_tells_the_coordinators_and_chairs_once_each(
    draft_recommendation, feedback_people, both_roles
):
    """Are the NAP coordinators and chairs told (bell and e-mail) once each, even someone who is
    both, and nobody else; with an audit entry and a panel-only timeline entry?"""
    rec = draft_recommendation
    case = rec.case
    _close("CRISP")

    notes = _notices(case)
    told = sorted(n.user_id for n in notes)
    expected = sorted(
        u.id
        for u in (
            feedback_people["nap_coordinator"],
            feedback_people["chair"],
            feedback_people["nap_chair2"],
            both_roles,
        )
    )
    assert told == expected  # one each: the coordinator-and-chair once
    for n in notes:
        assert n.text == NOTICE.format(ref=case.reference)
        assert n.link == f"/cases/{case.reference}/recommendation#trials"
    mails = _mails(case.reference)
    assert len(mails) == len(expected)
    assert sorted(m.to_addr for m in mails) == sorted(
        db.session.get(type(both_roles), i).email for i in expected
    )

    audits = _audits(case)
    assert len(audits) == 1
    assert audits[0].details["trial"] == "CRISP" and audits[0].details["status"] == "closed"
    event = db.session.scalar(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "suggested_trial_closed"
        )
    )
    assert event is not None and event.audiences == {"panel", "coordinator"}
    assert event.text.startswith("CRISP, suggested here, closed on ")


def test_the_email_carries_no_clinical_text(draft_recommendation, feedback_people):
    """Does the e-mail name only the case reference: no trial, rationale, answer or diagnosis?"""
    rec = draft_recommendation
    _close("CRISP")
    mails = _mails(rec.case.reference)
    assert mails
    for m in mails:
        text = m.subject + "\n" + m.body
        for clinical in ("CRISP", "NAXITAMAB", "ALK", "neuroblastoma", rec.rationale[:30]):
            assert clinical.lower() not in text.lower()
        assert "no clinical details" in m.body
        assert f"/cases/{rec.case.reference}/recommendation#trials" in m.body


def test_no_notice_for_other_changes_or_a_second_close(draft_recommendation):
    """Is nobody told when an open trial's criteria change, when an unsuggested trial closes,
    or when a closed trial turns unknown (it had stopped already)?"""
    rec = draft_recommendation
    trial = _trial("CRISP")
    _set("CRISP", notes=[*(trial.notes or []), "A note."])
    _close("VERITAS")  # not suggested here
    assert _notices(rec.case) == []
    _close("CRISP")
    first = len(_notices(rec.case))
    assert first
    _set("CRISP", status="unknown", status_source="conflicting sources")
    assert len(_notices(rec.case)) == first
    assert len(_audits(rec.case)) == 1


def test_approved_and_sent_records_count_a_closed_case_does_not(
    approved_recommendation, feedback_people
):
    """Is an approved record flagged before and after sending, and a closed case left alone?"""
    rec = approved_recommendation
    case = rec.case
    _close("CRISP")
    assert len(_audits(case)) == 1
    _set("CRISP", status="open", status_verified_on=utcnow().date().isoformat())

    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db.session.commit()
    _close("CRISP")
    assert len(_audits(case)) == 2  # sent, case not closed: the referral may be under way
    _set("CRISP", status="open", status_verified_on=utcnow().date().isoformat())

    sending.close_case(case, by=feedback_people["nap_coordinator"])
    db.session.commit()
    _close("CRISP")
    assert len(_audits(case)) == 2  # closed case: nobody is told


def test_a_coordinator_marking_the_trial_closed_flags_it(draft_recommendation, feedback_people):
    """Does "Mark the status checked" (closed) by a coordinator flag the record, with them as
    the actor of the audit entry?"""
    from panel.trials.sync import mark_checked

    coordinator = feedback_people["north_coordinator"]  # any coordinator edits the registry
    mark_checked(_trial("CRISP"), status="closed", source="the trial team", by=coordinator)
    db.session.commit()
    audits = _audits(draft_recommendation.case)
    assert len(audits) == 1 and audits[0].actor_id == coordinator.id
    # The north coordinator is not on the case's panel: not told.
    assert coordinator.id not in {n.user_id for n in _notices(draft_recommendation.case)}


# --------------------------------------------------------------------------- the flag
def test_the_flag_on_the_record_and_the_case_page_and_who_sees_it(
    app, client, login, draft_recommendation, feedback_people
):
    """Do the record and the case page show "CRISP, suggested here, closed on DATE (source)"
    to the panel; is the record refused to the referrer and another panel's coordinator, and
    the flag absent from the referrer's case page?"""
    rec = draft_recommendation
    ref = rec.case.reference
    _close("CRISP")
    expected = (
        f"CRISP, suggested here, closed on {uk_date(utcnow())} (ClinicalTrials.gov NCT03107988)"
    )
    from panel.feedback.trial_watch import stopped_trials

    assert [f["text"] for f in stopped_trials(rec)] == [expected]

    login(client, feedback_people["nap_coordinator"])
    record = client.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert 'data-testid="stopped-trials"' in record and expected in record
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert 'data-testid="case-stopped-trial"' in page and expected in page

    for who, status in (("referrer", 404), ("north_coordinator", 404), ("admin", 404)):
        other = app.test_client()
        login(other, feedback_people[who])
        assert other.get(f"/cases/{ref}/recommendation").status_code == status, who
    referrer = app.test_client()
    login(referrer, feedback_people["referrer"])
    assert "suggested here" not in referrer.get(f"/cases/{ref}").get_data(as_text=True)

    # Reopened: the flag goes (computed from the live registry).
    _set("CRISP", status="open", status_verified_on=utcnow().date().isoformat())
    record = client.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert 'data-testid="stopped-trials"' not in record


def test_a_sent_letter_is_unchanged_by_a_registry_change(approved_recommendation, feedback_people):
    """Are the stored letters' bytes the same after a suggested trial closes, and do they still
    say what the approval relied on?"""
    rec = approved_recommendation
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db.session.commit()
    docs = documents.documents_for(rec.case)
    before = {d.id: documents.read_bytes(d) for d in docs}
    _close("CRISP")
    _set("NAXITAMAB-201", status="suspended", status_source="the sponsor")
    db.session.expire_all()
    after = {d.id: documents.read_bytes(d) for d in documents.documents_for(rec.case)}
    assert after == before
    for d in docs:
        assert hashlib.sha256(after[d.id]).hexdigest() == d.sha256
    family_html = next(
        after[d.id] for d in docs if d.kind == "family_letter" and d.format == "html"
    ).decode()
    assert "Taking new patients at" in family_html and "closed" not in family_html.lower()


# --------------------------------------------------------------------------- the sync
class _Recorded(BaseHTTPRequestHandler):
    """ClinicalTrials.gov as a local server: /ctgov/api/v2/studies/<NCT> -> a recording."""

    routes: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 - the http.server name
        body = self.routes.get(self.path.split("?", 1)[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        body = body if body is not None else b'{"message": "not found"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def ctgov(app, monkeypatch):
    """A real local HTTP server standing in for ClinicalTrials.gov; ``ctgov(nct, file)`` sets
    what it answers for one study."""
    handler = type("Handler", (_Recorded,), {"routes": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(app.config, "CTGOV_API_URL", base + "/ctgov/api/v2")
    monkeypatch.setitem(app.config, "ISRCTN_API_URL", base + "/isrctn/api")
    monkeypatch.setitem(app.config, "TRIAL_SYNC_TIMEOUT", 2.0)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_RETRIES", 0)

    def serve(nct: str, recording: str) -> None:
        handler.routes[f"/ctgov/api/v2/studies/{nct}"] = (REGISTRY / recording).read_bytes()

    yield serve
    server.shutdown()
    server.server_close()


def _sync(app):
    from panel.trials.matching import clear_cache

    result = app.test_cli_runner().invoke(args=["sync-trials", "--trial", "NAXITAMAB-201"])
    clear_cache()
    db.session.expire_all()
    return result


def test_a_sync_that_finds_the_trial_completed_flags_the_record_once(
    app, ctgov, approved_recommendation, feedback_people
):
    """Does sync-trials (recorded ClinicalTrials.gov response: COMPLETED) flag the approved
    record with the registry as the source, and does a second identical sync tell nobody
    again?"""
    rec = approved_recommendation
    case = rec.case
    ctgov("NCT03363373", "NCT03363373-recruiting.json")
    assert _sync(app).exit_code == 0
    assert _notices(case) == []  # still recruiting: nothing to say

    ctgov("NCT03363373", "NCT03363373-completed.json")
    assert _sync(app).exit_code == 0
    from panel.feedback.trial_watch import stopped_trials

    flags = stopped_trials(rec)
    assert [f["text"] for f in flags] == [
        f"NAXITAMAB-201, suggested here, closed on {uk_date(utcnow().date())} "
        "(ClinicalTrials.gov NCT03363373)"
    ]
    notes = _notices(case)
    assert len(notes) == 3  # the NAP coordinator and the two NAP chairs
    audit = _audits(case)
    assert len(audit) == 1 and audit[0].actor_label == "sync-trials"

    assert _sync(app).exit_code == 0  # the same answer again: no change, no notice
    assert len(_notices(case)) == 3 and len(_audits(case)) == 1


def test_a_sync_that_closes_every_site_flags_the_record(
    app, ctgov, approved_recommendation, db_session
):
    """A trial still "open" whose every UK site the sync reports closed reads closed to the
    matcher: is the record flagged (once) as no longer recruiting at any of its sites?"""
    rec = approved_recommendation
    trial = _trial("NAXITAMAB-201")
    trial.sites = ["LEEDS"]  # only the site the recording reports closed
    db_session.commit()
    ctgov("NCT03363373", "NCT03363373-leeds-closed.json")
    assert _sync(app).exit_code == 0
    from panel.feedback.trial_watch import stopped_trials

    texts = [f["text"] for f in stopped_trials(rec)]
    assert len(texts) == 1 and "no longer recruiting at any of its sites" in texts[0], texts
    assert len(_audits(rec.case)) == 1
