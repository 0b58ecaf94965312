"""Eligibility text and age limits from the registries, shown to coordinators as a proposal
beside the structured criteria (``panel/trials/eligibility.py``), and each criterion's source
text.

The registries are played by a real HTTP server on 127.0.0.1 serving the recordings of
``data/registry`` (invented words in the APIs' formats); the sync's client is Panel's own.
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from panel.core.models import AuditEntry
from panel.trials.models import Trial, TrialChange
from tests.support.web import post_form

REGISTRY = Path(__file__).parent / "data" / "registry"
CTGOV = "/ctgov/api/v2"
ISRCTN = "/isrctn/api"
NAX = "NAXITAMAB-201"


# --------------------------------------------------------------------------- the fake registry
@pytest.fixture
def serve(app, monkeypatch):
    """``serve(path, recording or bytes)``: a local HTTP server standing in for both
    registries (the app's settings point at it)."""
    routes: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            body = routes.get(self.path.split("?", 1)[0])
            self.send_response(200 if body is not None else 404)
            body = body if body is not None else b'{"message": "not found"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(app.config, "CTGOV_API_URL", base + CTGOV)
    monkeypatch.setitem(app.config, "ISRCTN_API_URL", base + ISRCTN)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_RETRIES", 0)

    def put(ident: str, recording: str | bytes) -> None:
        body = recording if isinstance(recording, bytes) else (REGISTRY / recording).read_bytes()
        path = (
            f"{CTGOV}/studies/{ident}"
            if ident.startswith("NCT")
            else f"{ISRCTN}/trial/{ident}/format/default"
        )
        routes[path] = body

    yield put
    server.shutdown()
    server.server_close()


def _sync(app, *codes):
    args = ["sync-trials"]
    for code in codes:
        args += ["--trial", code]
    return app.test_cli_runner().invoke(args=args)


def _trial(db_session, code: str = NAX) -> Trial:
    db_session.expire_all()
    return db_session.scalar(select(Trial).where(Trial.code == code))


def _audits(db_session, action: str, code: str = NAX) -> list[AuditEntry]:
    return list(
        db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == code)
        )
    )


def _review(app, client, db_session, code: str = NAX, version: int | None = None):
    trial = _trial(db_session, code)
    return post_form(
        app,
        client,
        f"/trials/{code}/eligibility-reviewed",
        {"version": str(version if version is not None else trial.version)},
    )


# --------------------------------------------------------------------------- reading the records
@pytest.mark.parametrize(
    ("words", "months"),
    [
        ("12 Months", 12),
        ("18 Years", 216),
        ("1 Year", 12),
        ("21 years", 252),
        ("6 Weeks", 1.4),
        ("30 Days", 1),
        ("N/A", None),
        ("", None),
        ("eighteen years", None),
        (None, None),
    ],
)
def test_registry_ages_in_months(words, months):
    from panel.trials.eligibility import age_in_months

    assert age_in_months(words) == months


def test_ctgov_eligibility_module_is_read():
    from panel.trials.sync import parse_ctgov

    doc = json.loads((REGISTRY / "NCT03363373-eligibility.json").read_text())
    fetched = parse_ctgov(doc)
    e = fetched.eligibility
    assert e["minimum_age"] == "12 Months" and e["minimum_age_months"] == 12
    assert e["maximum_age"] == "21 Years" and e["maximum_age_months"] == 252
    assert e["text"].startswith("Inclusion Criteria:\n\n* Diagnosis of high-risk neuroblastoma")
    # No module: nothing read (the stored text is left alone), and no problem.
    del doc["protocolSection"]["eligibilityModule"]
    assert parse_ctgov(doc).eligibility is None and parse_ctgov(doc).eligibility_problem is None


def test_isrctn_participants_text_and_ages_are_read():
    from datetime import date

    from panel.trials.sync import parse_isrctn

    xml = (REGISTRY / "ISRCTN12532102-eligibility.xml").read_bytes()
    [fetched] = parse_isrctn(xml, today=date(2026, 12, 6))
    e = fetched.eligibility
    assert e["minimum_age"] == "1 Years" and e["minimum_age_months"] == 12
    assert e["maximum_age"] == "21 Years" and e["maximum_age_months"] == 252
    assert e["text"].startswith("Inclusion criteria:\n1. Neuroblastoma that has relapsed")
    assert "\n\nExclusion criteria:\n1. Prior treatment" in e["text"]
    # Ages written as text; "Not Specified" is no limit.
    odd = xml.replace(
        b'<lowerAgeLimit value="1.0" unit="Years"/>', b"<lowerAgeLimit>6 Months</lowerAgeLimit>"
    )
    odd = odd.replace(
        b'<upperAgeLimit value="21.0" unit="Years"/>',
        b'<upperAgeLimit value="" unit="Not Specified"/>',
    )
    [fetched] = parse_isrctn(odd, today=date(2026, 12, 6))
    assert fetched.eligibility["minimum_age_months"] == 6
    assert fetched.eligibility["maximum_age"] is None
    # The recording without a participants text: no eligibility at all.
    [plain] = parse_isrctn((REGISTRY / "ISRCTN12532102.xml").read_bytes(), today=date(2026, 12, 6))
    assert plain.eligibility is None


# --------------------------------------------------------------------------- the proposal
def test_first_sync_is_a_proposal_and_reviewing_clears_it(
    app, client, db_session, loaded, serve, people, login
):
    """A first reading has no baseline: nobody compared it with the criteria, so coordinators
    see it as a proposal (registry page and trial page, with the age criteria it may affect).
    Marking it reviewed sets the baseline (who, when), audited, in the history; the criteria
    are untouched. The same text at the next sync shows nothing."""
    criteria_before = copy.deepcopy(_trial(db_session).criteria)
    serve("NCT03363373", "NCT03363373-eligibility.json")
    result = _sync(app, NAX)
    assert result.exit_code == 0, result.output
    assert "eligibility text read" in result.output
    assert "eligibility proposal waiting for a coordinator" in result.output
    nax = _trial(db_session)
    assert nax.registry_eligibility["maximum_age_months"] == 252
    assert nax.eligibility_reviewed is None
    assert nax.last_sync["changes"]["eligibility_text"] == "read"
    assert nax.last_sync["changes"]["age_limits"] == [None, "12 Months to 21 Years"]
    proposal = nax.eligibility_proposal()
    assert proposal.first_reading and proposal.text_changed and proposal.ages_changed
    assert [c["id"] for _, c in proposal.affected_criteria()] == ["N7"]

    login(client, people["nap_coordinator"])
    registry = client.get("/trials/").get_data(as_text=True)
    assert 'data-testid="eligibility-proposals"' in registry
    row = registry[registry.index(f'data-code="{NAX}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-testid="proposal-waiting"' in row and "eligibility text read" in row
    page = client.get(f"/trials/{NAX}").get_data(as_text=True)
    assert 'data-testid="eligibility-proposal"' in page
    assert "Registry eligibility: not yet reviewed" in page
    assert "Diagnosis of high-risk neuroblastoma" in page
    affected = page[page.index('data-testid="affected-criteria"') :]
    assert "Aged 1 year or over" in affected[: affected.index("</ul>")]

    resp = _review(app, client, db_session)
    assert resp.status_code == 302
    nax = _trial(db_session)
    assert nax.eligibility_proposal() is None
    assert nax.eligibility_reviewed["text"] == nax.registry_eligibility["text"]
    assert nax.eligibility_reviewed["reviewed_by"] == people["nap_coordinator"].email
    assert nax.eligibility_reviewed_by_id == people["nap_coordinator"].id
    assert nax.eligibility_reviewed_at is not None
    assert nax.criteria == criteria_before  # never changed by the registry or the review
    [entry] = _audits(db_session, "trial.eligibility_reviewed")
    assert entry.actor_id == people["nap_coordinator"].id
    assert entry.details["age_limits"] == [None, "12 Months to 21 Years"]
    change = db_session.scalar(
        select(TrialChange)
        .where(TrialChange.trial_id == nax.id)
        .order_by(TrialChange.version.desc())
        .limit(1)
    )
    assert change.version == nax.version and "eligibility_reviewed" in change.diff
    page = client.get(f"/trials/{NAX}").get_data(as_text=True)
    assert 'data-testid="eligibility-proposal"' not in page
    assert 'data-testid="registry-eligibility"' in page  # the reviewed text, folded away
    assert 'data-testid="eligibility-proposals"' not in client.get("/trials/").get_data(
        as_text=True
    )
    # Nothing to review any more: a second review is refused, politely.
    again = _review(app, client, db_session)
    assert again.status_code == 302
    assert len(_audits(db_session, "trial.eligibility_reviewed")) == 1

    # The same words again: no change, no proposal.
    result = _sync(app, NAX)
    assert result.exit_code == 0 and "eligibility" not in result.output
    nax = _trial(db_session)
    assert nax.eligibility_proposal() is None
    assert "eligibility_text" not in nax.last_sync["changes"]


def test_changed_text_and_ages_show_a_diff_beside_the_criteria(
    app, client, db_session, loaded, serve, people, login
):
    """After a review, the registry changes two lines and the maximum age: the registry page's
    last-sync column says so, the trial page shows the old and new text as a diff and the old
    and new ages; a stale review is refused; the criteria stay as they were."""
    serve("NCT03363373", "NCT03363373-eligibility.json")
    _sync(app, NAX)
    login(client, people["north_coordinator"])  # a coordinator of any panel
    assert _review(app, client, db_session).status_code == 302
    criteria_before = copy.deepcopy(_trial(db_session).criteria)

    serve("NCT03363373", "NCT03363373-eligibility-changed.json")
    result = _sync(app, NAX)
    assert "eligibility text changed" in result.output
    assert "age limits 12 Months to 21 Years -> 12 Months to 18 Years" in result.output
    nax = _trial(db_session)
    proposal = nax.eligibility_proposal()
    assert not proposal.first_reading and proposal.text_changed and proposal.ages_changed
    rows = proposal.diff_lines()
    assert ("added", "* Life expectancy of at least 6 months") in rows
    assert ("removed", "* Progressive disease at the time of enrolment") in rows
    assert ("same", "* Age 12 months or older") in rows
    assert nax.criteria == criteria_before

    registry = client.get("/trials/").get_data(as_text=True)
    row = registry[registry.index(f'data-code="{NAX}"') :]
    row = row[: row.index("</tr>")]
    assert "eligibility text changed" in row
    assert "age limits changed: 12 Months to 21 Years &rarr; 12 Months to 18 Years" in row
    page = client.get(f"/trials/{NAX}").get_data(as_text=True)
    assert "Registry eligibility changed" in page
    diff = page[page.index('data-testid="eligibility-diff"') :]
    diff = diff[: diff.index("</div>\n")]
    assert 'class="diff-line diff-added"' in diff and "Life expectancy of at least 6 months" in diff
    assert 'class="diff-line diff-removed"' in diff
    ages = page[page.index('data-testid="age-limits"') :]
    ages = ages[: ages.index("</table>")]
    assert "21 Years" in ages and "18 Years" in ages and "216 months" in ages

    stale = _review(app, client, db_session, version=nax.version - 1)
    assert stale.status_code == 302
    assert _trial(db_session).eligibility_proposal() is not None  # nothing saved
    assert _review(app, client, db_session).status_code == 302
    nax = _trial(db_session)
    assert nax.eligibility_proposal() is None
    assert nax.eligibility_reviewed["maximum_age"] == "18 Years"
    assert nax.criteria == criteria_before
    assert len(_audits(db_session, "trial.eligibility_reviewed")) == 2


def test_whitespace_only_changes_are_not_a_proposal(app, db_session, loaded, serve, people):
    from panel.trials.eligibility import mark_reviewed

    serve("NCT03363373", "NCT03363373-eligibility.json")
    _sync(app, NAX)
    mark_reviewed(_trial(db_session), by=people["nap_coordinator"])
    db_session.commit()
    doc = json.loads((REGISTRY / "NCT03363373-eligibility.json").read_text())
    module = doc["protocolSection"]["eligibilityModule"]
    module["eligibilityCriteria"] = module["eligibilityCriteria"].replace("\n", "  \r\n") + "\n\n"
    serve("NCT03363373", json.dumps(doc).encode())
    result = _sync(app, NAX)
    assert result.exit_code == 0
    assert _trial(db_session).eligibility_proposal() is None


@pytest.mark.parametrize("who", ["nap_member", "referrer", "chair", "admin"])
def test_only_coordinators_see_and_review_the_proposal(
    app, client, db_session, loaded, serve, people, make_user, login, who
):
    """Members, referrers and chairs do not read the registry; an admin reads it but sees no
    proposal to act on and may not review it; the operation refuses them too."""
    from panel.trials.eligibility import mark_reviewed
    from panel.trials.registry import TrialNotAllowed

    serve("NCT03363373", "NCT03363373-eligibility.json")
    _sync(app, NAX)
    user = make_user(roles=[("NAP", "chair")]) if who == "chair" else people[who]
    login(client, user)
    page = client.get(f"/trials/{NAX}")
    if who == "admin":
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'data-testid="eligibility-proposal"' not in html
        assert 'data-testid="proposal-note"' in html
        assert 'data-testid="eligibility-proposals"' not in client.get("/trials/").get_data(
            as_text=True
        )
    else:
        assert page.status_code == 403
    assert _review(app, client, db_session).status_code == 403
    with pytest.raises(TrialNotAllowed):
        mark_reviewed(_trial(db_session), by=user)
    db_session.rollback()
    nax = _trial(db_session)
    assert nax.eligibility_reviewed is None and nax.eligibility_proposal() is not None
    assert _audits(db_session, "trial.eligibility_reviewed") == []


def test_a_malformed_eligibility_module_does_not_break_the_sync(
    app, client, db_session, loaded, serve, people, login
):
    """The status and sites are still applied; the eligibility read before is kept; the warning
    is printed and shown."""
    serve("NCT03363373", "NCT03363373-eligibility.json")
    _sync(app, NAX)
    before = _trial(db_session).registry_eligibility
    serve("NCT03363373", "NCT03363373-eligibility-malformed.json")
    serve("NCT02914405", "NCT02914405-unknown.json")
    result = _sync(app, NAX, "MINIVAN")
    assert result.exit_code == 0, result.output
    assert "warning: eligibility module: eligibilityCriteria, minimumAge is not text" in (
        result.output
    )
    assert "MINIVAN: open -> unknown" in result.output  # the other trial synced too
    nax = _trial(db_session)
    assert nax.last_sync["ok"] and nax.status.value == "open"
    assert nax.registry_eligibility == before
    assert "eligibility_text" not in nax.last_sync["changes"]
    login(client, people["nap_coordinator"])
    assert "Eligibility not read: eligibility module" in client.get("/trials/").get_data(
        as_text=True
    )
    # A module that is not an object at all.
    doc = json.loads((REGISTRY / "NCT03363373-eligibility.json").read_text())
    doc["protocolSection"]["eligibilityModule"] = ["not", "an object"]
    serve("NCT03363373", json.dumps(doc).encode())
    result = _sync(app, NAX)
    assert result.exit_code == 0 and "eligibility module is not an object" in result.output


def test_isrctn_ages_through_the_sync(app, db_session, serve):
    """BEACON2 (packaged registry, an ISRCTN id): its participants' ages become months."""
    from panel.trials.registry import load_registry

    load_registry(Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json")
    db_session.commit()
    serve("ISRCTN12532102", "ISRCTN12532102-eligibility.xml")
    result = _sync(app, "BEACON2")
    assert result.exit_code == 0, result.output
    beacon = _trial(db_session, "BEACON2")
    e = beacon.registry_eligibility
    assert (e["minimum_age"], e["minimum_age_months"]) == ("1 Years", 12)
    assert (e["maximum_age"], e["maximum_age_months"]) == ("21 Years", 252)
    proposal = beacon.eligibility_proposal()
    assert proposal.first_reading
    assert [c["id"] for _, c in proposal.affected_criteria()] == ["B3"]


# --------------------------------------------------------------------------- source text
def test_the_criterion_editor_keeps_the_source_text(app, client, db_session, loaded, people, login):
    """The criterion form shows and saves ``source_text``; the trial page shows it beside the
    criterion; an empty one is left out of the record; a too-long one is refused."""
    login(client, people["nap_coordinator"])
    trial = _trial(db_session, "CRISP")
    form = client.get("/trials/CRISP/criteria/2").get_data(as_text=True)
    assert 'name="source_text"' in form
    data = {
        "version": str(trial.version),
        "original_id": "C3",
        "cid": "C3",
        "kind": "inclusion",
        "label": "Aged 1 to 21 years",
        "source": "registry",
        "source_text": "Age 1 to 21 years (trials-status.md: CRISP)",
        "mode": "simple",
        "field": "patient.age_now_months",
        "op": "between",
        "value_lo": "12",
        "value_hi": "263",
    }
    resp = post_form(app, client, "/trials/CRISP/criteria/2", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    crisp = _trial(db_session, "CRISP")
    assert crisp.criteria[2]["source_text"] == "Age 1 to 21 years (trials-status.md: CRISP)"
    assert crisp.to_record()["criteria"][2]["source_text"].startswith("Age 1 to 21")
    page = client.get("/trials/CRISP").get_data(as_text=True)
    assert "Age 1 to 21 years (trials-status.md: CRISP)" in page
    too_long = post_form(
        app,
        client,
        "/trials/CRISP/criteria/2",
        {**data, "version": str(crisp.version), "source_text": "x" * 1001},
    )
    assert too_long.status_code == 422
    cleared = post_form(
        app,
        client,
        "/trials/CRISP/criteria/2",
        {**data, "version": str(crisp.version), "source_text": " "},
    )
    assert cleared.status_code == 302
    assert "source_text" not in _trial(db_session, "CRISP").criteria[2]


def test_the_engine_checks_source_text():
    from panel.trials import engine

    rec = json.loads(
        (Path(__file__).resolve().parents[2] / "panel" / "data" / "trials.json").read_text()
    )["trials"][0]
    codes = {c["code"] for c in engine.load_centres()}
    assert engine.validate_trial(rec, codes) == []
    bad = copy.deepcopy(rec)
    bad["criteria"][0]["source_text"] = 12
    assert any("source_text must be text" in e for e in engine.validate_trial(bad, codes))
    bad["criteria"][0]["source_text"] = "x" * 1001
    assert any("limited to 1000" in e for e in engine.validate_trial(bad, codes))
    # The matcher ignores it (it is not part of the condition).
    engine.compile_condition(rec["criteria"][0])
