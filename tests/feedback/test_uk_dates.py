"""Dates are shown to people in UK time, through the ``|uk_date`` and ``|uk_datetime`` filters
(stored instants are UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template_string

from panel.cases.models import CaseStatus
from panel.core.uktime import uk_date, uk_datetime

LATE_JUNE = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 BST on 1 July


def test_a_late_utc_evening_in_summer_is_the_next_day_in_the_uk(app):
    """Is 23:30 UTC on 30 June shown as 1 July (BST), by the functions and the filters?"""
    assert uk_date(LATE_JUNE) == "1 Jul 2026"
    assert uk_date(LATE_JUNE.replace(tzinfo=None)) == "1 Jul 2026"  # naive counts as UTC
    assert uk_datetime(LATE_JUNE, "%-d %b %Y, %H:%M %Z") == "1 Jul 2026, 00:30 BST"
    with app.test_request_context():
        out = render_template_string(
            "{{ t|uk_date }} · {{ t|uk_datetime }} · {{ d|uk_date('%d %B %Y') }} · {{ n|uk_date }}.",
            t=LATE_JUNE,
            d=date(2026, 6, 30),
            n=None,
        )
    assert out == "1 Jul 2026 · 1 Jul 2026, 00:30 · 30 June 2026 · ."


def test_winter_evenings_keep_their_day():
    """In winter (GMT) UK time is UTC: 23:30 on 30 December stays 30 December."""
    assert uk_date(datetime(2026, 12, 30, 23, 30, tzinfo=UTC)) == "30 Dec 2026"


def test_the_feedback_banner_shows_the_uk_day_of_sending(
    app, db_session, client, login, feedback_people, approved_recommendation
):
    """Does the case page say feedback was sent on 1 July when it was sent at 23:30 UTC on
    30 June (it used to print the UTC day)?"""
    case = approved_recommendation.case
    case.status, case.feedback_sent_at = CaseStatus.FEEDBACK_SENT, LATE_JUNE
    db_session.commit()
    login(client, feedback_people["nap_coordinator"])
    resp = client.get(f"/cases/{case.reference}")
    resp.close()
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Sent to the referring team on 1 Jul 2026" in page
    assert "30 Jun 2026" not in page


def test_the_letter_page_is_dated_on_the_uk_day(
    app, db_session, client, login, feedback_people, approved_recommendation
):
    """Is the clinician letter of feedback sent at 23:30 UTC on 30 June dated 1 July 2026?"""
    case = approved_recommendation.case
    case.status, case.feedback_sent_at = CaseStatus.FEEDBACK_SENT, LATE_JUNE
    db_session.commit()
    login(client, feedback_people["nap_coordinator"])
    resp = client.get(f"/cases/{case.reference}/letters/clinician")
    resp.close()
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "1 July 2026" in page and "30 June 2026" not in page


def test_an_iso_date_kept_in_json_reads_as_a_uk_date():
    """A frozen record keeps its trials' check dates as ISO strings: they read like any date,
    and a string that is not a date is shown as it is."""
    assert uk_date("2026-03-11") == "11 Mar 2026"
    assert uk_date("2026-03-11T09:00:00") == "11 Mar 2026"
    assert uk_date("not checked") == "not checked"
