"""The trial registry: loading files, refusing bad ones, the coordinators' editor (audited,
versioned, locked), who may see and change it, the 90-day warning, re-matching and the
registry page's query count."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.trials.models import CaseTrialMatch, Trial, TrialChange, TrialNewMatch, TrialStatus
from tests.support.factories import example
from tests.support.web import post_form

FACTSHEET = Path(__file__).resolve().parents[1] / "support" / "trials-open.json"


def _trial(db_session, code: str) -> Trial:
    return db_session.scalar(select(Trial).where(Trial.code == code))


def _count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def _packaged() -> dict:
    """The registry file the test configuration loads (TRIALS_FILE: the six factsheet trials,
    all open); the packaged, true registry is tested in test_packaged_registry.py."""
    return json.loads(FACTSHEET.read_text())


# --------------------------------------------------------------------------- loading files
def test_load_trials_loads_the_packaged_registry_once(app, db_session):
    """Does `load-trials` create every trial and study, audit each, and change nothing when run
    again?"""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["load-trials"])
    assert first.exit_code == 0, first.output
    assert "8 created" in first.output
    codes = set(db_session.scalars(select(Trial.code)))
    assert codes == {
        "NAXITAMAB-201",
        "VERITAS",
        "ESMART",
        "NANT-LORLATINIB",
        "CRISP",
        "MINIVAN",
        "NB-EPIDEMIOLOGY",
        "SMPAEDS",
    }
    epi = _trial(db_session, "NB-EPIDEMIOLOGY")
    assert epi.is_study and epi.enrolment == "opt_out" and epi.study_kind == "observational"
    assert _trial(db_session, "MINIVAN").sites_mode == "all"
    audits = db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "trial.created")
    )
    assert audits == 8
    # Loaded records are exactly the file's records (round trip through the database).
    data = _packaged()
    lorlatinib = next(t for t in data["trials"] if t["id"] == "NANT-LORLATINIB")
    assert _trial(db_session, "NANT-LORLATINIB").to_record() == lorlatinib

    again = runner.invoke(args=["load-trials"])
    assert again.exit_code == 0 and "8 unchanged" in again.output
    assert _count(db_session, TrialChange) == 8


def test_load_trials_updates_by_code_and_new_only_leaves_edits(
    app, db_session, tmp_path, trials_loaded, people
):
    """Does a file update an existing trial by code, and does --new-only leave it alone?"""
    crisp = _trial(db_session, "CRISP")
    from panel.trials.registry import update_trial

    update_trial(
        crisp,
        {"status_source": "checked with the sponsor"},
        by=people["nap_coordinator"],
        expected_version=crisp.version,
    )
    db_session.commit()
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["load-trials", "--new-only"])
    # CRISP was edited by a person: left as it is; the others were only loaded: brought up to date.
    assert kept.exit_code == 0 and "7 unchanged, 1 already in the registry" in kept.output
    assert _trial(db_session, "CRISP").status_source == "checked with the sponsor"

    data = _packaged()
    next(t for t in data["trials"] if t["id"] == "CRISP")["title"] = "CRISP (renamed)"
    path = tmp_path / "trials.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(args=["load-trials", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "1 updated, 7 unchanged" in result.output
    )  # CRISP: renamed in the file, edited in the app
    crisp = _trial(db_session, "CRISP")
    assert (
        crisp.title == "CRISP (renamed)"
        and crisp.status_source == data["trials"][4]["status_source"]
    )
    assert crisp.version == 3


def _break(kind: str) -> tuple[dict, str]:
    data = _packaged()
    trials = {t["id"]: t for t in data["trials"]}
    if kind == "unknown operator":
        trials["VERITAS"]["criteria"][2]["op"] = "approximately"
        return data, "trial VERITAS, criterion V3: unknown operator 'approximately'"
    if kind == "unknown field":
        trials["ESMART"]["criteria"][0]["field"] = "status.mood"
        return data, "trial ESMART, criterion E1: unknown field 'status.mood'"
    if kind == "between with one bound":
        trials["CRISP"]["criteria"][2]["value"] = [12]
        return data, "trial CRISP, criterion C3: 'between' takes exactly two bounds"
    if kind == "site not a centre":
        trials["MINIVAN"]["sites"].append("ATLANTIS")
        return data, "trial MINIVAN: site 'ATLANTIS' is not a centre"
    if kind == "nested unknown field":
        trials["NAXITAMAB-201"]["criteria"][2]["any_of"][1]["field"] = "disease.pet"
        return data, "trial NAXITAMAB-201, criterion N3 any_of[1]: unknown field 'disease.pet'"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "unknown operator",
        "unknown field",
        "between with one bound",
        "site not a centre",
        "nested unknown field",
    ],
)
def test_bad_trial_files_are_refused_whole(app, db_session, tmp_path, kind):
    """Is a file with one bad trial refused entirely, the message naming trial and criterion?"""
    data, message = _break(kind)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = app.test_cli_runner().invoke(args=["load-trials", str(path)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "nothing was loaded" in result.stderr
    assert _count(db_session, Trial) == 0


def test_a_site_code_in_the_editor_must_be_a_centre(app, db_session, trials_loaded, people):
    from panel.trials.registry import TrialError, update_trial

    minivan = _trial(db_session, "MINIVAN")
    with pytest.raises(TrialError) as exc:
        update_trial(
            minivan,
            {"sites": ["UCLH", "ATLANTIS"]},
            by=people["nap_coordinator"],
            expected_version=minivan.version,
        )
    assert exc.value.errors == ["trial MINIVAN: site 'ATLANTIS' is not a centre"]


def test_invalid_json_file_is_refused(app, db_session, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    result = app.test_cli_runner().invoke(args=["load-trials", str(path)])
    assert result.exit_code != 0 and "not valid JSON" in result.output


# --------------------------------------------------------------------------- who may do what
@pytest.mark.parametrize(
    ("who", "list_status", "edit_status"),
    [
        ("nap_coordinator", 200, 200),
        ("north_coordinator", 200, 200),
        ("admin", 200, 403),
        ("referrer", 403, 403),
        ("nap_member", 403, 403),
    ],
)
def test_who_sees_and_edits_the_registry(
    app, client, people, trials_loaded, login, who, list_status, edit_status
):
    """Do coordinators (of any panel) read and edit, admins only read, others get 403?"""
    login(client, people[who])
    assert client.get("/trials/").status_code == list_status
    assert client.get("/trials/CRISP").status_code == list_status
    assert client.get("/trials/CRISP/edit").status_code == edit_status
    assert client.get("/trials/CRISP/criteria").status_code == edit_status
    assert client.get("/trials/CRISP/criteria/0").status_code == edit_status
    assert client.get("/trials/new").status_code == edit_status
    resp = post_form(app, client, "/trials/CRISP/criteria/0/delete", {"version": "1"})
    assert resp.status_code == (302 if edit_status == 200 else edit_status)


def test_anonymous_visitors_are_sent_to_sign_in(app, client, trials_loaded):
    for url in ("/trials/", "/trials/CRISP", "/trials/CRISP/edit", "/trials/case/NB-2026-0001"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_admins_see_no_new_matches(
    app, client, people, trials_loaded, make_case, login, db_session
):
    """New matches name cases: an admin (no clinical content) does not see them."""
    case = make_case(people["referrer"])
    _close_then_open(app, db_session, people, "CRISP")
    login(client, people["admin"])
    html = client.get("/trials/").get_data(as_text=True)
    assert 'data-testid="new-matches"' not in html and case.reference not in html


# --------------------------------------------------------------------------- editing
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


def test_coordinator_edits_a_trial_audited_and_versioned(
    app, client, people, trials_loaded, login, db_session
):
    """Does a coordinator's save bump the version, keep the history, and audit the diff?"""
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "NANT-LORLATINIB")
    assert trial.version == 1
    form = _edit_form(
        trial,
        status="suspended",
        status_source="Trial office, by phone",
        mark_verified="y",
        sites=["ROYAL_MARSDEN", "GOSH"],
    )
    resp = post_form(app, client, "/trials/NANT-LORLATINIB/edit", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db_session.expire_all()
    trial = _trial(db_session, "NANT-LORLATINIB")
    assert trial.version == 2
    assert trial.status.value == "suspended" and trial.sites == ["ROYAL_MARSDEN", "GOSH"]
    assert trial.status_verified_on == utcnow().date()
    assert trial.updated_by_id == people["nap_coordinator"].id
    change = db_session.scalar(
        select(TrialChange).where(TrialChange.trial_id == trial.id, TrialChange.version == 2)
    )
    assert change.by_id == people["nap_coordinator"].id
    assert change.diff["status"] == ["open", "suspended"]
    assert change.record["sites"] == ["ROYAL_MARSDEN", "GOSH"]
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "trial.updated")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.object_type == "trial" and entry.object_id == "NANT-LORLATINIB"
    assert entry.actor_id == people["nap_coordinator"].id
    assert entry.details["version"] == 2
    assert entry.details["changes"]["status"] == ["open", "suspended"]
    assert entry.details["changes"]["sites"] == [["ROYAL_MARSDEN"], ["ROYAL_MARSDEN", "GOSH"]]
    assert entry.details["changes"]["status_verified_on"] == [
        "2026-12-01",
        utcnow().date().isoformat(),
    ]

    # The same form again (now stale: version 1) is refused with 409 and changes nothing.
    stale = post_form(app, client, "/trials/NANT-LORLATINIB/edit", {**form, "status": "closed"})
    assert stale.status_code == 409
    assert "someone else saved this trial" in stale.get_data(as_text=True)
    db_session.expire_all()
    trial = _trial(db_session, "NANT-LORLATINIB")
    assert trial.version == 2 and trial.status.value == "suspended"
    page = client.get("/trials/NANT-LORLATINIB").get_data(as_text=True)
    assert "v2" in page and "Nap Coordinator" in page


def test_saving_nothing_changes_nothing(app, client, people, trials_loaded, login, db_session):
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    resp = post_form(app, client, "/trials/CRISP/edit", _edit_form(trial))
    assert resp.status_code == 302
    db_session.expire_all()
    assert _trial(db_session, "CRISP").version == 1


def test_editor_accepts_an_empty_site_list_as_not_confirmed(
    app, client, people, trials_loaded, login, db_session
):
    """No UK site confirmed is stored as an empty list, never a guessed site."""
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    resp = post_form(app, client, "/trials/CRISP/edit", _edit_form(trial, sites=[]))
    assert resp.status_code == 302
    db_session.expire_all()
    assert _trial(db_session, "CRISP").sites == []


def test_coordinator_adds_a_trial(app, client, people, login, db_session):
    login(client, people["north_coordinator"])
    resp = post_form(
        app,
        client,
        "/trials/new",
        {
            "code": "ALK-NEXT",
            "title": "Next-generation ALK inhibitor",
            "phase": "1",
            "status": "open",
            "sites": ["NEWCASTLE"],
            "sites_mode": "any",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        "/trials/ALK-NEXT/criteria"
    )
    trial = _trial(db_session, "ALK-NEXT")
    assert trial.version == 1 and trial.criteria == [] and trial.sites == ["NEWCASTLE"]
    again = post_form(
        app,
        client,
        "/trials/new",
        {
            "code": "ALK-NEXT",
            "title": "x",
            "status": "open",
            "sites": ["NEWCASTLE"],
            "sites_mode": "any",
        },
    )
    assert again.status_code == 409


# --------------------------------------------------------------------------- the criteria editor
def _criterion_form(trial: Trial, **fields) -> dict:
    base = {
        "version": str(trial.version),
        "original_id": "",
        "cid": "Z1",
        "kind": "inclusion",
        "label": "A label",
        "source": "assumed",
        "mode": "simple",
    }
    base.update(fields)
    return base


def test_criteria_editor_builds_a_valid_rule_from_a_simple_condition(
    app, client, people, trials_loaded, login, db_session
):
    """Do the field/operator/value inputs become a rule the engine accepts, with the right
    value type (a list of value-set codes, two numbers, a boolean)?"""
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    resp = post_form(
        app,
        client,
        "/trials/CRISP/criteria/new",
        _criterion_form(
            trial,
            cid="C5",
            label="MYCN not amplified",
            field="biology.mycn",
            op="in",
            value_multi=["not_amplified", "gain"],
        ),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    db_session.expire_all()
    trial = _trial(db_session, "CRISP")
    assert trial.criteria[-1] == {
        "id": "C5",
        "kind": "inclusion",
        "label": "MYCN not amplified",
        "source": "assumed",
        "field": "biology.mycn",
        "op": "in",
        "value": ["not_amplified", "gain"],
    }
    # Edit C3 (between): two numbers.
    resp = post_form(
        app,
        client,
        "/trials/CRISP/criteria/2",
        _criterion_form(
            trial,
            original_id="C3",
            cid="C3",
            label="Aged 1 to 18 years",
            source="registry",
            field="patient.age_now_months",
            op="between",
            value_lo="12",
            value_hi="216",
        ),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    db_session.expire_all()
    trial = _trial(db_session, "CRISP")
    assert trial.criteria[2]["value"] == [12, 216] and trial.version == 3
    # A boolean, and "exists".
    resp = post_form(
        app,
        client,
        "/trials/CRISP/criteria/new",
        _criterion_form(
            trial,
            cid="C6",
            kind="exclusion",
            label="Prior mIBG therapy",
            field="treatment.prior_mibg_therapy",
            op="eq",
            value_bool="true",
        ),
    )
    assert resp.status_code == 302
    db_session.expire_all()
    trial = _trial(db_session, "CRISP")
    assert trial.criteria[-1]["value"] is True
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "trial.updated")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.details["changes"]["criteria"] == {"added": ["C6"]}


def test_criteria_editor_names_the_criterion_in_errors(
    app, client, people, trials_loaded, login, db_session
):
    """Are a half-filled 'between', a wrong operator and a bad advanced condition refused,
    naming the criterion, without saving?"""
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    one_bound = post_form(
        app,
        client,
        "/trials/CRISP/criteria/2",
        _criterion_form(
            trial,
            original_id="C3",
            cid="C3",
            field="patient.age_now_months",
            op="between",
            value_lo="12",
            value_hi="",
        ),
    )
    assert one_bound.status_code == 422
    assert "criterion C3: &#39;between&#39; needs two numbers" in one_bound.get_data(as_text=True)
    wrong_op = post_form(
        app,
        client,
        "/trials/CRISP/criteria/2",
        _criterion_form(
            trial, original_id="C3", cid="C3", field="disease.sites", op="gt", value_number="3"
        ),
    )
    assert wrong_op.status_code == 422
    assert "criterion C3: choose an operator that applies to Disease sites" in wrong_op.get_data(
        as_text=True
    )
    advanced = post_form(
        app,
        client,
        "/trials/CRISP/criteria/new",
        _criterion_form(
            trial,
            cid="C9",
            mode="advanced",
            condition_json=json.dumps(
                {
                    "any_of": [
                        {"field": "disease.mibg", "op": "eq", "value": "avid"},
                        {"field": "disease.fdg_pet", "op": "near", "value": "avid"},
                    ]
                }
            ),
        ),
    )
    assert advanced.status_code == 422
    assert (
        "trial CRISP, criterion C9 any_of[1]: unknown operator &#39;near&#39;"
        in advanced.get_data(as_text=True)
    )
    duplicate = post_form(
        app,
        client,
        "/trials/CRISP/criteria/new",
        _criterion_form(trial, cid="C1", field="disease.mibg", op="eq", value_enum="avid"),
    )
    assert duplicate.status_code == 422
    assert "criterion C1: duplicate criterion id" in duplicate.get_data(as_text=True)
    db_session.expire_all()
    assert _trial(db_session, "CRISP").version == 1


def test_criteria_editor_accepts_a_valid_group(
    app, client, people, trials_loaded, login, db_session
):
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    group = {
        "all_of": [
            {"field": "disease.mibg", "op": "eq", "value": "avid"},
            {
                "any_of": [
                    {"field": "disease.siopen_score", "op": "gte", "value": 3},
                    {"field": "disease.curie_score", "op": "gte", "value": 2},
                ]
            },
        ]
    }
    resp = post_form(
        app,
        client,
        "/trials/CRISP/criteria/new",
        _criterion_form(trial, cid="C7", mode="advanced", condition_json=json.dumps(group)),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    db_session.expire_all()
    crit = _trial(db_session, "CRISP").criteria[-1]
    assert crit["all_of"] == group["all_of"] and crit["id"] == "C7"
    page = client.get("/trials/CRISP/criteria/4").get_data(as_text=True)
    assert 'value="advanced" checked' in page or "checked" in page


def test_criteria_edit_form_shows_the_saved_rule(app, client, people, trials_loaded, login):
    """Does the editor open with the saved field, operator and values selected, and only the
    operators of that field offered?"""
    login(client, people["nap_coordinator"])
    html = client.get("/trials/NANT-LORLATINIB/criteria/0").get_data(as_text=True)
    assert '<option value="biology.alk.status" selected>' in html
    op_select = re.search(r'<select class="form-select" id="op".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="(\w+)"', op_select) == ["eq", "ne", "in", "not_in", "exists"]
    assert re.search(r'value="mutation" id="vm-\d+" checked', html)
    assert 'value="not_tested"' not in html  # words meaning unknown are not offered
    assert 'id="trial-editor-data"' in html and "trial-editor.js" in html
    new = client.get("/trials/NANT-LORLATINIB/criteria/new").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="cid"[^>]*value="L6"', new)  # the trial's own id style


def test_move_and_delete_criteria_are_versioned(
    app, client, people, trials_loaded, login, db_session
):
    login(client, people["nap_coordinator"])
    assert (
        post_form(app, client, "/trials/CRISP/criteria/0/down", {"version": "1"}).status_code == 302
    )
    db_session.expire_all()
    assert [c["id"] for c in _trial(db_session, "CRISP").criteria] == ["C2", "C1", "C3", "C4"]
    stale = post_form(
        app, client, "/trials/CRISP/criteria/0/delete", {"version": "1"}, follow_redirects=True
    )
    assert "someone else saved this trial" in stale.get_data(as_text=True)
    assert (
        post_form(app, client, "/trials/CRISP/criteria/3/delete", {"version": "2"}).status_code
        == 302
    )
    db_session.expire_all()
    trial = _trial(db_session, "CRISP")
    assert [c["id"] for c in trial.criteria] == ["C2", "C1", "C3"] and trial.version == 3


# --------------------------------------------------------------------------- the age warning
def test_trials_not_checked_within_the_age_limit_are_flagged(
    app, client, people, trials_loaded, login, db_session, monkeypatch
):
    """Is "status not checked since DATE" shown on every trial never checked, checked more than
    TRIAL_STATUS_MAX_AGE_DAYS (30) ago, or of unknown status?"""
    monkeypatch.setitem(app.config, "TRIAL_STATUS_MAX_AGE_DAYS", 30)
    today = utcnow().date()
    recent, old = _trial(db_session, "CRISP"), _trial(db_session, "VERITAS")
    recent.status_verified_on = today - timedelta(days=30)
    old.status_verified_on = today - timedelta(days=31)
    for code in ("NAXITAMAB-201", "ESMART", "NANT-LORLATINIB"):
        _trial(db_session, code).status_verified_on = None
    unknown = _trial(db_session, "MINIVAN")
    unknown.status, unknown.status_verified_on = TrialStatus.UNKNOWN, today
    db_session.commit()
    login(client, people["nap_coordinator"])
    html = client.get("/trials/").get_data(as_text=True)
    rows = dict(
        re.findall(r'data-testid="(?:trial|study)-row" data-code="([^"]+)">(.*?)</tr>', html, re.S)
    )
    assert "verify-warning" not in rows["CRISP"]
    old_day = (today - timedelta(days=31)).strftime("%d %b %Y").lstrip("0")
    assert f"Status not checked since {old_day}" in rows["VERITAS"]
    for code in ("NAXITAMAB-201", "ESMART", "NANT-LORLATINIB"):
        assert "Status never checked" in rows[code]
    assert "Status unknown, not confirmed since" in rows["MINIVAN"]
    assert re.search(
        r'<div class="stat-value">5</div><div class="small text-body-secondary">status unknown or '
        r"not checked in 30 days",
        html,
    )


# --------------------------------------------------------------------------- re-matching
def _close_then_open(app, db_session, people, code: str) -> Trial:
    from panel.trials.registry import update_trial

    trial = _trial(db_session, code)
    update_trial(
        trial, {"status": "closed"}, by=people["nap_coordinator"], expected_version=trial.version
    )
    db_session.commit()
    update_trial(
        trial, {"status": "open"}, by=people["nap_coordinator"], expected_version=trial.version
    )
    db_session.commit()
    return trial


def test_opening_a_closed_trial_shows_the_case_as_newly_matching(
    app, client, people, trials_loaded, make_case, login, db_session
):
    """After a closed trial opens, does the open case that matches it appear as a new match on
    the registry page for its panel's coordinator (and only for them)?"""
    case = make_case(people["referrer"])
    draft = make_case(people["referrer"], submit=False)
    from panel.trials.registry import update_trial

    crisp = _trial(db_session, "CRISP")
    update_trial(
        crisp, {"status": "closed"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    assert _count(db_session, TrialNewMatch) == 0
    update_trial(
        crisp, {"status": "open"}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    news = db_session.scalars(select(TrialNewMatch)).all()
    assert [(n.case_id, n.trial_code, n.verdict, n.previous_verdict, n.reason) for n in news] == [
        (case.id, "CRISP", "eligible", "not_open", "opened")
    ]
    stored = db_session.scalar(
        select(CaseTrialMatch).where(
            CaseTrialMatch.case_id == case.id, CaseTrialMatch.trial_code == "CRISP"
        )
    )
    assert stored.verdict == "eligible" and stored.trial_version == 3
    assert (
        db_session.scalar(select(CaseTrialMatch).where(CaseTrialMatch.case_id == draft.id)) is None
    )

    login(client, people["nap_coordinator"])
    html = client.get("/trials/").get_data(as_text=True)
    item = re.search(r'data-testid="new-match">(.*?)</li>', html, re.S).group(1)
    assert case.reference in item and "CRISP" in item and "Eligible" in item and "opened" in item
    assert draft.reference not in html
    other = app.test_client()
    login(other, people["north_coordinator"])
    assert case.reference not in other.get("/trials/").get_data(as_text=True)


def test_home_page_new_matches_are_built_before_the_template_renders(
    app, client, people, trials_loaded, make_case, login, db_session, count_queries
):
    """The coordinator's home page lists the new match (its panel's only), built by the trials
    home section: rendering the home template runs no query but the bell's one COUNT
    (``unread_notifications``, see docs/notes.md)."""
    from flask import before_render_template, template_rendered

    case = make_case(people["referrer"])
    _close_then_open(app, db_session, people, "CRISP")
    assert "trial_new_matches" not in app.jinja_env.globals
    login(client, people["nap_coordinator"])
    during: list[str] = []
    with count_queries() as q:
        marks = {}

        def started(sender, template, context, **extra):
            if template.name == "core/home.html":
                marks["start"] = len(q.statements)

        def finished(sender, template, context, **extra):
            if template.name == "core/home.html":
                during.extend(q.statements[marks["start"] :])

        with (
            before_render_template.connected_to(started, app),
            template_rendered.connected_to(finished, app),
        ):
            html = client.get("/").get_data(as_text=True)
    item = re.search(r'data-testid="new-match">(.*?)</li>', html, re.S).group(1)
    assert case.reference in item and "CRISP" in item
    assert len(during) == 1 and "notifications" in during[0], during
    other = app.test_client()
    login(other, people["north_coordinator"])
    assert case.reference not in other.get("/").get_data(as_text=True)


def test_criteria_changes_record_only_improvements(
    app, db_session, people, trials_loaded, make_case
):
    """Does a criteria change record a case that newly becomes eligible, and not one that
    stays eligible or stops matching?"""
    from panel.trials.registry import update_trial

    alk = make_case(people["referrer"])  # eligible for CRISP
    other = example("refractory")
    other["referring_centre"] = "NEWCASTLE"
    refractory = make_case(people["referrer"], other)  # ALK wild type: ineligible for CRISP (C1)
    crisp = _trial(db_session, "CRISP")
    loose = [dict(c) for c in crisp.criteria]
    loose[0] = {
        **loose[0],
        "op": "in",
        "value": ["mutation", "amplification", "fusion", "wild_type"],
    }
    update_trial(
        crisp, {"criteria": loose}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    news = db_session.scalars(select(TrialNewMatch)).all()
    assert [(n.case_id, n.verdict, n.previous_verdict, n.reason) for n in news] == [
        (refractory.id, "eligible", "ineligible", "criteria_changed")
    ] or [(n.case_id, n.previous_verdict) for n in news] == [(refractory.id, "ineligible")]
    # Tighten again: the refractory case no longer matches; its waiting record goes away.
    strict = [dict(c) for c in crisp.criteria]
    strict[0] = {**strict[0], "value": ["mutation"]}
    update_trial(
        crisp, {"criteria": strict}, by=people["nap_coordinator"], expected_version=crisp.version
    )
    db_session.commit()
    waiting = db_session.scalars(
        select(TrialNewMatch).where(TrialNewMatch.dismissed_at.is_(None))
    ).all()
    assert waiting == []
    verdicts = dict(
        db_session.execute(
            select(CaseTrialMatch.case_id, CaseTrialMatch.verdict).where(
                CaseTrialMatch.trial_code == "CRISP"
            )
        ).all()
    )
    assert verdicts == {alk.id: "eligible", refractory.id: "ineligible"}


def test_coordinator_dismisses_a_new_match(
    app, client, people, trials_loaded, make_case, login, db_session
):
    case = make_case(people["referrer"])
    _close_then_open(app, db_session, people, "CRISP")
    nm = db_session.scalar(select(TrialNewMatch))
    other = app.test_client()
    login(other, people["north_coordinator"])
    assert post_form(app, other, f"/trials/new-matches/{nm.id}/dismiss").status_code == 404
    login(client, people["nap_coordinator"])
    resp = post_form(app, client, f"/trials/new-matches/{nm.id}/dismiss", {"next": "/trials/CRISP"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/trials/CRISP")
    db_session.expire_all()
    assert db_session.get(TrialNewMatch, nm.id).dismissed_at is not None
    assert case.reference not in client.get("/trials/").get_data(as_text=True)


# --------------------------------------------------------------------------- query count
def test_registry_page_query_count_does_not_grow_with_trials(
    app, client, people, trials_loaded, make_case, login, db_session, count_queries
):
    """Does the registry page (trials, their last editors, new matches) cost the same number
    of queries for 8 trials as for 28?"""
    from panel.trials.registry import create_trial, update_trial

    make_case(people["referrer"])
    _close_then_open(app, db_session, people, "CRISP")
    login(client, people["nap_coordinator"])
    client.get("/trials/")  # warm up
    with count_queries() as few:
        assert client.get("/trials/").status_code == 200
    editors = [people["nap_coordinator"], people["north_coordinator"]]
    for i in range(20):
        t = create_trial(
            {
                "id": f"EXTRA-{i:02d}",
                "title": f"Extra trial {i}",
                "status": "open",
                "sites": ["LEEDS"],
                "sites_mode": "any",
                "criteria": [
                    {
                        "id": "X1",
                        "kind": "inclusion",
                        "label": "Relapsed",
                        "source": "assumed",
                        "field": "status.category",
                        "op": "eq",
                        "value": "relapsed",
                    }
                ],
            },
            by=editors[i % 2],
        )
        update_trial(
            t, {"status_source": "sponsor"}, by=editors[(i + 1) % 2], expected_version=t.version
        )
    db_session.commit()
    html = client.get("/trials/").get_data(as_text=True)
    assert html.count('data-testid="trial-row"') == 26
    assert html.count('data-testid="new-match"') == 21
    with count_queries() as many:
        assert client.get("/trials/").status_code == 200
    assert len(many) == len(few), "\n".join(many.statements)


# --------------------------------------------------------------------------- snapshots
def test_snapshot_is_frozen_and_survives_trial_changes(
    app, db_session, people, trials_loaded, make_case
):
    """Does a snapshot keep what the trial said when it was taken?"""
    from panel.trials.matching import matches_for_case, snapshot, thaw
    from panel.trials.registry import update_trial

    case = make_case(people["referrer"])
    match = next(m for m in matches_for_case(case) if m.trial_id == "NANT-LORLATINIB")
    snap = snapshot(match)
    with pytest.raises(TypeError):
        snap["verdict"] = "ineligible"  # type: ignore[index]
    trial = _trial(db_session, "NANT-LORLATINIB")
    update_trial(
        trial,
        {"status": "closed", "title": "Renamed"},
        by=people["nap_coordinator"],
        expected_version=trial.version,
    )
    db_session.commit()
    plain = thaw(snap)
    assert (
        plain["code"] == "NANT-LORLATINIB"
        and plain["status"] == "open"
        and plain["verdict"] == "eligible"
    )
    assert plain["title"].startswith("NANT lorlatinib")
    assert plain["nearest_site"] == {
        "centre": "ROYAL_MARSDEN",
        "name": plain["nearest_site"]["name"],
        "distance_km": 415,
    }
    assert plain["distance_km"] == 415 and plain["status_verified_on"] == "2026-12-01"
    assert [c["id"] for c in plain["criteria"]] == ["L1", "L2", "L3", "L4", "L5"]
    json.dumps(plain)
