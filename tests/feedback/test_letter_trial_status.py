"""What the letters say of the registry: each suggested trial "recruiting at SITE, checked DATE
with SOURCE" from the approved record (the site still recruiting at approval), plainly when
no site is confirmed; the epidemiological study's words following its status (included only
when it is confirmed open), with its source and date; and the factsheet's four trial-finding
websites, clickable in the page and the PDF."""

from __future__ import annotations

import html
import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from panel.core.db import db, utcnow
from panel.core.models import AuditEntry
from panel.feedback import letters, operations, sending
from panel.trials.models import Trial
from tests.support.data import answers_for, full_record_data

INCLUDED = "Your child is included in the Neuroblastoma Epidemiological Study"
FINDERS = (
    "https://www.cancerresearchuk.org/about-cancer/find-a-clinical-trial",
    "https://clinicaltrials.gov/",
    "https://www.itcc-consortium.org/trials/solid-tumor",
    "https://www.ecmcnetwork.org.uk",
)


def _trial(code: str) -> Trial:
    return db.session.scalar(select(Trial).where(Trial.code == code))


def _set(code: str, **values) -> None:
    from panel.trials.matching import clear_cache
    from panel.trials.registry import update_trial

    update_trial(_trial(code), values, by=None, expected_version=None)
    db.session.commit()
    clear_cache()


def _page(rec, kind: str) -> str:
    return html.unescape(letters.render_letter_html(rec, kind))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


# --------------------------------------------------------------------------- trials
def test_both_letters_print_recruiting_at_site_checked_date_with_source(
    app, approved_recommendation
):
    """Do both letters (HTML and PDF) print, for every suggested trial, the site, the check
    date and the source frozen in the approved record?"""
    rec = approved_recommendation
    frozen = {t["code"]: t for t in rec.trials}
    with app.test_request_context():
        pages = {k: _page(rec, k) for k in ("clinician", "family")}
        pdfs = {k: _pdf_text(letters.render_letter_pdf(rec, k)) for k in ("clinician", "family")}
    for code in ("CRISP", "NAXITAMAB-201"):
        site = frozen[code]["nearest_site"]["name"]
        line = f"Recruiting at {site}, checked 1 December 2026 with test data"
        assert line in pages["clinician"] and line in pdfs["clinician"], code
        # The family letter says the same in plain words.
        for part in (f"Taking new patients at {site}", "Checked on 1 December 2026 with test data"):
            assert part in pages["family"] and part in pdfs["family"], (code, part)


def test_the_letters_read_the_record_never_the_live_registry(app, approved_recommendation):
    """Does a registry change after approval leave the letters' trial lines as approved?"""
    rec = approved_recommendation
    with app.test_request_context():
        before = letters.family_context(rec)["trials"]
    _set("CRISP", status_source="ClinicalTrials.gov NCT00000000", status="suspended")
    db.session.expire_all()
    with app.test_request_context():
        after = letters.family_context(rec)["trials"]
    assert [t["availability"] for t in after] == [t["availability"] for t in before]
    assert "NCT00000000" not in " ".join(t["availability"] for t in after)


def test_approval_freezes_the_nearest_site_still_recruiting(
    app, draft_recommendation, feedback_people, db_session
):
    """A site the sync found closed after the draft was saved: does approval freeze the next
    nearest recruiting site, so the letter never says "recruiting at" a closed site?"""
    from panel.trials.matching import clear_cache

    rec = draft_recommendation
    crisp = next(t for t in rec.trials if t["code"] == "CRISP")
    assert crisp["nearest_site"]["centre"] == "LEEDS"
    trial = _trial("CRISP")
    trial.site_statuses = [{"centre": "LEEDS", "status": "closed", "registry_status": "COMPLETED"}]
    db_session.commit()
    clear_cache()
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=feedback_people["nap_coordinator"],
        expected_version=rec.version,
    )
    # The draft's save refroze it already; put back the stale entry the chair would approve.
    rec.trials = [
        {**t, "nearest_site": crisp["nearest_site"], "distance_km": crisp["distance_km"]}
        if t["code"] == "CRISP"
        else t
        for t in rec.trials
    ]
    db_session.commit()
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db_session.commit()
    approved = next(t for t in rec.trials if t["code"] == "CRISP")
    assert approved["nearest_site"]["centre"] == "ROYAL_MARSDEN"
    with app.test_request_context():
        text = _page(rec, "family")
        crisp = next(t for t in letters.family_context(rec)["trials"] if t["id"] == "CRISP")
    assert crisp["availability"].startswith(
        f"Recruiting at {approved['nearest_site']['name']}, checked"
    )
    assert crisp["family_availability"].startswith(
        f"Taking new patients at {approved['nearest_site']['name']}"
    )
    assert crisp["family_availability"] in text


def test_a_trial_with_no_confirmed_site_says_so(app, approved_recommendation):
    """A suggested trial frozen with no site: do the letters say so plainly?"""
    rec = approved_recommendation
    rec.trials = [
        {**t, "nearest_site": None, "distance_km": None} if t["code"] == "CRISP" else t
        for t in rec.trials
    ]
    with app.test_request_context():
        family = _page(rec, "family")
        clinician = _page(rec, "clinician")
    line = "Recruiting, with no UK site confirmed yet, checked 1 December 2026 with test data"
    assert line in clinician
    assert "Taking new patients. No UK hospital is confirmed yet." in family
    assert "Checked on 1 December 2026 with test data" in family
    db.session.rollback()


def test_a_coordinators_check_is_printed_without_their_email(
    app, draft_recommendation, feedback_people
):
    """A status checked by a coordinator ("source (checked by e-mail)"): does the family letter
    print the source without the e-mail address?"""
    from panel.trials.sync import mark_checked

    rec = draft_recommendation
    coordinator = feedback_people["nap_coordinator"]
    mark_checked(_trial("CRISP"), status="open", source="the CRISP trial team", by=coordinator)
    db.session.commit()
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(rec.case)),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=feedback_people["chair"], expected_version=rec.version)
    db.session.commit()
    with app.test_request_context():
        family = letters.render_letter_html(rec, "family")
    assert "with the CRISP trial team" in html.unescape(family)
    assert coordinator.email not in family and "checked by" not in family


def test_availability_words():
    """Are a missing date, a missing source and a status that is not open said plainly?"""
    assert letters.availability("open", "Leeds", "", "") == "Recruiting at Leeds, no check recorded"
    assert (
        letters.availability("open", "Leeds", "1 May 2026", "")
        == "Recruiting at Leeds, checked 1 May 2026 (source not recorded)"
    )
    assert letters.availability("closed", "Leeds", "1 May 2026", "X").startswith(
        "Closed to recruitment"
    )
    assert letters.letter_source("e-mail from the team (checked by a@b.org)") == (
        "e-mail from the team"
    )


# --------------------------------------------------------------------------- studies
@pytest.mark.parametrize(
    ("values", "state", "words"),
    [
        ({"status": "open", "days": 0}, "included", INCLUDED),
        (
            {"status": "closed", "days": 2},
            "closed",
            "The Neuroblastoma Epidemiological Study has closed",
        ),
        ({"status": "unknown", "days": None}, "unconfirmed", "could not check"),
        ({"status": "open", "days": 400}, "unconfirmed", "could not check"),
    ],
    ids=["open", "closed", "unknown", "open-but-stale"],
)
def test_the_family_letter_words_follow_the_study_status(
    app, monkeypatch, approved_recommendation, values, state, words
):
    """Is a child "included" only in a study confirmed open (checked recently), and is the
    study's status printed with its source and date in both letters?"""
    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    rec = approved_recommendation
    day = utcnow().date() - timedelta(days=values["days"]) if values["days"] is not None else None
    _set(
        "NB-EPIDEMIOLOGY",
        status=values["status"],
        status_verified_on=day.isoformat() if day else None,
        status_source="the study team",
    )
    with app.test_request_context():
        ctx = letters.family_context(rec)
        family = _page(rec, "family")
        clinician = _page(rec, "clinician")
        raw = letters.render_letter_html(rec, "clinician")
    assert ctx["studies"]["epidemiology"]["state"] == state
    assert words in family
    assert (INCLUDED in family) == (state == "included")
    assert f'data-state="{state}"' in raw
    status_line = ctx["studies"]["epidemiology"]["status_line"]
    assert f"Study status: {status_line}." in family and status_line in clinician
    assert "the study team" in status_line
    if day is not None and values["status"] != "open" or values["days"] == 0:
        assert letters.uk_date(day) in status_line


def test_an_opt_out_is_said_whatever_the_status(app, approved_recommendation, feedback_people):
    """Does the family's opt-out stay in the letter when the study is closed?"""
    rec = approved_recommendation
    operations.set_study_opt_out(rec.case, True, by=feedback_people["referrer"])
    db.session.commit()
    _set("NB-EPIDEMIOLOGY", status="closed", status_source="the study team")
    with app.test_request_context():
        family = _page(rec, "family")
    assert "You chose not to include your child" in family and INCLUDED not in family


def test_the_stored_letter_keeps_the_status_read_at_sending(
    app, approved_recommendation, feedback_people
):
    """Read at sending and stored: does the audit entry of the stored letters keep the study
    statuses the letters printed?"""
    rec = approved_recommendation
    _set("NB-EPIDEMIOLOGY", status="closed", status_source="the study team")
    sending.send_feedback(rec, by=feedback_people["nap_coordinator"])
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letters.stored"))
    assert entry.details["studies"]["NB-EPIDEMIOLOGY"]["status"] == "closed"
    assert entry.details["studies"]["NB-EPIDEMIOLOGY"]["source"] == "the study team"


def test_the_case_page_study_card_follows_the_status(
    app, client, login, approved_recommendation, feedback_people
):
    """Does the referrer's study card say "Included" only when the study is confirmed open,
    with the status line; and is the page refused to another centre's referrer?"""
    rec = approved_recommendation
    ref = rec.case.reference
    login(client, feedback_people["referrer"])
    _set("NB-EPIDEMIOLOGY", status="unknown", status_verified_on=None, status_source="none")
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert 'data-testid="epi-study-status"' in page
    assert ">Included<" not in page and "Study not confirmed open" in page
    _set("NB-EPIDEMIOLOGY", status="open", status_verified_on=utcnow().date().isoformat())
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert ">Included<" in page

    other = app.test_client()
    login(other, feedback_people["other_referrer"])
    assert other.get(f"/cases/{ref}").status_code == 404


# --------------------------------------------------------------------------- websites
def test_the_family_letter_lists_the_four_trial_finding_websites_as_links(
    app, approved_recommendation
):
    """Are the factsheet's four websites in the further information, each a link in the page
    and in the PDF, and does every entry carry its source?"""
    rec = approved_recommendation
    finders = letters.trial_finders()
    assert len(finders) == 4
    for f in finders:
        assert f["source"] and "factsheet" in f["source"] and "checked_on" in f
    with app.test_request_context():
        page = letters.render_letter_html(rec, "family")
        pdf = letters.render_letter_pdf(rec, "family")
    for url in FINDERS:
        assert f'<a href="{url}">' in page
    links = set()
    for p in PdfReader(io.BytesIO(pdf)).pages:
        for annot in p.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and action.get("/URI"):
                links.add(str(action["/URI"]))
    assert set(FINDERS) <= links


def test_a_coordinator_checks_a_study_on_its_page_and_the_letter_follows(
    app, client, login, approved_recommendation, feedback_people
):
    """Can a coordinator mark a study's status checked on its page (the form is offered), after
    which the family letter says the child is included; and is a referrer refused?"""
    from tests.support.web import post_form

    rec = approved_recommendation
    _set("NB-EPIDEMIOLOGY", status="unknown", status_verified_on=None, status_source="none")
    referrer = app.test_client()
    login(referrer, feedback_people["referrer"])
    data = {"status": "open", "source": "the study team", "version": "0"}
    assert post_form(app, referrer, "/trials/NB-EPIDEMIOLOGY/check-status", data).status_code in (
        403,
        404,
    )
    assert _trial("NB-EPIDEMIOLOGY").status.value == "unknown"

    login(client, feedback_people["nap_coordinator"])
    page = client.get("/trials/NB-EPIDEMIOLOGY").get_data(as_text=True)
    assert 'id="check-status"' in page
    data["version"] = str(_trial("NB-EPIDEMIOLOGY").version)
    resp = post_form(app, client, "/trials/NB-EPIDEMIOLOGY/check-status", data)
    assert resp.status_code == 302
    db.session.expire_all()
    with app.test_request_context():
        family = _page(rec, "family")
    assert INCLUDED in family
    assert "Study status: open, checked " in family and "with the study team." in family


def test_the_trials_card_does_not_say_included_for_an_unchecked_study(
    app, client, login, monkeypatch, approved_recommendation, feedback_people
):
    """Does the case page's trial card stop saying "Included in the study" once the study's
    status is no longer checked recently?"""
    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    ref = approved_recommendation.case.reference
    login(client, feedback_people["nap_coordinator"])
    hx = {"HX-Request": "true"}
    _set("NB-EPIDEMIOLOGY", status_verified_on=utcnow().date().isoformat())
    card = client.get(f"/trials/case/{ref}", headers=hx).get_data(as_text=True)
    assert "Included in the Neuroblastoma Epidemiological Study unless" in card
    old = utcnow().date() - timedelta(days=60)
    _set("NB-EPIDEMIOLOGY", status_verified_on=old.isoformat())
    card = client.get(f"/trials/case/{ref}", headers=hx).get_data(as_text=True)
    assert "Included in the Neuroblastoma Epidemiological Study" not in card
    assert "Not confirmed open" in card
