"""``flask --app panel sync-trials``: statuses from ClinicalTrials.gov (API v2) and ISRCTN.

The registries are played by a real HTTP server on 127.0.0.1 serving recorded responses
(``data/registry``: written in the APIs' formats for these tests, not the trials' real records);
the client is Panel's own, unmocked.
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.trials.models import Trial, TrialChange, TrialStatus
from tests.support.factories import example
from tests.support.registry_replay import CTGOV, REGISTRY

PACKAGED = Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json"


def _sync(app, *args):
    from panel.trials.matching import clear_cache

    result = app.test_cli_runner().invoke(args=["sync-trials", *args])
    clear_cache()
    return result


def _trial(db_session, code: str) -> Trial:
    db_session.expire_all()
    return db_session.scalar(select(Trial).where(Trial.code == code))


def _open_matches(doc=None) -> dict:
    from panel.trials import engine
    from panel.trials.matching import centre_index, current_registry, payload

    found = engine.match_case(doc or example(), current_registry().trials, centre_index())
    return {m["trial"]: m for m in payload("case", found)["matches"]}


def _audits(db_session, action: str, code: str) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.object_id == code)
            .order_by(AuditEntry.id)
        )
    )


# --------------------------------------------------------------------------- recruiting -> completed
def test_recruiting_then_completed_closes_the_trial_at_once(
    app, db_session, loaded, registry_server
):
    """A trial the registry reports RECRUITING is open, checked today, with its source; when it
    reports COMPLETED the trial closes at once (history, audit) and leaves the matches."""
    registry_server.study("NCT03363373", "NCT03363373-recruiting.json")
    result = _sync(app, "--trial", "NAXITAMAB-201")
    assert result.exit_code == 0, result.output
    assert "NAXITAMAB-201: open (RECRUITING), status unchanged" in result.output
    assert "1 trials: 1 synced" in result.output
    today = utcnow().date()
    nax = _trial(db_session, "NAXITAMAB-201")
    assert nax.status.value == "open" and nax.status_verified_on == today
    assert nax.status_source == "ClinicalTrials.gov NCT03363373"
    assert nax.registry_status == "RECRUITING"
    assert nax.registry_updated_on.isoformat() == "2026-10-02"
    assert nax.status_fetched_from.endswith("/ctgov/api/v2/studies/NCT03363373?format=json")
    assert {s["centre"]: s["status"] for s in nax.site_statuses} == {
        "GLASGOW": "open",
        "LEEDS": "open",
        "ROYAL_MARSDEN": "open",
        "SOUTHAMPTON": "open",
    }
    # The UK site Panel cannot map is reported, never guessed; the US site is not a UK site.
    assert nax.last_sync["unmapped_uk_sites"] == ["Royal Cornwall Hospital, Truro"]
    assert "UK sites not mapped to a centre: Royal Cornwall Hospital, Truro" in result.output
    match = _open_matches()["NAXITAMAB-201"]
    assert match["status"] == "open" and match["status_checked_on"] == today.isoformat()
    assert match["status_source"] == "ClinicalTrials.gov NCT03363373"

    registry_server.study("NCT03363373", "NCT03363373-completed.json")
    result = _sync(app, "--trial", "NAXITAMAB-201")
    assert result.exit_code == 0, result.output
    assert "NAXITAMAB-201: open -> closed (COMPLETED)" in result.output
    nax = _trial(db_session, "NAXITAMAB-201")
    assert nax.status.value == "closed" and nax.registry_status == "COMPLETED"
    assert nax.last_sync["changes"]["status"] == ["open", "closed"]
    assert nax.last_sync["changes"]["registry_status"] == ["RECRUITING", "COMPLETED"]
    assert "NAXITAMAB-201" not in _open_matches()
    change = db_session.scalar(
        select(TrialChange)
        .where(TrialChange.trial_id == nax.id)
        .order_by(TrialChange.version.desc())
        .limit(1)
    )
    assert change.by_label == "sync-trials" and change.diff["status"] == ["open", "closed"]
    [_, synced] = _audits(db_session, "trial.synced", "NAXITAMAB-201")
    assert synced.actor_label == "sync-trials"
    assert synced.details["changes"]["status"] == ["open", "closed"]
    assert synced.details["source"] == "ClinicalTrials.gov NCT03363373"


# --------------------------------------------------------------------------- one UK site closes
def test_a_uk_site_closing_while_others_stay_open(app, db_session, loaded, registry_server):
    """Leeds stops recruiting, the other UK sites go on: the trial stays open, Leeds is left out
    of the distance, and the change is recorded per site."""
    registry_server.study("NCT03363373", "NCT03363373-recruiting.json")
    assert _sync(app, "--trial", "NAXITAMAB-201").exit_code == 0
    before = _open_matches()["NAXITAMAB-201"]
    assert before["distance_km"] == 131  # NEWCASTLE -> LEEDS
    assert "LEEDS" in [s["centre"] for s in before["sites"]]

    registry_server.study("NCT03363373", "NCT03363373-leeds-closed.json")
    result = _sync(app, "--trial", "NAXITAMAB-201")
    assert result.exit_code == 0, result.output
    assert "sites: LEEDS open -> closed" in result.output
    nax = _trial(db_session, "NAXITAMAB-201")
    assert nax.status.value == "open"
    assert nax.last_sync["changes"] == {
        "registry_updated_on": ["2026-10-02", "2026-11-20"],
        "sites": {"LEEDS": ["open", "closed"]},
    }
    assert nax.closed_sites() == {"LEEDS"}
    assert nax.sites == ["GLASGOW", "LEEDS", "ROYAL_MARSDEN", "SOUTHAMPTON"]  # curated: kept
    after = _open_matches()["NAXITAMAB-201"]
    assert "LEEDS" not in [s["centre"] for s in after["sites"]]
    assert after["distance_km"] > 131 and after["status"] == "open"


def test_a_trial_whose_every_site_closed_is_not_listed(app, db_session, loaded):
    """Overall open but not recruiting at any of its sites: not open at one site, not listed."""
    from panel.trials.matching import clear_cache

    lorlatinib = _trial(db_session, "NANT-LORLATINIB")
    lorlatinib.site_statuses = [{"centre": "ROYAL_MARSDEN", "status": "closed"}]
    db_session.commit()
    clear_cache()
    assert lorlatinib.match_record()["status"] == "closed"
    assert "NANT-LORLATINIB" not in _open_matches()


def test_a_trial_without_confirmed_sites_takes_the_open_uk_sites_of_the_registry(db_session):
    trial = Trial(
        code="X", title="X", status=TrialStatus.OPEN, sites=[], criteria=[], sites_mode="any"
    )
    assert trial.match_record()["sites"] == [] and trial.match_record()["status"] == "open"
    trial.site_statuses = [
        {"centre": "OXFORD", "status": "open"},
        {"centre": "LEEDS", "status": "closed"},
    ]
    assert trial.match_record()["sites"] == ["OXFORD"]
    trial.site_statuses = [{"centre": "LEEDS", "status": "closed"}]
    assert trial.match_record()["status"] == "closed"


# --------------------------------------------------------------------------- unknown status
def test_an_unknown_status_is_never_open(app, db_session, loaded, registry_server):
    """UNKNOWN on the registry: Panel's status is unknown, the trial is not listed, and it is
    flagged 'status unknown'."""
    from panel.trials.models import status_note

    registry_server.study("NCT02914405", "NCT02914405-unknown.json")
    result = _sync(app, "--trial", "MINIVAN")
    assert result.exit_code == 0, result.output
    assert "MINIVAN: open -> unknown (UNKNOWN)" in result.output
    minivan = _trial(db_session, "MINIVAN")
    assert minivan.status.value == "unknown" and minivan.verification_overdue()
    assert status_note(minivan.to_record()).startswith("Status unknown, not confirmed since")
    assert {s["centre"] for s in minivan.site_statuses} == {"UCLH", "SOUTHAMPTON"}
    assert "MINIVAN" not in _open_matches()


# --------------------------------------------------------------------------- network errors
def test_network_errors_keep_the_status_and_never_stop_the_others(
    app, db_session, loaded, registry_server, monkeypatch
):
    """A time-out, an HTTP 500 and a record the registry does not have fail their own trials
    (status and check date kept, sync_failed audited, exit 1); the other trials are synced."""
    registry_server.study("NCT03363373", "NCT03363373-recruiting.json")
    registry_server.routes[f"{CTGOV}/studies/NCT03107988"] = (200, "application/json", b"{}", 3.0)
    registry_server.routes[f"{CTGOV}/studies/NCT02813135"] = (500, "text/plain", b"oops", 0.0)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_TIMEOUT", 0.5)
    result = _sync(app)
    assert result.exit_code == 1
    out = result.output
    assert "NAXITAMAB-201: open (RECRUITING)" in out
    assert "NANT-LORLATINIB: failed, status left as it was:" in out
    assert "no answer within 0.5 s (2 attempts)" in out
    assert "ESMART: failed, status left as it was:" in out and "HTTP 500 (2 attempts)" in out
    assert "VERITAS: failed" in out and "not found in the registry (HTTP 404)" in out
    assert "CRISP: skipped: no ClinicalTrials.gov or ISRCTN id" in out  # EudraCT only
    assert "6 trials: 1 synced (1 changed), 5 failed." in out
    # Two attempts each for the time-out and the 500; a 404 is not retried.
    assert registry_server.hits.count(f"{CTGOV}/studies/NCT02813135") == 2
    assert registry_server.hits.count(f"{CTGOV}/studies/NCT03165292") == 1
    lorlatinib = _trial(db_session, "NANT-LORLATINIB")
    assert lorlatinib.status.value == "open" and lorlatinib.status_verified_on.isoformat() == (
        "2026-12-01"
    )
    assert lorlatinib.last_sync["ok"] is False and "no answer" in lorlatinib.last_sync["error"]
    [failed] = _audits(db_session, "trial.sync_failed", "NANT-LORLATINIB")
    assert failed.details["registry_id"] == "NCT03107988"
    assert _trial(db_session, "NAXITAMAB-201").status_verified_on == utcnow().date()


def test_the_registry_down(app, db_session, loaded, registry_server, monkeypatch):
    """Nothing listening at the registry's address: every trial fails, nothing changes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "CTGOV_API_URL", f"http://127.0.0.1:{port}/api/v2")
    result = _sync(app, "--trial", "NAXITAMAB-201", "--trial", "MINIVAN")
    assert result.exit_code == 1
    assert result.output.count("network error") == 2
    assert "2 trials: 0 synced (0 changed), 2 failed." in result.output
    assert _trial(db_session, "MINIVAN").status.value == "open"


# --------------------------------------------------------------------------- malformed records
def test_malformed_records_fail_their_trial_only(app, db_session, loaded, registry_server):
    """A study without its statusModule, a response that is not JSON and the record of another
    trial are refused, named, and change nothing."""
    registry_server.study("NCT03165292", "NCT03165292-malformed.json")
    registry_server.routes[f"{CTGOV}/studies/NCT02914405"] = (
        200,
        "application/json",
        b"<html>maintenance</html>",
        0.0,
    )
    registry_server.routes[f"{CTGOV}/studies/NCT03363373"] = (
        200,
        "application/json",
        (REGISTRY / "NCT02914405-unknown.json").read_bytes(),
        0.0,
    )
    result = _sync(app, "--trial", "VERITAS", "--trial", "MINIVAN", "--trial", "NAXITAMAB-201")
    assert result.exit_code == 1
    out = result.output
    assert "VERITAS: failed" in out and "malformed record: no statusModule" in out
    assert "MINIVAN: failed" in out and "malformed record: not valid JSON" in out
    assert "NAXITAMAB-201: failed" in out and "the response is the record of NCT02914405" in out
    for code in ("VERITAS", "MINIVAN", "NAXITAMAB-201"):
        assert _trial(db_session, code).status.value == "open"


# --------------------------------------------------------------------------- ISRCTN
def test_isrctn_status_from_the_recruitment_dates(app, db_session, registry_server):
    """BEACON2 (an ISRCTN id): open while today is within the recruitment dates, its UK
    centres mapped (England counts as the UK), closed once recruitment has ended."""
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry(PACKAGED)
    db_session.commit()
    clear_cache()
    registry_server.isrctn("ISRCTN12532102", "ISRCTN12532102.xml")
    result = _sync(app, "--trial", "BEACON2")
    assert result.exit_code == 0, result.output
    beacon = _trial(db_session, "BEACON2")
    assert beacon.status.value == "open" and beacon.status_source == "ISRCTN ISRCTN12532102"
    assert beacon.registry_status.startswith("Recruiting (recruitment 2024-09-01 to 2099-12-31)")
    assert beacon.registry_updated_on.isoformat() == "2026-11-11"
    assert {s["centre"]: s["status"] for s in beacon.site_statuses} == {
        "LEEDS": "open",
        "OXFORD": "open",
    }
    assert beacon.last_sync["unmapped_uk_sites"] == ["Hospital in an unknown town, Elsewhere"]

    registry_server.isrctn("ISRCTN12532102", "ISRCTN12532102-ended.xml")
    result = _sync(app, "--trial", "BEACON2")
    assert "BEACON2: open -> closed (No longer recruiting (recruitment ended 2025-12-31))" in (
        result.output
    )
    assert _trial(db_session, "BEACON2").status.value == "closed"

    registry_server.isrctn("ISRCTN12532102", "ISRCTN12532102-malformed.xml")
    result = _sync(app, "--trial", "BEACON2")
    assert result.exit_code == 1 and "malformed record: not valid XML" in result.output


def test_isrctn_override_and_missing_dates():
    from datetime import date

    from panel.trials.sync import isrctn_status

    today = date(2026, 12, 6)
    assert isrctn_status("Suspended", None, None, today)[0] == "suspended"
    assert isrctn_status("Stopped", None, None, today)[0] == "closed"
    assert isrctn_status(None, None, None, today)[0] == "unknown"
    assert isrctn_status(None, date(2027, 1, 1), date(2028, 1, 1), today)[0] == "not_yet_open"


# --------------------------------------------------------------------------- saved responses
def test_from_a_folder_of_saved_responses(app, db_session, loaded, tmp_path):
    """--from reads a study object, a {"studies": [...]} page and ISRCTN XML; an unreadable file
    is reported and the others are used; a trial with no saved record fails on its own."""
    folder = tmp_path / "saved"
    folder.mkdir()
    for name in ("NCT03363373-recruiting.json", "studies-page.json", "ISRCTN12532102.xml"):
        (folder / name).write_bytes((REGISTRY / name).read_bytes())
    (folder / "broken.json").write_text("{not json")
    result = _sync(app, "--from", str(folder))
    out = result.output
    assert result.exit_code == 1  # VERITAS, MINIVAN: nothing saved for them; CRISP: no id
    assert "NAXITAMAB-201: open (RECRUITING)" in out
    assert "NANT-LORLATINIB: open -> closed (ACTIVE_NOT_RECRUITING)" in out
    assert "ESMART: open -> closed (ACTIVE_NOT_RECRUITING)" in out
    assert "VERITAS: failed" in out and "no saved record for NCT03165292" in out
    assert "warning:" in out and "broken.json: malformed record: neither JSON nor XML" in out
    lorlatinib = _trial(db_session, "NANT-LORLATINIB")
    assert lorlatinib.status_fetched_from.endswith("studies-page.json")
    assert lorlatinib.site_statuses[0]["centre"] == "ROYAL_MARSDEN"

    # The whole recordings folder: of three records of NCT03363373 the last updated counts.
    every = _sync(app, "--from", str(REGISTRY), "--trial", "NAXITAMAB-201")
    assert "NAXITAMAB-201: open -> closed (COMPLETED)" in every.output
    assert "README.md" not in every.output  # not a .json or .xml file: not read
    one = _sync(app, "--from", str(REGISTRY / "NCT02914405-unknown.json"), "--trial", "MINIVAN")
    assert one.exit_code == 0 and "MINIVAN: open -> unknown" in one.output
    missing = _sync(app, "--from", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


# --------------------------------------------------------------------------- the registry page
def test_registry_page_shows_status_source_check_and_last_changes(
    app, client, db_session, loaded, registry_server, people, login
):
    registry_server.study("NCT03363373", "NCT03363373-recruiting.json")
    _sync(app, "--trial", "NAXITAMAB-201")
    registry_server.study("NCT03363373", "NCT03363373-leeds-closed.json")
    registry_server.study("NCT02914405", "NCT02914405-unknown.json")
    _sync(app, "--trial", "NAXITAMAB-201", "--trial", "MINIVAN")
    login(client, people["nap_coordinator"])
    html = client.get("/trials/").get_data(as_text=True)
    row = html[
        html.index('data-code="NAXITAMAB-201"') : html.index('data-code="NAXITAMAB-201"') + 5000
    ]
    row = row[: row.index("</tr>")]
    assert "ClinicalTrials.gov NCT03363373" in row
    assert f"Checked {utcnow().date().strftime('%d %b %Y')}" in row
    assert "site LEEDS: open &rarr; closed" in row and "Not recruiting: LEEDS" in row
    assert "UK sites not mapped to a centre: Royal Cornwall Hospital, Truro" in row
    minivan = html[html.index('data-code="MINIVAN"') :]
    minivan = minivan[: minivan.index("</tr>")]
    assert "Status unknown" in minivan and "status: open &rarr; unknown" in minivan
    page = client.get("/trials/NAXITAMAB-201").get_data(as_text=True)
    assert 'data-testid="site-statuses"' in page and "RECRUITING" in page


# --------------------------------------------------------------------------- checked by hand
def test_coordinator_marks_a_status_checked(app, client, db_session, loaded, people, login):
    """A coordinator records the status found and where: dated today, audited; an admin cannot;
    a missing source is refused."""
    trial = _trial(db_session, "CRISP")
    trial.status_verified_on = utcnow().date() - timedelta(days=400)
    db_session.commit()
    from tests.support.web import post_form

    login(client, people["nap_coordinator"])
    refused = post_form(
        app,
        client,
        "/trials/CRISP/check-status",
        {"status": "unknown", "source": " ", "version": str(trial.version)},
        follow_redirects=True,
    )
    assert "say where you checked the status" in refused.get_data(as_text=True)
    resp = post_form(
        app,
        client,
        "/trials/CRISP/check-status",
        {
            "status": "unknown",
            "source": "EU register: temporarily halted",
            "version": str(_trial(db_session, "CRISP").version),
        },
    )
    assert resp.status_code == 302
    crisp = _trial(db_session, "CRISP")
    assert crisp.status.value == "unknown" and crisp.status_verified_on == utcnow().date()
    assert crisp.status_source.startswith("EU register: temporarily halted (checked by ")
    [entry] = _audits(db_session, "trial.status_checked", "CRISP")
    assert entry.actor_id == people["nap_coordinator"].id
    assert entry.details["status"] == ["open", "unknown"]
    admin = app.test_client()
    login(admin, people["admin"])
    assert (
        post_form(
            app, admin, "/trials/CRISP/check-status", {"status": "open", "source": "x"}
        ).status_code
        == 403
    )


def test_loading_the_packaged_registry_updates_existing_rows(
    app, db_session, loaded, people, monkeypatch
):
    """--new-only (make run, demo data) brings never-edited rows up to date; a coordinator's
    edit survives, except that the file's 'not open' replaces an unchecked 'open'."""
    from panel.trials.registry import load_registry, update_trial

    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    crisp = _trial(db_session, "CRISP")
    update_trial(
        crisp,
        {
            "notes": ["edited"],
            "status_verified_on": (utcnow().date() - timedelta(days=60)).isoformat(),
        },
        by=people["nap_coordinator"],
        expected_version=None,
    )
    lorlatinib = _trial(db_session, "NANT-LORLATINIB")
    update_trial(
        lorlatinib,
        {"notes": ["edited"], "status_verified_on": utcnow().date().isoformat()},
        by=people["nap_coordinator"],
        expected_version=None,
    )
    naxitamab = _trial(db_session, "NAXITAMAB-201")
    update_trial(
        naxitamab,
        {"notes": ["edited"], "status_verified_on": None},
        by=people["nap_coordinator"],
        expected_version=None,
    )
    # ESMART and MINIVAN as the old packaged file left them: open, never checked.
    for code in ("ESMART", "MINIVAN"):
        update_trial(
            _trial(db_session, code), {"status_verified_on": None}, by=None, expected_version=None
        )
    # VERITAS synced today (no person): the file's undated "closed" does not undo the sync.
    update_trial(
        _trial(db_session, "VERITAS"),
        {"status_verified_on": utcnow().date().isoformat(), "status_source": "ClinicalTrials.gov"},
        by=None,
        expected_version=None,
    )
    db_session.commit()
    summary = load_registry(PACKAGED, new_only=True)
    db_session.commit()
    assert sorted(summary.created) == ["BEACON2", "GO42286", "LUDO-N"]
    statuses = {t.code: t.status.value for t in db_session.scalars(select(Trial))}
    assert statuses["ESMART"] == "closed"  # never edited: the file's status (2025-09-16)
    assert statuses["VERITAS"] == "open"  # synced today: kept
    assert _trial(db_session, "VERITAS").notes[-1].startswith("Closed: for refractory")
    assert statuses["MINIVAN"] == "closed"
    assert statuses["CRISP"] == "unknown"  # edited, but its 'open' was checked 60 days ago
    assert statuses["NAXITAMAB-201"] == "unknown"  # edited, never checked
    assert _trial(db_session, "NAXITAMAB-201").notes == ["edited"]
    assert statuses["NANT-LORLATINIB"] == "open"  # a coordinator checked it today: kept
    assert "NANT-LORLATINIB" in summary.skipped


def test_recordings_are_json_or_xml():
    for f in REGISTRY.iterdir():
        if f.suffix == ".json":
            json.loads(f.read_text())


def test_the_sync_never_touches_the_words_for_families(
    app, db_session, loaded, registry_server, people
):
    """The registry's status comes and goes; the title and summary for families a coordinator
    wrote stay as written (issue 16)."""
    from panel.trials.registry import update_trial

    words = {
        "plain_title": "An antibody medicine for neuroblastoma in the bones",
        "plain_summary": "This trial gives two medicines together. Scans show how they work.",
    }
    update_trial(
        _trial(db_session, "NAXITAMAB-201"),
        words,
        by=people["nap_coordinator"],
        expected_version=None,
    )
    db_session.commit()
    for recording in ("NCT03363373-recruiting.json", "NCT03363373-completed.json"):
        registry_server.study("NCT03363373", recording)
        result = _sync(app, "--trial", "NAXITAMAB-201")
        assert result.exit_code == 0, result.output
        nax = _trial(db_session, "NAXITAMAB-201")
        assert (nax.plain_title, nax.plain_summary) == tuple(words.values())
    assert nax.status.value == "closed"
    change = db_session.scalar(
        select(TrialChange)
        .where(TrialChange.trial_id == nax.id)
        .order_by(TrialChange.version.desc())
    )
    assert change.by_label == "sync-trials" and "plain_title" not in change.diff
    assert change.record["plain_title"] == words["plain_title"]


# --------------------------------------------------------------------------- no write held
def test_no_write_is_held_while_the_registries_are_asked(backend, tmp_path):
    """Every registry is asked before anything is written: a write (a failure recorded, a
    status changed) would hold the database's write lock (SQLite: the whole file, so every
    sign-in waits) through every later request to a slow or unreachable registry. (Its own
    database: the usual fixtures hold one transaction open around the whole test.)"""
    from panel.core.db import db
    from panel.trials import sync as trial_sync
    from panel.trials.registry import load_registry
    from tests.support.db import own_app, write_held

    writes_held: list[bool] = []

    class Unreachable:
        problems: list = []

        def fetch(self, ident):
            writes_held.append(write_held())
            raise trial_sync.SyncError("network error: unreachable")

    with own_app(backend, tmp_path, "panel_test_syncwrite") as app, app.app_context():
        load_registry()
        db.session.commit()
        summary = trial_sync.sync_trials(Unreachable())
        db.session.commit()
        assert len(writes_held) >= 3 and not any(writes_held), writes_held
        assert summary.failed and all(not r.ok for r in summary.results)
        failures = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "trial.sync_failed")
        ).all()
        assert len(failures) == len(writes_held)
