"""Words for families (issue 16): each trial's plain-language title and summary, written in the
editor (audited, versioned, identifier-guarded, scored for reading ease), shipped for every
packaged trial (grade 6 or below, with their source), and filled by a registry file only where
the registry has none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from panel.core.models import AuditEntry
from panel.core.readability import score
from panel.trials.engine import load_trials
from panel.trials.models import Trial, TrialChange, plain_text
from tests.support.web import post_form

PACKAGED = Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json"

TITLE = "A new medicine for neuroblastoma that has come back"
SUMMARY = (
    "This trial tests a new medicine. It is for children whose neuroblastoma has come back. "
    "The child takes a tablet every day."
)


def _trial(db_session, code: str) -> Trial:
    db_session.expire_all()
    return db_session.scalar(select(Trial).where(Trial.code == code))


def _edit_form(trial: Trial, **overrides) -> dict:
    data = {
        "version": str(trial.version),
        "title": trial.title,
        "phase": trial.phase or "",
        "summary": trial.summary or "",
        "plain_title": trial.plain_title or "",
        "plain_summary": trial.plain_summary or "",
        "registry_ids": "\n".join(trial.registry_ids),
        "sponsor": trial.sponsor or "",
        "status": trial.status.value,
        "status_source": trial.status_source or "",
        "sites": list(trial.sites),
        "sites_mode": trial.sites_mode,
        "notes": "\n".join(trial.notes),
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- the packaged words
@pytest.fixture(scope="module")
def packaged() -> dict:
    return {t["id"]: t for t in load_trials(PACKAGED) if not t.get("is_study")}


def test_every_packaged_trial_has_plain_words_a_family_can_read(packaged):
    """Grade 6.5 or below (title and summary together, textstat), at most 60 words, within the
    editor's limits, and each says what it paraphrases, when, and that no clinician checked it
    yet."""
    assert len(packaged) == 9
    for code, t in packaged.items():
        title, summary = t["plain_title"], t["plain_summary"]
        assert title and summary, code
        result = score(plain_text(title, summary))
        assert result.grade <= 6.5, (code, result.grade, [s.text for s in result.to_shorten])
        assert score(summary).words <= 60, (code, score(summary).words)
        assert len(title) <= 90 and len(summary) <= 600, code
        assert code in t["plain_source"] and "trials.json" in t["plain_source"], code
        assert t["plain_written_on"] == ("2026-12-07" if code == "GO42286" else "2026-12-06")
        assert t["plain_reviewed_by_clinician"] is False
        # The family letter prints these words instead of the registry's.
        assert title != t["title"]


def test_the_packaged_words_keep_to_the_record(packaged):
    """A few facts the words repeat, checked against the record they paraphrase (no criterion
    the record does not have)."""
    assert "101 weeks" in packaged["NAXITAMAB-201"]["summary"]
    assert "101 weeks" in packaged["NAXITAMAB-201"]["plain_summary"]
    assert "1 to 21" in packaged["CRISP"]["plain_summary"]
    assert any(c["label"] == "Aged 1 to 21 years" for c in packaged["CRISP"]["criteria"])
    assert "under 18" in packaged["ESMART"]["plain_summary"]
    assert any(c["label"] == "Under 18 years" for c in packaged["ESMART"]["criteria"])
    assert "London" in packaged["MINIVAN"]["summary"]
    assert "London" in packaged["MINIVAN"]["plain_summary"]
    assert "1 and 4 months" in packaged["LUDO-N"]["plain_summary"]


# --------------------------------------------------------------------------- the editor
def test_a_coordinator_writes_the_words_audited_versioned_and_scored(
    app, client, people, trials_loaded, login, db_session
):
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    version = trial.version
    form_page = client.get("/trials/CRISP/edit").get_data(as_text=True)
    assert "Title for families" in form_page and "Summary for families" in form_page
    resp = post_form(
        app,
        client,
        "/trials/CRISP/edit",
        _edit_form(trial, plain_title=TITLE, plain_summary=SUMMARY),
        follow_redirects=True,
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Words for families: reading grade" in page and "Easy to read" in page
    assert TITLE in page and 'data-testid="plain-grade"' in page
    trial = _trial(db_session, "CRISP")
    assert (trial.plain_title, trial.plain_summary) == (TITLE, SUMMARY)
    assert trial.version == version + 1
    change = db_session.scalar(
        select(TrialChange).where(
            TrialChange.trial_id == trial.id, TrialChange.version == trial.version
        )
    )
    assert change.diff["plain_title"][1] == TITLE and change.record["plain_summary"] == SUMMARY
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "trial.updated", AuditEntry.object_id == "CRISP")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.details["changes"]["plain_title"][1] == TITLE


def test_hard_words_get_a_gentle_hint_never_a_refusal(
    app, client, people, trials_loaded, login, db_session
):
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    hard = (
        "Investigational pharmacological combination evaluating pharmacokinetics, "
        "tolerability and preliminary antitumour activity in paediatric malignancies."
    )
    resp = post_form(
        app,
        client,
        "/trials/CRISP/edit",
        _edit_form(trial, plain_summary=hard),
        follow_redirects=True,
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "aim for 6 or below" in page
    assert "try shortening" in page and "Investigational pharmacological" in page
    assert _trial(db_session, "CRISP").plain_summary == hard


def test_too_long_or_identifying_words_are_refused_on_the_form(
    app, client, people, trials_loaded, login, db_session
):
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    before = (trial.plain_title, trial.plain_summary, trial.version)
    resp = post_form(app, client, "/trials/CRISP/edit", _edit_form(trial, plain_title="x" * 91))
    assert resp.status_code == 422
    assert "Field cannot be longer than 90 characters" in resp.get_data(as_text=True)
    resp = post_form(app, client, "/trials/CRISP/edit", _edit_form(trial, plain_summary="y " * 301))
    assert resp.status_code == 422
    resp = post_form(
        app,
        client,
        "/trials/CRISP/edit",
        _edit_form(trial, plain_summary="Ask for Jo, NHS number 943 476 5919, at the clinic."),
    )
    assert resp.status_code == 422
    assert "personal identifier" in resp.get_data(as_text=True)
    trial = _trial(db_session, "CRISP")
    assert (trial.plain_title, trial.plain_summary, trial.version) == before


def test_a_trial_without_words_says_what_is_needed_and_who_writes_them(
    app, client, people, trials_loaded, login, db_session, make_user
):
    from panel.trials.registry import update_trial

    update_trial(
        _trial(db_session, "CRISP"),
        {"plain_title": None, "plain_summary": None},
        by=None,
        expected_version=None,
    )
    db_session.commit()
    login(client, people["nap_coordinator"])
    page = client.get("/trials/CRISP").get_data(as_text=True)
    assert 'data-testid="plain-missing"' in page and "cannot be approved or sent" in page
    assert "Write them with" in page
    admin = app.test_client()
    login(admin, make_user(admin=True))
    page = admin.get("/trials/CRISP").get_data(as_text=True)
    assert "A coordinator writes them." in page


def test_the_trial_page_says_the_packaged_words_are_not_yet_checked(
    app, client, people, login, db_session
):
    from panel.trials.registry import load_registry

    load_registry(PACKAGED)
    db_session.commit()
    login(client, people["nap_coordinator"])
    page = client.get("/trials/BEACON2").get_data(as_text=True)
    assert "Not yet checked by a panel clinician" in page
    assert "6 Dec 2026" in page


# --------------------------------------------------------------------------- loading a file
@pytest.mark.parametrize("new_only", [False, True])
def test_a_reload_fills_empty_words_and_never_overwrites_edited_ones(
    app, db_session, people, new_only
):
    from panel.trials.registry import load_registry, update_trial

    load_registry(PACKAGED)
    db_session.commit()
    packaged = {t["id"]: t for t in load_trials(PACKAGED)}
    assert _trial(db_session, "CRISP").plain_title == packaged["CRISP"]["plain_title"]
    update_trial(
        _trial(db_session, "CRISP"),
        {"plain_title": TITLE},
        by=people["nap_coordinator"],
        expected_version=None,
    )
    update_trial(  # words cleared (by hand or never loaded): the file fills them again
        _trial(db_session, "BEACON2"),
        {"plain_title": None, "plain_summary": None},
        by=people["nap_coordinator"],
        expected_version=None,
    )
    db_session.commit()

    summary = load_registry(PACKAGED, new_only=new_only)
    db_session.commit()
    crisp, beacon = _trial(db_session, "CRISP"), _trial(db_session, "BEACON2")
    assert crisp.plain_title == TITLE  # edited: kept
    assert crisp.plain_summary == packaged["CRISP"]["plain_summary"]
    assert beacon.plain_title == packaged["BEACON2"]["plain_title"]
    assert beacon.plain_summary == packaged["BEACON2"]["plain_summary"]
    assert "BEACON2" in summary.updated
    again = load_registry(PACKAGED, new_only=new_only)
    db_session.commit()
    assert _trial(db_session, "CRISP").plain_title == TITLE
    assert not again.updated  # nothing left to fill


def test_a_file_without_words_leaves_the_registry_words(app, db_session, tmp_path):
    """A registry file written before issue 16 (no plain words) keeps those in the registry."""
    import json

    from panel.trials.registry import load_registry

    load_registry(PACKAGED)
    db_session.commit()
    doc = json.loads(PACKAGED.read_text())
    for t in doc["trials"]:
        for key in [k for k in t if k.startswith("plain_")]:
            del t[key]
    old = tmp_path / "trials.json"
    old.write_text(json.dumps(doc))
    load_registry(old)
    db_session.commit()
    assert _trial(db_session, "LUDO-N").plain_title.startswith("Targeted radiotherapy")


def test_the_engine_refuses_bad_words_in_a_file():
    from panel.trials.engine import validate_trial

    rec = {
        "id": "X1",
        "title": "X",
        "status": "open",
        "sites": [],
        "sites_mode": "any",
        "criteria": [],
        "plain_title": "t" * 91,
        "plain_summary": 3,
        "plain_written_on": "6 December",
        "plain_reviewed_by_clinician": "no",
    }
    errors = "\n".join(validate_trial(rec, set()))
    assert "plain_title is limited to 90 characters" in errors
    assert "plain_summary must be text" in errors
    assert "plain_written_on must be an ISO date" in errors
    assert "plain_reviewed_by_clinician must be true or false" in errors


def test_the_words_are_scored_as_they_are_typed_for_coordinators_only(
    app, client, people, trials_loaded, login, db_session
):
    """The editor's live hint (POST /trials/readability, the record's hint partial): the grade
    and the sentences to shorten above grade 6; nothing written; coordinators only."""
    hard = (
        "Investigational pharmacological combination evaluating pharmacokinetics, "
        "tolerability and preliminary antitumour activity in paediatric malignancies."
    )
    login(client, people["nap_coordinator"])
    entries = db_session.scalar(select(func.count()).select_from(AuditEntry))
    resp = post_form(
        app, client, "/trials/readability?field=plain_summary", {"plain_summary": hard}
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="readability-warning"' in page
    assert "Investigational pharmacological" in page
    easy = {"plain_title": "A new pill for kids"}
    resp = post_form(app, client, "/trials/readability?field=plain_title", easy)
    assert resp.status_code == 200 and 'data-testid="readability-ok"' in resp.get_data(as_text=True)
    resp = post_form(app, client, "/trials/readability?field=plain_title", {})
    assert resp.status_code == 400
    resp = post_form(
        app, client, "/trials/readability?field=plain_summary", {"plain_summary": "a " * 3000}
    )
    assert resp.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    # The edit page wires both fields to it.
    page = client.get("/trials/CRISP/edit").get_data(as_text=True)
    assert page.count('hx-post="/trials/readability?field=plain_') == 2
    assert 'aria-describedby="plain_summary-help plain_summary-readability"' in page
    for who in ("nap_member", "referrer"):
        other = app.test_client()
        login(other, people[who])
        resp = post_form(
            app, other, "/trials/readability?field=plain_title", {"plain_title": TITLE}
        )
        assert resp.status_code in (403, 404), who
