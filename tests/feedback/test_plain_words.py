"""A trial reaches a family letter only with its words for families (issue 16): a record
suggesting a trial without a title or summary for families cannot be approved or sent, nor
amended to add it; the refusal names the trial and who writes the words, the pages show a calm
note with a link to the editor; once written, approval and sending go ahead."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.core.db import db
from panel.core.errors import Refused
from panel.feedback import operations as ops
from panel.feedback import sending
from panel.feedback.models import trials_without_plain_words
from panel.trials.models import Trial
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form

WORDS = {
    "plain_title": "Two medicines for cancers with a change in the ALK gene",
    "plain_summary": "This trial tests two medicines together. It is for children whose "
    "cancer has come back.",
}


def _trial(code: str) -> Trial:
    db.session.expire_all()
    return db.session.scalar(select(Trial).where(Trial.code == code))


def _clear_words(code: str) -> None:
    from panel.trials.registry import update_trial

    update_trial(
        _trial(code), {"plain_title": None, "plain_summary": None}, by=None, expected_version=None
    )
    db.session.commit()


def _answered(rec) -> None:
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=rec.drafted_by,
        expected_version=rec.version,
    )
    db.session.commit()


def _write_words_in_the_editor(app, client, code: str) -> None:
    """A coordinator (``client``, signed in) writes the words in the trial editor, as on the
    page."""
    trial = _trial(code)
    form = {
        "version": str(trial.version),
        "title": trial.title,
        "phase": trial.phase or "",
        "summary": trial.summary or "",
        "registry_ids": "\n".join(trial.registry_ids),
        "sponsor": trial.sponsor or "",
        "status": trial.status.value,
        "status_source": trial.status_source or "",
        "sites": list(trial.sites),
        "sites_mode": trial.sites_mode,
        "notes": "\n".join(trial.notes),
        **WORDS,
    }
    assert post_form(app, client, f"/trials/{code}/edit", form).status_code == 302
    db.session.expire_all()


def test_the_rule_skips_ineligible_entries_and_counts_unknown_trials(registry_trials):
    _clear_words("CRISP")
    entries = [
        {"trial_id": "CRISP", "title": "CRISP: crizotinib", "verdict": "eligible"},
        {"trial_id": "NAXITAMAB-201", "verdict": "possible"},
        {"trial_id": "MINIVAN", "verdict": "ineligible"},
        {"code": "GONE-1", "title": "No longer in the registry", "verdict": "eligible"},
    ]
    _clear_words("MINIVAN")
    assert trials_without_plain_words(entries) == [
        {"code": "CRISP", "title": "CRISP: crizotinib", "in_registry": True},
        {"code": "GONE-1", "title": "No longer in the registry", "in_registry": False},
    ]
    assert trials_without_plain_words([]) == [] and trials_without_plain_words(None) == []


def test_approval_refused_until_a_coordinator_writes_the_words(
    app, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    _answered(rec)
    _clear_words("CRISP")
    chair = feedback_people["chair"]
    with pytest.raises(Refused) as refused:
        ops.approve(rec, by=chair, expected_version=rec.version)
    message = refused.value.message
    assert "cannot be approved" in message and "CRISP" in message
    assert "NAXITAMAB-201" not in message  # it has its words
    assert "A coordinator writes them in the trial registry" in message  # the chair cannot
    db.session.rollback()
    assert not rec.is_approved

    editor = app.test_client()
    login(editor, feedback_people["nap_coordinator"])
    _write_words_in_the_editor(app, editor, "CRISP")
    ops.approve(rec, by=chair, expected_version=rec.version)
    db.session.commit()
    assert rec.is_approved


def test_the_record_page_warns_and_links_to_the_editor(
    app, client, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    _answered(rec)
    _clear_words("CRISP")
    ref = rec.case.reference

    login(client, feedback_people["chair"])
    page = client.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert 'data-testid="plain-words-missing"' in page and 'data-trial="CRISP"' in page
    assert 'data-trial="NAXITAMAB-201"' not in page
    assert 'data-testid="approve"' not in page and 'value="approve"' not in page
    assert "A coordinator writes them in the trial registry." in page
    assert "/trials/CRISP/edit" not in page  # a chair does not edit the registry
    # The view refuses with the same message (the page had no button; a stale one posts).
    resp = post_form(
        app, client, f"/cases/{ref}/recommendation/approve", {"version": str(rec.version)}
    )
    assert resp.status_code == 302
    page = client.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert "cannot be approved yet" in page and "CRISP" in page
    db.session.expire_all()
    assert not rec.is_approved

    coordinator = app.test_client()
    login(coordinator, feedback_people["nap_coordinator"])
    page = coordinator.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert 'href="/trials/CRISP/edit#for-families"' in page

    _write_words_in_the_editor(app, coordinator, "CRISP")
    page = client.get(f"/cases/{ref}/recommendation").get_data(as_text=True)
    assert 'data-testid="plain-words-missing"' not in page and 'data-testid="approve"' in page
    resp = post_form(
        app, client, f"/cases/{ref}/recommendation/approve", {"version": str(rec.version)}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert rec.is_approved


def test_sending_rechecks_words_cleared_after_approval(
    app, client, login, approved_recommendation, feedback_people
):
    rec = approved_recommendation
    case = rec.case
    coordinator = feedback_people["nap_coordinator"]
    _clear_words("NAXITAMAB-201")
    assert not case.can_send_feedback(coordinator)
    with pytest.raises(Refused) as refused:
        sending.send_feedback(rec, by=coordinator)
    message = refused.value.message
    assert "cannot be sent yet" in message and "NAXITAMAB-201" in message
    assert "Write them in the trial registry" in message  # a coordinator may
    db.session.rollback()

    login(client, coordinator)
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="plain-words-missing"' in page
    assert 'href="/trials/NAXITAMAB-201/edit#for-families"' in page
    assert f'action="/cases/{case.reference}/send-feedback"' not in page
    resp = post_form(app, client, f"/cases/{case.reference}/send-feedback", follow_redirects=True)
    assert resp.status_code == 200 and "cannot be sent yet" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert case.feedback_sent_at is None

    _write_words_in_the_editor(app, client, "NAXITAMAB-201")
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert f'action="/cases/{case.reference}/send-feedback"' in page
    assert post_form(app, client, f"/cases/{case.reference}/send-feedback").status_code == 302
    db.session.expire_all()
    assert case.feedback_sent_at is not None
    # The family letter prints the words written in the editor.
    from panel.feedback.letters import family_context

    letter = family_context(rec)
    nax = next(t for t in letter["trials"] if t["id"] == "NAXITAMAB-201")
    assert nax["plain_title"] == WORDS["plain_title"]


def test_an_amendment_cannot_add_a_trial_without_words(
    app, login, approved_recommendation, feedback_people
):
    rec = approved_recommendation
    coordinator, chair = feedback_people["nap_coordinator"], feedback_people["chair"]
    sending.send_feedback(rec, by=coordinator)
    db.session.commit()
    editor = app.test_client()
    login(editor, coordinator)
    kept = [{"trial_id": t["code"], "priority": t["priority"]} for t in rec.trials]
    _clear_words("MINIVAN")
    data = full_record_data(
        answers=answers_for(rec.case), trials=[*kept, {"trial_id": "MINIVAN", "priority": 3}]
    )
    for who in (coordinator, chair):
        with pytest.raises(Refused, match="cannot be amended with that trial yet.*MINIVAN"):
            ops.save_record(rec, data, by=who, expected_version=rec.version, reason="Added")
        db.session.rollback()
    assert [t["code"] for t in rec.trials] == [t["trial_id"] for t in kept]

    # Proposed with its words, then the words cleared before the chair decides: refused.
    _write_words_in_the_editor(app, editor, "MINIVAN")
    ops.save_record(rec, data, by=coordinator, expected_version=rec.version, reason="Added")
    db.session.commit()
    amendment = rec.pending_amendment
    assert amendment is not None
    _clear_words("MINIVAN")
    with pytest.raises(Refused, match="MINIVAN"):
        ops.approve_amendment(rec, amendment, by=chair)
    db.session.rollback()
    assert rec.pending_amendment is not None

    _write_words_in_the_editor(app, editor, "MINIVAN")
    ops.approve_amendment(rec, rec.pending_amendment, by=chair)
    db.session.commit()
    assert "MINIVAN" in [t["code"] for t in rec.trials]
    # Removing a trial is never held up by another trial's missing words.
    _clear_words("CRISP")
    data = full_record_data(answers=answers_for(rec.case), trials=[kept[0]])
    ops.save_record(rec, data, by=chair, expected_version=rec.version, reason="Removed two")
    db.session.commit()
    assert [t["code"] for t in rec.trials] == [kept[0]["trial_id"]]
