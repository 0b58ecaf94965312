"""The coordinators' review queue: see, release, mask and release, delete; all audited."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from sqlalchemy import select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging.models import FileStatus, StoredFile
from tests.support import synth
from tests.support.web import post_form


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"])


@pytest.fixture
def held(app, db_session, login, people, case, upload, tmp_path, pixel_text_unsure):
    """A held-back secondary capture and a held-back ultrasound on the case."""
    client = app.test_client()
    login(client, people["referrer"])
    sc = synth.make_secondary_capture(tmp_path / "sc.dcm")
    us = synth.make_ultrasound(tmp_path / "us.dcm")
    resp = upload(client, case, [("sc.dcm", sc), ("us.dcm", us)])
    assert resp.get_json()["counts"]["held_back"] == 2
    return list(
        db.session.scalars(
            select(StoredFile).where(StoredFile.case_id == case.id).order_by(StoredFile.id)
        )
    )


def _audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_queue_lists_held_files_for_the_panels_coordinator(
    app, db_session, client, login, people, case, held
):
    login(client, people["nap_coordinator"])
    html = client.get("/imaging/review").get_data(as_text=True)
    assert html.count('data-testid="review-item"') == 2 and case.reference in html


def test_other_panels_coordinator_sees_an_empty_queue(app, db_session, client, login, people, held):
    login(client, people["north_coordinator"])
    assert 'data-testid="review-empty"' in client.get("/imaging/review").get_data(as_text=True)


@pytest.mark.parametrize("who", ["referrer", "nap_member"])
def test_non_coordinators_cannot_review(app, db_session, client, login, people, case, held, who):
    login(client, people[who])
    assert client.get("/imaging/review").status_code == 403
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/files/{held[0].id}/review",
        {"action": "release"},
    )
    assert resp.status_code in (403, 404)
    db.session.refresh(held[0])
    assert held[0].status == FileStatus.HELD_BACK


def test_release(app, db_session, client, login, people, case, held):
    login(client, people["nap_coordinator"])
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/files/{held[0].id}/review",
        {"action": "release"},
    )
    assert resp.status_code == 302
    db.session.refresh(held[0])
    assert held[0].status == FileStatus.STORED and held[0].hold_reason is None
    assert _audit("imaging.release")


def test_delete_removes_row_and_bytes(app, db_session, client, login, people, case, held):
    storage = app.extensions["panel_storage"]
    key = held[1].storage_key
    fid = held[1].id
    login(client, people["nap_coordinator"])
    post_form(
        app, client, f"/cases/{case.reference}/images/files/{fid}/review", {"action": "delete"}
    )
    db.session.expire_all()
    assert db.session.get(StoredFile, fid) is None
    assert not storage.exists(key)
    assert _audit("imaging.delete")


def test_mask_and_release(app, db_session, client, login, people, case, held):
    """Does masking black out the box, keep the file de-identified and release it?"""
    storage = app.extensions["panel_storage"]
    f = held[0]
    old_key = f.storage_key
    login(client, people["nap_coordinator"])
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/files/{f.id}/review",
        {"action": "mask", "boxes": "[[4, 2, 10, 6]]"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    assert f.status == FileStatus.STORED and f.storage_key != old_key
    assert not storage.exists(old_key)
    ds = pydicom.dcmread(storage.path(f.storage_key))
    arr = ds.pixel_array
    assert np.all(arr[2:8, 4:14] == arr.min())
    assert ds.PatientIdentityRemoved == "YES" and ds.BurnedInAnnotation == "NO"
    entry = _audit("imaging.mask_release")[-1]
    assert entry.details["boxes"] == [[4, 2, 10, 6]]


def test_mask_needs_boxes(app, db_session, client, login, people, case, held):
    login(client, people["nap_coordinator"])
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/files/{held[0].id}/review",
        {"action": "mask", "x": "a"},
    )
    assert resp.status_code == 422
    db.session.refresh(held[0])
    assert held[0].status == FileStatus.HELD_BACK
