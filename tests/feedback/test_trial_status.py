"""A trial that is not recruiting never reaches a recommendation (form, operation, amendment),
and approval is refused while a suggested trial's status is unknown or not checked within
``TRIAL_STATUS_MAX_AGE_DAYS``, until a coordinator marks it checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.core.db import db, utcnow
from panel.core.errors import Refused
from panel.feedback import operations as ops
from panel.trials.models import Trial
from tests.support.data import answers_for, full_record_data
from tests.support.web import post_form


def _trial(code: str) -> Trial:
    return db.session.scalar(select(Trial).where(Trial.code == code))


def _set(code: str, **values) -> None:
    from panel.trials.matching import clear_cache
    from panel.trials.registry import update_trial

    update_trial(_trial(code), values, by=None, expected_version=None)
    db.session.commit()
    clear_cache()


def _answered(rec) -> None:
    ops.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=rec.drafted_by,
        expected_version=rec.version,
    )
    db.session.commit()


def test_approval_refused_for_a_stale_trial_until_a_coordinator_checks_it(
    app, draft_recommendation, feedback_people, monkeypatch
):
    from panel.trials.sync import mark_checked

    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    rec = draft_recommendation
    _answered(rec)
    old = utcnow().date() - timedelta(days=31)
    _set("CRISP", status_verified_on=old.isoformat())
    with pytest.raises(Refused) as refused:
        ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    message = str(refused.value)
    assert "CRISP: Status not checked since" in message and "Mark checked" in message
    assert "NAXITAMAB-201" not in message  # checked recently
    db.session.rollback()
    assert not rec.is_approved

    mark_checked(
        _trial("CRISP"),
        status="open",
        source="e-mail from the trial team",
        by=feedback_people["nap_coordinator"],
    )
    db.session.commit()
    ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db.session.commit()
    crisp = next(t for t in rec.trials if t["code"] == "CRISP")
    assert crisp["status_verified_on"] == utcnow().date().isoformat()
    assert crisp["status_source"].startswith("e-mail from the trial team (checked by ")


def test_approval_refused_for_an_unknown_or_closed_trial(
    app, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    _answered(rec)
    _set("CRISP", status="unknown", status_source="EU register: temporarily halted")
    _set("NAXITAMAB-201", status="closed", status_source="ClinicalTrials.gov NCT03363373")
    with pytest.raises(Refused) as refused:
        ops.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    message = str(refused.value)
    assert "CRISP is of unknown status (EU register: temporarily halted): remove it" in message
    assert "NAXITAMAB-201 is closed (ClinicalTrials.gov NCT03363373): remove it" in message
    db.session.rollback()


def test_a_closed_trial_cannot_be_added_by_the_operation_or_the_form(
    app, client, login, draft_recommendation, feedback_people
):
    rec = draft_recommendation
    coordinator = feedback_people["nap_coordinator"]
    _set("NANT-LORLATINIB", status="closed", status_source="ClinicalTrials.gov NCT03107988")
    data = full_record_data(trials=[{"trial_id": "NANT-LORLATINIB", "priority": 1}])
    with pytest.raises(Refused, match="NANT-LORLATINIB is closed .ClinicalTrials.gov NCT03107988"):
        ops.save_record(rec, data, by=coordinator, expected_version=rec.version)
    db.session.rollback()

    login(client, coordinator)
    form = {
        "version": str(rec.version),
        "categories": "trial",
        "consensus": "unanimous",
        "rationale": "Trial first.",
        "trials": "NANT-LORLATINIB",
        "priority-NANT-LORLATINIB": "1",
    }
    resp = post_form(app, client, f"/cases/{rec.case.reference}/recommendation", form)
    assert resp.status_code == 422
    assert "a trial that is not recruiting cannot be suggested" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert "NANT-LORLATINIB" not in [t["code"] for t in _reload(rec).trials]


def _reload(rec):
    from panel.feedback.models import Recommendation

    return db.session.get(Recommendation, rec.id)


def test_an_amendment_cannot_add_a_closed_or_unchecked_trial(
    app, approved_recommendation, feedback_people, monkeypatch
):
    rec = approved_recommendation
    coordinator = feedback_people["nap_coordinator"]
    trials = [{"trial_id": t["code"], "priority": t["priority"]} for t in rec.trials]
    _set("NANT-LORLATINIB", status="closed", status_source="ClinicalTrials.gov NCT03107988")
    data = full_record_data(
        answers=answers_for(rec.case), trials=[*trials, {"trial_id": "NANT-LORLATINIB"}]
    )
    with pytest.raises(Refused, match="NANT-LORLATINIB is closed"):
        ops.save_record(rec, data, by=coordinator, expected_version=rec.version, reason="Added")
    db.session.rollback()

    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    _set("MINIVAN", status_verified_on=None)
    data = full_record_data(
        answers=answers_for(rec.case), trials=[*trials, {"trial_id": "MINIVAN", "priority": 3}]
    )
    with pytest.raises(Refused, match="MINIVAN: Status never checked. A coordinator must check"):
        ops.save_record(rec, data, by=coordinator, expected_version=rec.version, reason="Added")
    db.session.rollback()
    assert [t["code"] for t in _reload(rec).trials] == [t["trial_id"] for t in trials]


def test_the_record_page_shows_the_status_note(
    app, client, login, draft_recommendation, feedback_people, monkeypatch
):
    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    rec = draft_recommendation
    _set("CRISP", status_verified_on=(utcnow().date() - timedelta(days=45)).isoformat())
    ops.save_record(rec, full_record_data(), by=rec.drafted_by, expected_version=rec.version)
    db.session.commit()  # a draft re-freezes its trials from the registry on every save
    login(client, feedback_people["nap_coordinator"])
    page = client.get(f"/cases/{rec.case.reference}/recommendation").get_data(as_text=True)
    assert "Status not checked since" in page and "a coordinator must check it" in page
