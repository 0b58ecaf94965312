"""Issue 12, item 10 (and 17): PNG and JPEG uploads whose pixel text the pixel text step is unsure
of are held back for a coordinator's review (their pixels can show names), hidden from the panel
until released; release, mask and delete work for them. The step is made unsure here
(``pixel_text_unsure``); tests/imaging/test_pixel_intake.py runs the real OCR."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging.models import FileStatus, StoredFile
from tests.support.web import post_form

PLAIN_REASON = (
    "held back: text in the image may identify the patient: "
    "Text that is not a known annotation at (2,2,12,8)"
)


def _image(fmt: str) -> bytes:
    img = Image.new("RGB", (40, 30), (250, 250, 250))
    for x in range(40):
        for y in range(30):
            img.putpixel((x, y), (200, 10 + x, 10 + y))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


KINDS = [("png", "scan-photo.png", "PNG"), ("jpeg", "lightbox.jpg", "JPEG")]


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"])


@pytest.fixture
def uploaded(app, db_session, login, people, case, upload, pixel_text_unsure):
    """``uploaded(kind)``: a referrer's PNG or JPEG on the case; returns (row, json result)."""

    def do(kind: str):
        name, fmt = next((n, f) for k, n, f in KINDS if k == kind)
        client = app.test_client()
        login(client, people["referrer"])
        resp = upload(client, case, [(name, _image(fmt))], label="Photo of the film")
        assert resp.status_code == 200
        row = db.session.scalar(
            select(StoredFile).where(StoredFile.case_id == case.id).order_by(StoredFile.id.desc())
        )
        return row, resp.get_json()["files"][0]

    return do


def _client(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


def _urls(case, f):
    base = f"/cases/{case.reference}/images/files/{f.id}"
    return [f"{base}/download", f"{base}/preview.png"]


def _audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_image_upload_is_held_and_hidden_from_the_panel(
    app, db_session, login, people, case, uploaded, kind
):
    """Is a PNG/JPEG held back with a plain reason, invisible to a panel member, shown to the
    referrer as awaiting review and to the coordinator in the review queue?"""
    f, result = uploaded(kind)
    assert result["status"] == "held_back" and result["reason"] == PLAIN_REASON
    assert f.status == FileStatus.HELD_BACK and f.hold_reason == PLAIN_REASON
    assert (f.columns, f.rows) == (40, 30)
    assert f.pixel_text == "held" and f.proposed_boxes == [[2, 2, 12, 8]]

    member = _client(app, login, people["nap_member"])
    assert [member.get(u).status_code for u in _urls(case, f)] == [404, 404]
    html = member.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert f.display_name not in html and "Photo of the film" not in html

    referrer = _client(app, login, people["referrer"])
    html = referrer.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert f.display_name in html and "awaiting review" in html

    coordinator = _client(app, login, people["nap_coordinator"])
    queue = coordinator.get("/imaging/review").get_data(as_text=True)
    assert queue.count('data-testid="review-item"') == 1 and PLAIN_REASON in queue
    assert "Open the box editor" in queue  # masking is offered for photos and screenshots too
    editor = coordinator.get(f"/cases/{case.reference}/images/files/{f.id}/review")
    assert 'value="mask"' in editor.get_data(as_text=True)
    assert [coordinator.get(u).status_code for u in _urls(case, f)] == [200, 200]


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_coordinator_release_makes_the_image_visible(
    app, db_session, login, people, case, uploaded, kind
):
    """After a coordinator releases it, does a panel member see the image (and is it audited)?"""
    f, _ = uploaded(kind)
    coordinator = _client(app, login, people["nap_coordinator"])
    resp = post_form(
        app,
        coordinator,
        f"/cases/{case.reference}/images/files/{f.id}/review",
        {"action": "release"},
    )
    assert resp.status_code == 302
    db.session.refresh(f)
    assert f.status == FileStatus.STORED and f.hold_reason is None
    assert _audit("imaging.release")[-1].details["hold_reason"] == PLAIN_REASON
    member = _client(app, login, people["nap_member"])
    assert [member.get(u).status_code for u in _urls(case, f)] == [200, 200]
    assert f.display_name in member.get(f"/cases/{case.reference}/images").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_mask_and_release_an_image(app, db_session, login, people, case, uploaded, kind):
    """Does masking black out the rectangle of a PNG/JPEG, store it as a new file without
    metadata, release it and remove the unmasked bytes?"""
    storage = app.extensions["panel_storage"]
    f, _ = uploaded(kind)
    old_key = f.storage_key
    coordinator = _client(app, login, people["nap_coordinator"])
    resp = post_form(
        app,
        coordinator,
        f"/cases/{case.reference}/images/files/{f.id}/review",
        {"action": "mask", "boxes": "[[4, 2, 100, 8]]"},
    )  # clipped at the edge
    assert resp.status_code == 302
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    assert (
        f.status == FileStatus.STORED and f.storage_key != old_key and not storage.exists(old_key)
    )
    with Image.open(storage.path(f.storage_key)) as img:
        assert img.format == ("PNG" if kind == "png" else "JPEG") and img.size == (40, 30)
        assert not img.getexif() and not getattr(img, "text", {})
        grey = np.asarray(img.convert("L"))
    if kind == "png":
        assert grey[2:10, 4:40].max() == 0
    else:  # JPEG is lossy: black inside, give or take the ringing at the rectangle's edges
        assert grey[2:10, 4:40].mean() < 8 and grey[3:9, 5:39].max() < 40
    assert grey[12:30, 0:40].min() > 30  # the rest is untouched
    assert _audit("imaging.mask_release")[-1].details["boxes"] == [[4, 2, 36, 8]]
    member = _client(app, login, people["nap_member"])
    assert member.get(_urls(case, f)[0]).status_code == 200


def test_mask_outside_the_image_is_refused_clearly(app, db_session, login, people, case, uploaded):
    f, _ = uploaded("png")
    coordinator = _client(app, login, people["nap_coordinator"])
    resp = post_form(
        app,
        coordinator,
        f"/cases/{case.reference}/images/files/{f.id}/review",
        {"action": "mask", "boxes": "[[400, 2, 10, 8]]"},
    )
    assert resp.status_code == 422 and "outside the image" in resp.get_data(as_text=True)
    db.session.refresh(f)
    assert f.status == FileStatus.HELD_BACK


def test_delete_a_held_image(app, db_session, login, people, case, uploaded):
    storage = app.extensions["panel_storage"]
    f, _ = uploaded("jpeg")
    key, fid = f.storage_key, f.id
    coordinator = _client(app, login, people["nap_coordinator"])
    post_form(
        app, coordinator, f"/cases/{case.reference}/images/files/{fid}/review", {"action": "delete"}
    )
    db.session.expire_all()
    assert db.session.get(StoredFile, fid) is None and not storage.exists(key)
    assert _audit("imaging.delete")


def test_pdf_is_not_offered_a_mask(app, db_session, login, people, case, upload):
    """PDFs are held for their text, not pixels: the queue offers no mask and the action refuses."""
    from tests.support.data import pdf_with_info

    client = _client(app, login, people["referrer"])
    upload(client, case, [("letter.pdf", pdf_with_info("NHS number 943 476 5919"))])
    f = db.session.scalar(select(StoredFile).where(StoredFile.case_id == case.id))
    coordinator = _client(app, login, people["nap_coordinator"])
    assert 'value="mask"' not in coordinator.get("/imaging/review").get_data(as_text=True)
    editor = coordinator.get(f"/cases/{case.reference}/images/files/{f.id}/review")
    assert editor.status_code == 200 and 'value="mask"' not in editor.get_data(as_text=True)
    resp = post_form(
        app,
        coordinator,
        f"/cases/{case.reference}/images/files/{f.id}/review",
        {"action": "mask", "boxes": "[[1, 1, 5, 5]]"},
    )
    assert resp.status_code == 422 and "delete the document instead" in resp.get_data(as_text=True)
    db.session.refresh(f)
    assert f.status == FileStatus.HELD_BACK
