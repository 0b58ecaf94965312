"""Reading a letter is audited (issue 12): staff reading the clinician or family letter as a
page, and the family reading its own letter with its access code (the code is the actor).
Entries are written when the response is closed (see tests/core/test_read_audit.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.cases.models import CaseStatus
from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.feedback import family
from tests.support.web import post_form


@pytest.fixture(autouse=True)
def generous_limiter(app):
    from panel.core.extensions import limiter

    old = app.config.get("RATELIMIT_FAMILY")
    app.config["RATELIMIT_FAMILY"] = "100000 per minute"
    limiter.reset()
    yield
    if old is None:
        app.config.pop("RATELIMIT_FAMILY", None)
    else:
        app.config["RATELIMIT_FAMILY"] = old
    limiter.reset()


def _reads(db_session, action="letter.viewed"):
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def _get(client, url):
    resp = client.get(url)
    resp.close()
    return resp


def test_staff_letter_views_are_recorded(
    app, db_session, client, login, feedback_people, approved_recommendation
):
    """Does a coordinator's view of each letter write ``letter.viewed`` with the letter's kind,
    the case and its panel?"""
    case = approved_recommendation.case
    coordinator = feedback_people["nap_coordinator"]
    login(client, coordinator)
    for kind in ("clinician", "family"):
        assert _get(client, f"/cases/{case.reference}/letters/{kind}").status_code == 200
    entries = _reads(db_session)
    assert [e.details["kind"] for e in entries] == ["clinician", "family"]
    for e in entries:
        assert (
            e.actor_id == coordinator.id
            and e.object_type == "case"
            and e.object_id == case.reference
        )
        assert e.panel_id == case.panel_id and e.details["approved"] is True


def test_referrer_refused_before_sending_records_nothing(
    app, db_session, client, login, feedback_people, approved_recommendation
):
    """The referrer gets a 404 before the feedback is sent: no read is recorded."""
    case = approved_recommendation.case
    login(client, feedback_people["referrer"])
    assert _get(client, f"/cases/{case.reference}/letters/clinician").status_code == 404
    assert _reads(db_session) == []


def test_family_reading_its_letter_is_recorded(
    app, db_session, client, feedback_people, approved_recommendation
):
    """The family (no account) reads its letter and downloads the PDF: recorded with the code as
    the actor, no user id, the case and its panel."""
    case = approved_recommendation.case
    case.status, case.feedback_sent_at = CaseStatus.FEEDBACK_SENT, utcnow()
    code, plain = family.create_code(case, by=feedback_people["referrer"])
    db_session.commit()
    resp = post_form(app, client, "/family", {"code": plain})
    assert resp.status_code == 302
    assert _get(client, "/family/letter").status_code == 200
    [entry] = _reads(db_session)
    assert entry.actor_id is None and entry.actor_label == f"(family, code …{code.hint})"
    assert entry.object_id == case.reference and entry.panel_id == case.panel_id
    assert entry.details == {"kind": "family", "code_id": code.id}
    assert _get(client, "/family/letter.pdf").status_code == 200
    [pdf] = _reads(db_session, "letter.downloaded")
    assert pdf.actor_label == entry.actor_label and pdf.details["kind"] == "family"
