"""Fixtures for the feedback tests (the recommendation record, the letters, family access).

Stable, shared by several test modules; everything is committed inside the test's
rolled-back transaction (see tests/conftest.py), so it disappears after each test.

* ``registry_trials``: the packaged trials.json loaded into the registry (the ALK example
  then matches CRISP, NAXITAMAB-201, NANT-LORLATINIB and MINIVAN as eligible).
* ``feedback_people``: the suite's ``people`` plus ``"chair"`` (a NAP chair) and
  ``"nap_chair2"`` (a second NAP chair), ``"north_chair"`` (chair of ECMC-NORTH).
* ``discussed_case``: the ALK example (three parents' questions), submitted by
  ``feedback_people["referrer"]`` to NAP and discussed at a meeting that started an hour ago
  (status ``discussed``, ``discussed_at`` set; :func:`tests.support.data.discussed_at_meeting`).
* ``draft_recommendation``: ``discussed_case`` with a draft record started by the NAP
  coordinator and saved with :func:`tests.support.data.full_record_data` (answers NOT filled).
* ``approved_recommendation``: the same record with every question answered
  (:func:`answers_for`) and approved by ``feedback_people["chair"]``; returns the
  :class:`~panel.feedback.models.Recommendation` (``.case``, ``.approved_by``, ``.drafted_by``).
"""

from __future__ import annotations

import pytest

from tests.support.data import answers_for, discussed_at_meeting, full_record_data


@pytest.fixture
def registry_trials(db_session):
    """The packaged trials.json in the registry."""
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    summary = load_registry()
    db_session.commit()
    clear_cache()
    return summary


@pytest.fixture
def feedback_people(people, make_user):
    """``people`` plus NAP chairs and a chair of another panel."""
    return {
        **people,
        "chair": make_user(roles=[("NAP", "chair")], name="Dr Chair"),
        "nap_chair2": make_user(roles=[("NAP", "chair")], name="Dr Second Chair"),
        "north_chair": make_user(roles=[("ECMC-NORTH", "chair")], name="Dr North Chair"),
    }


@pytest.fixture
def discussed_case(feedback_people, make_case, db_session, registry_trials):
    """The ALK example submitted to NAP and discussed at a meeting that has started."""
    case = make_case(feedback_people["referrer"], submit=True)
    discussed_at_meeting(db_session, case)
    return case


@pytest.fixture
def draft_recommendation(discussed_case, feedback_people, db_session):
    """A draft record with the full data of :func:`full_record_data` (questions unanswered)."""
    from panel.feedback import operations

    coordinator = feedback_people["nap_coordinator"]
    rec = operations.start_recommendation(discussed_case, by=coordinator)
    operations.save_record(rec, full_record_data(), by=coordinator, expected_version=rec.version)
    db_session.commit()
    return rec


@pytest.fixture
def approved_recommendation(draft_recommendation, feedback_people, db_session):
    """The ALK example's full record, every question answered, approved by the NAP chair."""
    from panel.feedback import operations

    rec = draft_recommendation
    coordinator = feedback_people["nap_coordinator"]
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db_session.commit()
    return rec
