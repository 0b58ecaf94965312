"""``flask --app panel match FILE.json [FILE2.json ...] [--trials TRIALS.json]`` and
``flask --app panel load-trials [FILE]``: output shapes, refusals and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.factories import DATA, example

ALK = str(DATA / "case-example-alk.json")
REFRACTORY = str(DATA / "case-example-refractory.json")
PACKAGED = Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json"
#: The six factsheet trials, all open (the test configuration's TRIALS_FILE).
FACTSHEET = Path(__file__).resolve().parents[1] / "support" / "trials-open.json"

#: Worked by hand (see test_engine.py): the ALK case from NEWCASTLE, only open trials.
ALK_EXPECTED = [
    ("CRISP", "eligible", 131),
    ("NAXITAMAB-201", "eligible", 131),
    ("NANT-LORLATINIB", "eligible", 415),
    ("MINIVAN", "eligible", 450),
    ("ESMART", "ineligible", 0),
    ("VERITAS", "ineligible", 173),
]


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _summary(obj):
    return [(m["trial"], m["verdict"], m["distance_km"]) for m in obj["matches"]]


def test_one_file_prints_one_object_of_open_trials(app, db_session, trials_loaded):
    """Does `match` on one file print one object with the documented keys and the hand-worked
    verdicts, and leave the studies out?"""
    result = run(app, "match", ALK)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"case", "matches"}
    assert out["case"] == ALK
    assert _summary(out) == ALK_EXPECTED
    for m in out["matches"]:
        assert set(m) == {
            "trial",
            "verdict",
            "distance_km",
            "sites",
            "criteria",
            "status",
            "status_checked_on",
            "status_source",
            "plain_title",
            "plain_summary",
        }
        assert m["status"] == "open"
        assert m["status_checked_on"] == "2026-12-01" and m["status_source"] == "test data"
        assert isinstance(m["distance_km"], int)
        for s in m["sites"]:
            assert set(s) == {"centre", "distance_km"} and isinstance(s["distance_km"], int)
        for c in m["criteria"]:
            assert set(c) == {"id", "result", "label"}
            assert c["result"] in {"met", "not_met", "unknown"}
    assert not {"NB-EPIDEMIOLOGY", "SMPAEDS"} & {m["trial"] for m in out["matches"]}
    lorlatinib = next(m for m in out["matches"] if m["trial"] == "NANT-LORLATINIB")
    assert lorlatinib["sites"] == [{"centre": "ROYAL_MARSDEN", "distance_km": 415}]
    assert [c["id"] for c in lorlatinib["criteria"]] == ["L1", "L2", "L3", "L4", "L5"]


def test_two_files_print_an_array_in_the_order_given(app, db_session, trials_loaded):
    """Do several files give an array, in the order of the command line?"""
    result = run(app, "match", REFRACTORY, ALK)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert isinstance(out, list) and [o["case"] for o in out] == [REFRACTORY, ALK]
    assert _summary(out[1]) == ALK_EXPECTED
    assert (
        out[0]["matches"][0]["trial"] == "VERITAS" and out[0]["matches"][0]["verdict"] == "eligible"
    )


def test_trials_option_uses_that_file(app, db_session, tmp_path):
    """Does --trials replace the registry (here with a single trial, even with an empty
    database registry)?"""
    data = json.loads(FACTSHEET.read_text())
    only = {"trials": [t for t in data["trials"] if t["id"] == "NANT-LORLATINIB"]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(only))
    result = run(app, "match", ALK, "--trials", str(path))
    assert result.exit_code == 0, result.output
    assert _summary(json.loads(result.stdout)) == [("NANT-LORLATINIB", "eligible", 415)]
    assert "Note:" not in result.output


def test_closed_trials_in_a_trials_file_are_not_listed(app, db_session, tmp_path):
    data = json.loads(FACTSHEET.read_text())
    for t in data["trials"]:
        if t["id"] == "CRISP":
            t["status"] = "closed"
    path = tmp_path / "closed.json"
    path.write_text(json.dumps(data))
    result = run(app, "match", ALK, "--trials", str(path))
    assert result.exit_code == 0, result.output
    assert "CRISP" not in [m["trial"] for m in json.loads(result.stdout)["matches"]]


def test_invalid_trials_file_names_trial_and_criterion(app, db_session, tmp_path):
    """Is an invalid --trials file refused with exit 1, naming the trial and the criterion?"""
    data = json.loads(FACTSHEET.read_text())
    data["trials"][0]["criteria"][1]["op"] = "roughly"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = run(app, "match", ALK, "--trials", str(path))
    assert result.exit_code == 1
    assert "trial NAXITAMAB-201, criterion N2: unknown operator 'roughly'" in result.stderr
    assert result.stdout == ""


def test_empty_registry_falls_back_to_the_packaged_trials(app, db_session):
    """Without --trials and with an empty registry: the packaged file, said on stderr. Of its
    trials only BEACON2 is open (LuDO-N's status is unknown until checked); the closed and unknown
    ones are never listed."""
    result = run(app, "match", ALK)
    assert result.exit_code == 0, result.output
    assert "registry in the database is empty" in result.stderr
    out = json.loads(result.stdout)
    # NEWCASTLE -> OXFORD 359 km.
    assert _summary(out) == [("BEACON2", "eligible", 359)]
    beacon = out["matches"][0]
    assert beacon["status"] == "open" and beacon["status_checked_on"] == "2025-03-11"
    assert "ISRCTN12532102" in beacon["status_source"]


def test_the_database_registry_is_used(app, db_session, trials_loaded, people):
    """Does a trial closed in the registry disappear from `match` output?"""
    from panel.trials.models import Trial
    from panel.trials.registry import update_trial

    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    update_trial(
        crisp, {"status": "closed"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    result = run(app, "match", ALK)
    assert result.exit_code == 0, result.output
    assert [m[0] for m in _summary(json.loads(result.stdout))] == [
        t for t, _, _ in ALK_EXPECTED if t != "CRISP"
    ]


@pytest.mark.parametrize(
    "content",
    [
        '{"schema": "panel-case/1", "patient": {"age_now_months": "fifty"}}',
        "[1, 2, 3]",
        '{"referring_centre": "ATLANTIS", "disease": "everywhere"}',
        "{}",
    ],
)
def test_bad_case_files_are_matched_with_unknown_values(
    app, db_session, trials_loaded, tmp_path, content
):
    """Is a case file that is valid JSON but not a valid case matched (unknowns), not refused?"""
    path = tmp_path / "odd.json"
    path.write_text(content)
    result = run(app, "match", str(path))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["matches"]) == 6
    assert all(m["verdict"] in {"possible", "ineligible"} for m in out["matches"])
    assert all(m["distance_km"] is None for m in out["matches"])


def test_invalid_json_is_a_clear_error(app, db_session, trials_loaded, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema": "panel-case/1",')
    result = run(app, "match", ALK, str(path))
    assert result.exit_code == 1
    assert f"{path}: not valid JSON" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_a_clear_error(app, db_session, tmp_path):
    result = run(app, "match", str(tmp_path / "nope.json"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_match_agrees_with_the_api_payload(app, db_session, trials_loaded, make_case, people):
    """Does `case_matches_payload` (for the API) give the same matches as the CLI?"""
    from panel.trials.matching import case_matches_payload

    case = make_case(people["referrer"], example())
    payload = case_matches_payload(case)
    cli = json.loads(run(app, "match", ALK).stdout)
    assert payload["case"] == case.reference
    assert payload["matches"] == cli["matches"]


def test_after_a_sync_only_trials_open_at_a_site_are_listed_with_their_source(
    app, db_session, trials_loaded
):
    """After `sync-trials` (here from a saved ClinicalTrials.gov record), `match` gives the
    synced trial's status, check date and source; a trial open overall but recruiting at none
    of its sites, and a trial the registry closed, are not listed."""
    from datetime import date

    from panel.core.db import utcnow
    from panel.trials.matching import clear_cache
    from panel.trials.models import Trial

    recording = Path(__file__).parent / "data" / "registry" / "NCT03363373-recruiting.json"
    synced = run(app, "sync-trials", "--from", str(recording), "--trial", "NAXITAMAB-201")
    assert synced.exit_code == 0, synced.output
    completed = recording.with_name("NCT03363373-completed.json")
    lorlatinib = db_session.scalar(select(Trial).where(Trial.code == "NANT-LORLATINIB"))
    lorlatinib.site_statuses = [{"centre": "ROYAL_MARSDEN", "status": "closed"}]
    db_session.commit()
    clear_cache()
    out = json.loads(run(app, "match", ALK).stdout)
    listed = {m["trial"]: m for m in out["matches"]}
    assert "NANT-LORLATINIB" not in listed  # open overall, closed at its only site
    nax = listed["NAXITAMAB-201"]
    assert nax["status"] == "open" and nax["status_source"] == "ClinicalTrials.gov NCT03363373"
    assert date.fromisoformat(nax["status_checked_on"]) == utcnow().date()
    assert nax["sites"]
    for m in out["matches"]:
        assert m["status"] == "open" and {"status_checked_on", "status_source"} <= set(m)
    # The registry says COMPLETED: closed at once, and no longer listed.
    assert (
        run(app, "sync-trials", "--from", str(completed), "--trial", "NAXITAMAB-201").exit_code == 0
    )
    clear_cache()
    out = json.loads(run(app, "match", ALK).stdout)
    assert "NAXITAMAB-201" not in {m["trial"] for m in out["matches"]}
