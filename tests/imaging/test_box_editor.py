"""Issue 17: the review queue's box editor. Several boxes are blacked out in one pass (every
frame of a DICOM file, a PNG's pixels) and nothing else changes; the boxes can be saved without
releasing; only the case's panel coordinators get the editor; bad boxes are a form error."""

from __future__ import annotations

import io
import json

import numpy as np
import pydicom
import pytest
from PIL import Image
from sqlalchemy import select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging import review
from panel.imaging.models import FileStatus, StoredFile
from tests.support import synth
from tests.support.web import post_form


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"])


def _png(width=40, height=30) -> bytes:
    """A PNG whose every pixel differs from black and from its neighbours."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    arr[..., 0] = 200
    arr[..., 1] = 10 + np.arange(width)[None, :]
    arr[..., 2] = 10 + np.arange(height)[:, None]
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def held(app, db_session, login, case, people, upload, tmp_path):
    """``held(kind, boxes)``: a held-back secondary capture ("dicom", 64 x 64) or PNG ("png",
    40 x 30) on the case, as the pixel text step leaves it (``pixel_text="held"`` and its
    proposed boxes)."""

    def make(kind: str, boxes=None):
        client = app.test_client()
        login(client, people["referrer"])
        if kind == "dicom":
            files = [("sc.dcm", synth.make_secondary_capture(tmp_path / "sc.dcm"))]
        elif kind == "multiframe":
            files = [("cine.dcm", synth.make_multiframe(tmp_path))]
        else:
            files = [("photo.png", _png())]
        assert upload(client, case, files).status_code == 200
        f = db.session.scalar(
            select(StoredFile).where(StoredFile.case_id == case.id).order_by(StoredFile.id.desc())
        )
        f.status = FileStatus.HELD_BACK
        f.hold_reason = "text in the pixels the pixel text step is unsure of"
        f.pixel_text = "held"
        f.proposed_boxes = boxes
        db.session.commit()
        return f

    return make


def _coordinator(app, login, people):
    client = app.test_client()
    login(client, people["nap_coordinator"])
    return client


def _url(case, f):
    return f"/cases/{case.reference}/images/files/{f.id}/review"


def _audit(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _pixels(app, f):
    path = app.extensions["panel_storage"].path(f.storage_key)
    if f.kind.value == "dicom":
        return pydicom.dcmread(path).pixel_array.copy()
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).copy()


def _inside(shape, boxes):
    inside = np.zeros(shape[:2], dtype=bool)
    for x, y, w, h in boxes:
        inside[y : y + h, x : x + w] = True
    return inside


# --------------------------------------------------------------------------- masking
@pytest.mark.parametrize("kind", ["dicom", "png"])
def test_several_boxes_are_masked_and_nothing_else_changes(
    app, db_session, login, people, case, held, kind
):
    """Are all the boxes black (DICOM: every frame, the lowest value) and every other pixel
    identical to the original, the file released, its boxes kept and the boxes audited?"""
    f = held(kind, [[1, 1, 5, 5]])
    before = _pixels(app, f)
    old_key = f.storage_key
    boxes = [[2, 3, 10, 4], [20, 10, 5, 8], [30, 25, 50, 50]]  # the last one is clipped
    resp = post_form(
        app,
        _coordinator(app, login, people),
        _url(case, f),
        {"action": "mask", "boxes": json.dumps(boxes)},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/imaging/review")
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    width, height = (64, 64) if kind == "dicom" else (40, 30)
    clipped = [[2, 3, 10, 4], [20, 10, 5, 8], [30, 25, min(50, width - 30), min(50, height - 25)]]
    assert f.status == FileStatus.STORED and f.hold_reason is None
    assert f.storage_key != old_key and not app.extensions["panel_storage"].exists(old_key)
    assert f.pixel_text == "masked" and f.proposed_boxes == clipped
    after = _pixels(app, f)
    assert after.shape == before.shape
    inside = _inside(after.shape, clipped)
    black = before.min() if kind == "dicom" else 0
    assert np.all(after[inside] == black)
    assert np.array_equal(after[~inside], before[~inside])
    if kind == "dicom":
        ds = pydicom.dcmread(app.extensions["panel_storage"].path(f.storage_key))
        assert ds.BurnedInAnnotation == "NO" and ds.PatientIdentityRemoved == "YES"
    entry = _audit("imaging.mask_release")[-1]
    assert entry.details["boxes"] == clipped and entry.object_id == str(f.id)


def test_every_frame_of_a_multiframe_file_is_masked(tmp_path):
    """Does ``render.mask_boxes`` fill the boxes on every frame and leave the rest identical?"""
    from panel.imaging import render

    frames = pydicom.dcmread(synth.make_multiframe(tmp_path)).pixel_array
    render.mask_boxes(tmp_path / "multi.dcm", tmp_path / "out.dcm", [[0, 0, 4, 4], [10, 12, 3, 2]])
    out = pydicom.dcmread(tmp_path / "out.dcm").pixel_array
    inside = _inside(out.shape[1:], [[0, 0, 4, 4], [10, 12, 3, 2]])
    for k in range(3):
        assert np.all(out[k][inside] == frames.min())
        assert np.array_equal(out[k][~inside], frames[k][~inside])


# --------------------------------------------------------------------------- saving boxes
def test_save_boxes_keeps_them_holds_the_file_and_audits(
    app, db_session, login, people, case, held
):
    """Does "Save boxes" keep the boxes (clipped) on the held file, change nothing else, audit
    the coordinates, and does the editor start from them next time?"""
    f = held("png", [[1, 2, 3, 4], [5, 6, 7, 8]])
    key = f.storage_key
    client = _coordinator(app, login, people)
    page = client.get(_url(case, f)).get_data(as_text=True)
    assert "[[1, 2, 3, 4], [5, 6, 7, 8]]" in page and "data-box-editor" in page
    resp = post_form(
        app, client, _url(case, f), {"action": "save", "boxes": "[[4, 5, 6, 7], [35, 0, 10, 3]]"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_url(case, f))
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    assert f.proposed_boxes == [[4, 5, 6, 7], [35, 0, 5, 3]]
    assert f.status == FileStatus.HELD_BACK and f.storage_key == key and f.pixel_text == "held"
    entry = _audit("imaging.boxes_saved")[-1]
    assert entry.details["boxes"] == [[4, 5, 6, 7], [35, 0, 5, 3]]
    assert entry.details["before"] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    page = client.get(_url(case, f)).get_data(as_text=True)
    assert "[[4, 5, 6, 7], [35, 0, 5, 3]]" in page and "Boxes saved" in page


def test_the_editor_starts_empty_without_proposed_boxes(app, db_session, login, people, case, held):
    f = held("dicom", None)
    page = _coordinator(app, login, people).get(_url(case, f)).get_data(as_text=True)
    assert 'value="[]"' in page and 'viewBox="0 0 64 64"' in page
    assert 'name="x"' not in page  # no typed numbers any more


def test_the_queue_links_to_the_editor_and_keeps_release_and_delete(
    app, db_session, login, people, case, held
):
    f = held("png", [[1, 2, 3, 4]])
    page = _coordinator(app, login, people).get("/imaging/review").get_data(as_text=True)
    assert _url(case, f) in page and "1 box proposed" in page
    assert 'value="release"' in page and 'value="delete"' in page and 'name="w"' not in page


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("who", ["referrer", "nap_member", "north_coordinator", "admin"])
def test_only_the_panels_coordinators_get_the_editor(
    app, db_session, login, people, case, held, who
):
    """Are the case's referrer, a panel member, another panel's coordinator and an admin refused
    the editor and its actions, with nothing changed?"""
    f = held("png", [[1, 2, 3, 4]])
    client = app.test_client()
    login(client, people[who])
    assert client.get(_url(case, f)).status_code in (403, 404)
    for action in ("save", "mask"):
        resp = post_form(app, client, _url(case, f), {"action": action, "boxes": "[[0,0,5,5]]"})
        assert resp.status_code in (403, 404)
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    assert f.status == FileStatus.HELD_BACK and f.proposed_boxes == [[1, 2, 3, 4]]
    assert not _audit("imaging.boxes_saved") and not _audit("imaging.mask_release")


def test_no_account_no_editor(app, db_session, case, held):
    """A family (no account) or anybody signed out is sent to sign in."""
    f = held("png", [[1, 2, 3, 4]])
    client = app.test_client()
    resp = client.get(_url(case, f))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_released_file_has_no_editor(app, db_session, login, people, case, held):
    f = held("png", [[1, 2, 3, 4]])
    f.status, f.hold_reason = FileStatus.STORED, None
    db.session.commit()
    client = _coordinator(app, login, people)
    assert client.get(_url(case, f)).status_code == 403


def test_saving_needs_the_csrf_token(app, db_session, login, people, case, held):
    f = held("png", [[1, 2, 3, 4]])
    client = _coordinator(app, login, people)
    resp = client.post(_url(case, f), data={"action": "save", "boxes": "[[0,0,5,5]]"})
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(StoredFile, f.id).proposed_boxes == [[1, 2, 3, 4]]


# --------------------------------------------------------------------------- bad input
BAD = [
    ("{not json", "could not be read"),
    ('{"x": 1}', "could not be read"),
    ("[[1, 2, 3]]", "Box 1 is not four numbers"),
    ('[[1, 2, "3", 4]]', "Box 1 is not four numbers"),
    ("[[1, 2, 3, 4], [0, 0, 0, 5]]", "Box 2 has no width or height"),
    ("[[100, 2, 3, 4]]", "Box 1 lies outside the image"),
    ("[[-20, -20, 5, 5]]", "Box 1 lies outside the image"),
    (json.dumps([[0, 0, 2, 2]] * 51), "At most 50 boxes"),
    ("[" + "[0, 0, 2, 2]," * 400 + "[0, 0, 2, 2]]", "At most 50 boxes"),
    ("[" * 5000 + "]" * 5000, "At most 50 boxes"),
    ("[[-5, -5, 100, 100]]", "cover the whole image"),
    ("[[0, 0, 20, 30], [20, 0, 20, 30]]", "cover the whole image"),
]


@pytest.mark.parametrize("action", ["save", "mask"])
@pytest.mark.parametrize(("boxes", "message"), BAD)
def test_bad_boxes_are_a_form_error_and_change_nothing(
    app, db_session, login, people, case, held, action, boxes, message
):
    f = held("png", [[1, 2, 3, 4]])
    key = f.storage_key
    resp = post_form(
        app, _coordinator(app, login, people), _url(case, f), {"action": action, "boxes": boxes}
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html and 'data-testid="box-error"' in html
    db.session.expire_all()
    f = db.session.get(StoredFile, f.id)
    assert f.status == FileStatus.HELD_BACK and f.storage_key == key
    assert f.proposed_boxes == [[1, 2, 3, 4]] and f.pixel_text == "held"
    assert not _audit("imaging.boxes_saved") and not _audit("imaging.mask_release")


def test_masking_needs_a_box(app, db_session, login, people, case, held):
    f = held("dicom", None)
    resp = post_form(
        app, _coordinator(app, login, people), _url(case, f), {"action": "mask", "boxes": "[]"}
    )
    assert resp.status_code == 422 and "Draw at least one box" in resp.get_data(as_text=True)


def test_saving_no_boxes_clears_them(app, db_session, login, people, case, held):
    f = held("dicom", [[1, 2, 3, 4]])
    post_form(
        app, _coordinator(app, login, people), _url(case, f), {"action": "save", "boxes": "[]"}
    )
    db.session.expire_all()
    assert db.session.get(StoredFile, f.id).proposed_boxes == []


# --------------------------------------------------------------------------- pure checks
def test_check_boxes_clips_and_rounds():
    assert review.parse_boxes("[[1.4, 2.6, 3, 4]]") == [[1, 3, 3, 4]]
    assert review.check_boxes([[-3, -2, 10, 10], [8, 8, 10, 10]], 10, 10) == [
        [0, 0, 7, 8],
        [8, 8, 2, 2],
    ]
    for bad in ("[true, 1, 2, 3]", "[[NaN, 1, 2, 3]]", "[[1e400, 1, 2, 3]]", "null"):
        with pytest.raises(review.ReviewError):
            review.parse_boxes(bad)


def test_covering_with_many_boxes_is_found():
    tiles = [[x, y, 5, 5] for x in range(0, 20, 5) for y in range(0, 10, 5)]
    with pytest.raises(review.ReviewError, match="whole image"):
        review.check_boxes(tiles, 20, 10)
    assert review.check_boxes(tiles[:-1], 20, 10) == tiles[:-1]


def test_monochrome1_is_filled_with_its_black(tmp_path):
    """MONOCHROME1 shows its highest value as black: is that what the boxes get?"""
    from panel.imaging import render

    src = synth.make_secondary_capture(tmp_path / "one.dcm")
    ds = pydicom.dcmread(src)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "m1.dcm")
    before = ds.pixel_array
    render.mask_boxes(tmp_path / "m1.dcm", tmp_path / "out.dcm", [[3, 4, 5, 6]])
    out = pydicom.dcmread(tmp_path / "out.dcm").pixel_array
    inside = _inside(out.shape, [[3, 4, 5, 6]])
    assert np.all(out[inside] == before.max())
    assert np.array_equal(out[~inside], before[~inside])


def test_undecodable_image_offers_release_and_delete_only(
    app, db_session, login, people, case, held
):
    """Without pixels to draw on (or without the editor), the coordinator can still release
    or delete the file."""
    f = held("dicom", [[1, 2, 3, 4]])
    f.decodable = False
    db.session.commit()
    page = _coordinator(app, login, people).get(_url(case, f)).get_data(as_text=True)
    assert "data-box-editor" not in page and 'value="mask"' not in page
    assert 'value="release"' in page and 'value="delete"' in page


def test_a_multiframe_file_steps_through_its_frames_and_is_masked_on_each(
    app, db_session, login, people, case, held
):
    """Does the editor of a multi-frame file say the boxes apply to every frame, offer its
    frames (which open for the coordinator), and does masking fill every frame?"""
    f = held("multiframe", [[2, 2, 6, 6]])
    assert f.frames == 3
    before = _pixels(app, f)
    client = _coordinator(app, login, people)
    page = client.get(_url(case, f)).get_data(as_text=True)
    assert 'data-testid="frames-note"' in page and "3 frames" in page
    urls = json.loads(page.split('data-frames="', 1)[1].split('"', 1)[0].replace("&#34;", '"'))
    assert len(urls) == 3
    assert all(client.get(u).status_code == 200 for u in urls)
    post_form(app, client, _url(case, f), {"action": "mask", "boxes": "[[2, 2, 6, 6]]"})
    db.session.expire_all()
    after = _pixels(app, db.session.get(StoredFile, f.id))
    inside = _inside(after.shape[1:], [[2, 2, 6, 6]])
    for k in range(3):
        assert np.all(after[k][inside] == before.min())
        assert np.array_equal(after[k][~inside], before[k][~inside])


def test_the_editor_leaves_out_proposed_boxes_outside_the_image(
    app, db_session, login, people, case, held
):
    f = held("png", [[1, 2, 3, 4], [100, 100, 5, 5], [35, 25, 20, 20]])
    page = _coordinator(app, login, people).get(_url(case, f)).get_data(as_text=True)
    assert 'value="[[1, 2, 3, 4], [35, 25, 5, 5]]"' in page


def test_a_refused_mask_keeps_the_coordinators_boxes_on_the_page(
    app, db_session, login, people, case, held
):
    """Boxes that cover the whole image are refused, but the editor shows them again (not the
    stored ones), so nothing drawn is lost."""
    f = held("png", [[1, 2, 3, 4]])
    resp = post_form(
        app,
        _coordinator(app, login, people),
        _url(case, f),
        {"action": "mask", "boxes": "[[0, 0, 20, 30], [20, 0, 25, 30]]"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "cover the whole image" in html
    assert 'value="[[0, 0, 20, 30], [20, 0, 20, 30]]"' in html
