"""Races (issue #8): many identical requests released at once, through real threads, real
connections and real commits, on a fresh database per test (as tests/cases/test_reference_race.py).

* 20 identical API creations with one ``Idempotency-Key`` make one case;
* 20 submits of one draft at once (a many-times double click) make one submission;
* two chairs approving one recommendation at once: one approval, one Conflict;
* two uploads of one DICOM series at once: one stored copy, nothing half-done.

After each race the audit chain must still verify (its head is a lock every writer takes).
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from panel.core.errors import Conflict
from tests.support.data import discussed_at_meeting
from tests.support.db import ROOT, database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD

N = 20
EXAMPLE = json.loads((ROOT / "tests" / "data" / "case-example-alk.json").read_text())


def _example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


@pytest.fixture
def race_app(backend, tmp_path, request):
    """A new, migrated database (and storage folder) for this test alone."""
    url = database_url(
        backend, tmp_path, "panel_test_race_" + request.node.originalname.removeprefix("test_")[:20]
    )
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    yield app
    from panel.core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _make_user(email: str, *, referrer_at: str | None = None, roles=()) -> int:
    """A committed account (call inside an app context); its id."""
    from panel.accounts import operations as account_ops
    from panel.accounts.models import Centre, Panel, PanelRoleKind
    from panel.core.db import db

    centre = (
        db.session.scalar(select(Centre).where(Centre.code == referrer_at)) if referrer_at else None
    )
    user = account_ops.create_user(
        email=email,
        name="Dr " + email.split("@")[0].title(),
        centre_id=centre.id if centre else None,
        is_referrer=bool(referrer_at),
        password=TEST_PASSWORD,
    )
    for code, role in roles:
        panel = db.session.scalar(select(Panel).where(Panel.code == code))
        account_ops.add_panel_role(user, panel, PanelRoleKind(role), by=None)
    db.session.commit()
    return user.id


def _release(n: int, work) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i, barrier)`` in ``n`` threads; each waits on ``barrier`` right before its
    racing step. Returns (results, exceptions)."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return results, errors


def _audit_count(action: str) -> int:
    from panel.core.db import db
    from panel.core.models import AuditEntry

    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def _chain_intact() -> None:
    from panel.core.audit import verify_chain

    checked, problem = verify_chain()
    assert problem is None, problem
    assert checked > 0


def _signed_in_cookie(app, email: str) -> tuple[str, str]:
    """Sign a (non-TOTP) account in through the real form; (session cookie, CSRF token)."""
    from tests.support.web import csrf_token, post_form

    client = app.test_client()
    resp = post_form(app, client, "/login", {"email": email, "password": TEST_PASSWORD})
    assert resp.status_code == 302 and "/login/verify" not in resp.headers["Location"]
    token = csrf_token(app, client)
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value, token


# --------------------------------------------------------------------------- creation, submission
def test_twenty_identical_api_creations_make_one_case(race_app):
    """Do 20 POST /api/v1/cases with the same Idempotency-Key, released at once, create exactly
    one case (one 201, the others replay it with 200)?"""
    app = race_app
    from panel.accounts.models import User
    from panel.api.tokens import create_token
    from panel.cases.models import Case
    from panel.core.db import db

    with app.app_context():
        uid = _make_user("race.referrer@nhs.example.org", referrer_at="NEWCASTLE")
        secret = create_token(db.session.get(User, uid), "race", by=None).secret
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "race-key-0001"}
    doc = _example()

    def work(i, barrier):
        client = app.test_client()
        barrier.wait()
        resp = client.post("/api/v1/cases", json=doc, headers=headers)
        return (
            resp.status_code,
            resp.get_json()["reference"],
            resp.headers.get("Idempotent-Replayed"),
        )

    results, errors = _release(N, work)
    assert not errors, errors
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {201: 1, 200: N - 1}, statuses
    assert {replayed for status, _, replayed in results if status == 200} == {"true"}
    assert len({ref for _, ref, _ in results}) == 1
    with app.app_context():
        cases = db.session.scalars(select(Case)).all()
        assert [c.reference for c in cases] == [results[0][1]]
        assert cases[0].creation_key == "race-key-0001"
        assert _audit_count("case.created") == 1
        # The counter rolled back with every losing transaction: the next case is number 2.
        from panel.cases.operations import allocate_reference

        assert allocate_reference().endswith("-0002")
        db.session.rollback()
        _chain_intact()


def test_twenty_submits_of_one_draft_make_one_submission(race_app):
    """Do 20 POST /cases/<ref>/submit of one draft from the same signed-in browser, released at
    once, end in one submission: status submitted, one revision, one "case.submitted"?"""
    app = race_app
    from panel.accounts.models import User
    from panel.cases import operations
    from panel.cases.models import Case, CaseRevision, CaseStatus
    from panel.core.db import db

    with app.app_context():
        email = "race.submitter@nhs.example.org"
        uid = _make_user(email, referrer_at="NEWCASTLE")
        case = operations.create_case(_example(), by=db.session.get(User, uid)).case
        db.session.commit()
        ref, case_id = case.reference, case.id
    cookie, token = _signed_in_cookie(app, email)

    def work(i, barrier):
        client = app.test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        barrier.wait()
        resp = client.post(f"/cases/{ref}/submit", data={"csrf_token": token})
        return resp.status_code, resp.headers.get("Location", "")

    results, errors = _release(N, work)
    assert not errors, errors
    # Every click lands on the case page: the winner submitted it, the others find it submitted.
    assert {status for status, _ in results} == {302}, results
    assert all(location.endswith(f"/cases/{ref}") for _, location in results), results
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == CaseStatus.SUBMITTED and case.submitted_at is not None
        revisions = db.session.scalars(
            select(CaseRevision).where(CaseRevision.case_id == case_id)
        ).all()
        assert [(r.number, r.reason) for r in revisions] == [(1, "submitted")]
        assert _audit_count("case.submitted") == 1
        assert _audit_count("case.resubmitted") == 0
        _chain_intact()


# --------------------------------------------------------------------------- approval
def test_two_chairs_approving_at_once_one_wins(race_app, backend):
    """Two NAP chairs approve the same draft recommendation, both having read the same version:
    is exactly one approval recorded and does the other chair get a Conflict?"""
    app = race_app
    from panel.accounts.models import User
    from panel.cases import operations as case_ops
    from panel.core.db import db
    from panel.feedback import operations
    from panel.feedback.models import Recommendation, RecommendationStatus
    from tests.support.data import answers_for, full_record_data

    with app.app_context():
        from panel.trials.matching import clear_cache
        from panel.trials.registry import load_registry

        load_registry()  # the record suggests trials the case matches
        db.session.commit()
        clear_cache()
        referrer = db.session.get(
            User, _make_user("race.ref@nhs.example.org", referrer_at="NEWCASTLE")
        )
        coordinator = db.session.get(
            User, _make_user("race.coord@nhs.example.org", roles=[("NAP", "coordinator")])
        )
        chairs = [
            _make_user(f"race.chair{i}@nhs.example.org", roles=[("NAP", "chair")]) for i in (1, 2)
        ]
        case = case_ops.create_case(_example(), by=referrer).case
        case_ops.submit_case(case, by=referrer)
        discussed_at_meeting(db.session, case)
        rec = operations.start_recommendation(case, by=coordinator)
        operations.save_record(
            rec,
            full_record_data(answers=answers_for(case)),
            by=coordinator,
            expected_version=rec.version,
        )
        db.session.commit()
        rec_id, version = rec.id, rec.version

    # On PostgreSQL both chairs read the draft before either writes (the real race). SQLite's
    # writers queue on the database lock, so there the second one reads the first one's result.
    both_read = threading.Barrier(2, timeout=30) if backend == "postgresql" else None

    def work(i, barrier):
        with app.app_context():
            me = db.session.get(User, chairs[i])
            db.session.commit()  # hold no transaction while waiting
            barrier.wait()
            rec = db.session.get(Recommendation, rec_id)
            assert rec.status == RecommendationStatus.DRAFT or both_read is None
            if both_read is not None:
                both_read.wait()
            try:
                operations.approve(rec, by=me, expected_version=version)
                db.session.commit()
                return "approved"
            except Conflict as exc:
                db.session.rollback()
                return "conflict: " + exc.message
            finally:
                db.session.remove()

    results, errors = _release(2, work)
    assert not errors, errors
    assert sorted(r.split(":")[0] for r in results) == ["approved", "conflict"], results
    with app.app_context():
        rec = db.session.get(Recommendation, rec_id)
        assert rec.status == RecommendationStatus.APPROVED and rec.version == version + 1
        winner = chairs[results.index("approved")]
        assert rec.approved_by_id == winner
        assert rec.case.approved_at is not None
        assert _audit_count("recommendation.approved") == 1
        _chain_intact()


def test_two_chairs_deciding_one_amendment_at_once_one_wins(race_app, backend):
    """A coordinator's amendment waits; one chair approves it while another rejects it, both
    having read it pending: is exactly one decision recorded, the other told (Conflict), and
    the record changed only if the approval won?"""
    app = race_app
    from panel.accounts.models import User
    from panel.cases import operations as case_ops
    from panel.core.db import db
    from panel.feedback import operations
    from panel.feedback.models import Recommendation
    from tests.support.data import answers_for, full_record_data

    with app.app_context():
        from panel.trials.matching import clear_cache
        from panel.trials.registry import load_registry

        load_registry()
        db.session.commit()
        clear_cache()
        referrer = db.session.get(
            User, _make_user("race.ref2@nhs.example.org", referrer_at="NEWCASTLE")
        )
        coordinator = db.session.get(
            User, _make_user("race.coord2@nhs.example.org", roles=[("NAP", "coordinator")])
        )
        chairs = [
            _make_user(f"race.amchair{i}@nhs.example.org", roles=[("NAP", "chair")]) for i in (1, 2)
        ]
        case = case_ops.create_case(_example(), by=referrer).case
        case_ops.submit_case(case, by=referrer)
        discussed_at_meeting(db.session, case)
        rec = operations.start_recommendation(case, by=coordinator)
        data = full_record_data(answers=answers_for(case))
        operations.save_record(rec, data, by=coordinator, expected_version=rec.version)
        operations.approve(rec, by=db.session.get(User, chairs[0]), expected_version=rec.version)
        approved_text = rec.rationale
        data["rationale"] = "Revised after the meeting."
        operations.save_record(
            rec, data, by=coordinator, expected_version=rec.version, reason="New results"
        )
        db.session.commit()
        rec_id = rec.id

    both_read = threading.Barrier(2, timeout=30) if backend == "postgresql" else None

    def work(i, barrier):
        with app.app_context():
            me = db.session.get(User, chairs[i])
            db.session.commit()
            barrier.wait()
            rec = db.session.get(Recommendation, rec_id)
            amendment = rec.amendments[0]
            assert amendment.is_pending or both_read is None
            if both_read is not None:
                both_read.wait()
            decide = operations.approve_amendment if i == 0 else operations.reject_amendment
            try:
                decide(rec, amendment, by=me)
                db.session.commit()
                return "approved" if i == 0 else "rejected"
            except Conflict as exc:
                db.session.rollback()
                return "conflict: " + exc.message
            finally:
                db.session.remove()

    results, errors = _release(2, work)
    assert not errors, errors
    assert sum(not r.startswith("conflict") for r in results) == 1, results
    with app.app_context():
        rec = db.session.get(Recommendation, rec_id)
        [amendment] = rec.amendments
        if "approved" in results:
            assert amendment.is_applied and rec.rationale == "Revised after the meeting."
        else:
            assert amendment.status == "rejected" and rec.rationale == approved_text
        decided = _audit_count("recommendation.amendment_approved") + _audit_count(
            "recommendation.amendment_rejected"
        )
        assert decided == 1
        _chain_intact()


# --------------------------------------------------------------------------- uploads
def test_two_uploads_of_one_series_at_once(race_app, tmp_path):
    """The referrer uploads the same CT series from two tabs at once: no crash, one stored copy
    of each slice (each file's job sees the other tab's copy, or loses the insert to it, and
    reports a duplicate), no orphan objects or temporary files, and a clear answer for both."""
    app = race_app
    from panel.accounts.models import User
    from panel.cases import operations
    from panel.core.db import db
    from panel.imaging.models import StoredFile, Upload
    from tests.support import synth

    with app.app_context():
        email = "race.uploader@nhs.example.org"
        uid = _make_user(email, referrer_at="NEWCASTLE")
        me = db.session.get(User, uid)
        case = operations.create_case(_example(), by=me).case
        operations.submit_case(case, by=me)
        db.session.commit()
        ref, case_id = case.reference, case.id
    series = synth.make_ct_series(tmp_path / "ct", 4, rows=32, cols=32, plant=True)
    files = [(p.name, p.read_bytes()) for p in series.paths]
    cookie, token = _signed_in_cookie(app, email)
    storage = Path(app.config["STORAGE_DIR"])

    def work(i, barrier):
        import io

        client = app.test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        data = {
            "label": f"CT tab {i + 1}",
            "csrf_token": token,
            "files": [(io.BytesIO(content), name) for name, content in files],
        }
        barrier.wait()
        resp = client.post(
            f"/cases/{ref}/images/upload",
            data=data,
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
        return resp.status_code, resp.get_json()

    results, errors = _release(2, work)
    assert not errors, errors
    assert [status for status, _body in results] == [200, 200], results
    ok = [body for _status, body in results]
    assert sum(body["counts"]["stored"] for body in ok) == len(files), results
    assert sum(body["counts"]["duplicate"] for body in ok) == len(files), results
    with app.app_context():
        rows = db.session.scalars(select(StoredFile).where(StoredFile.case_id == case_id)).all()
        assert len(rows) == len(files) and len({r.sha256 for r in rows}) == len(files)
        assert len({r.series_uid for r in rows}) == 1
        uploads = db.session.scalars(select(Upload).where(Upload.case_id == case_id)).all()
        assert len(uploads) == 2 and all(u.finished for u in uploads)
        assert _audit_count("imaging.upload") == 2  # one per upload, written by its last file
        from panel.core.storage import LocalStorage

        objects = [p for p in (storage / "objects").rglob("*") if p.is_file()]
        assert len(objects) == len(files), objects  # one copy of the series, no orphans
        store = LocalStorage(storage)
        assert all(store.exists(r.storage_key) for r in rows)  # no loser deleted the winner's files
        leftovers = [
            p for sub in ("tmp", "incoming") for p in (storage / sub).rglob("*") if p.is_file()
        ]
        assert not leftovers, leftovers
        _chain_intact()
