"""Frames, thumbnails, the viewer page and downloads: correctness and access."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from sqlalchemy import select

from panel.core.db import db
from panel.imaging import render
from panel.imaging.models import StoredFile
from tests.support import synth


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"])


@pytest.fixture
def loaded(app, db_session, login, people, case, upload, tmp_path, pixel_text_unsure):
    """A case with a 4-slice CT series, a held-back secondary capture (the pixel text step made
    unsure of it) and an undecodable J2K CT."""
    ct = synth.make_ct_series(tmp_path / "ct", 4, rows=48, cols=40, noise=False)
    sc = synth.make_secondary_capture(tmp_path / "sc.dcm")
    j2k = synth.make_jpeg2000_ct(tmp_path / "j2k.dcm")
    client = app.test_client()
    login(client, people["referrer"])
    resp = upload(
        client,
        case,
        [(p.name, p) for p in ct.paths] + [("sc.dcm", sc), ("j2k.dcm", j2k)],
        label="CT chest",
    )
    assert resp.status_code == 200
    rows = list(db.session.scalars(select(StoredFile).where(StoredFile.case_id == case.id)))
    ct_rows = sorted((r for r in rows if r.rows == 48), key=lambda r: r.instance_number)
    return {
        "ct": ct_rows,
        "sc": next(r for r in rows if r.modality == "OT"),
        "j2k": next(r for r in rows if not r.decodable),
        "series": ct_rows[0].series_uid,
    }


def _png(resp) -> np.ndarray:
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    return np.asarray(Image.open(io.BytesIO(resp.data)))


def test_frame_png_applies_the_ct_window(app, db_session, client, login, people, case, loaded):
    """Is a frame rendered at the image's size with the chosen CT window (soft vs lung)?"""
    login(client, people["nap_member"])
    base = f"/cases/{case.reference}/images/series/{loaded['series']}/frames"
    soft = _png(client.get(f"{base}/1.png?preset=soft"))
    lung = _png(client.get(f"{base}/1.png?preset=lung"))
    assert soft.shape == (48, 40) and soft.dtype == np.uint8
    assert not np.array_equal(soft, lung)
    storage = app.extensions["panel_storage"]
    ds = pydicom.dcmread(storage.path(loaded["ct"][1].storage_key))
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    expected = np.clip((hu - (40 - 200)) / 400 * 255, 0, 255).astype(np.uint8)
    assert np.abs(soft.astype(int) - expected.astype(int)).max() <= 1
    assert client.get(f"{base}/4.png").status_code == 404  # 4 slices: 0..3


def test_monochrome1_is_inverted():
    class DS:
        Modality = "CR"
        PhotometricInterpretation = "MONOCHROME1"

    arr = np.array([[0.0, 100.0]], dtype=np.float32)
    out = render.to_uint8(arr, DS())
    assert out[0, 0] == 255 and out[0, 1] == 0


def test_undecodable_transfer_syntax_gives_a_placeholder(
    app, db_session, client, login, people, case, loaded
):
    """Does a JPEG 2000 image whose pixels cannot be decoded show a clear placeholder?"""
    login(client, people["nap_member"])
    j2k = loaded["j2k"]
    img = _png(client.get(f"/cases/{case.reference}/images/series/{j2k.series_uid}/frames/0.png"))
    assert img.shape == (512, 512)
    page = client.get(f"/cases/{case.reference}/images/series/{j2k.series_uid}").get_data(
        as_text=True
    )
    assert "cannot be decoded" in page


def test_viewer_page(app, db_session, client, login, people, case, loaded):
    login(client, people["nap_member"])
    html = client.get(f"/cases/{case.reference}/images/series/{loaded['series']}").get_data(
        as_text=True
    )
    assert 'data-count="4"' in html and "viewer.js" in html and "CT chest" in html
    for preset in ("soft", "lung", "bone", "brain"):
        assert f'data-preset="{preset}"' in html


def test_thumbnail_is_small(app, db_session, client, login, people, case, loaded):
    login(client, people["referrer"])
    img = _png(
        client.get(f"/cases/{case.reference}/images/files/{loaded['ct'][0].id}/preview.png?size=32")
    )
    assert max(img.shape[:2]) <= 32


def test_download_is_an_attachment_and_audited(
    app, db_session, client, login, people, case, loaded
):
    login(client, people["nap_member"])
    resp = client.get(f"/cases/{case.reference}/images/files/{loaded['ct'][0].id}/download")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.data[128:132] == b"DICM"


@pytest.mark.parametrize(
    "who,status", [("other_referrer", 404), ("admin", 404), ("north_coordinator", 404)]
)
def test_outsiders_see_nothing(app, db_session, client, login, people, case, loaded, who, status):
    login(client, people[who])
    f = loaded["ct"][0]
    assert client.get(f"/cases/{case.reference}/images/files/{f.id}/download").status_code == status
    assert (
        client.get(f"/cases/{case.reference}/images/series/{f.series_uid}/frames/0.png").status_code
        == status
    )
    assert client.get(f"/cases/{case.reference}/images").status_code == status


def test_held_back_files_only_for_coordinators(
    app, db_session, client, login, people, case, loaded
):
    """Are held-back files hidden from panel members and the referrer, but shown to coordinators?"""
    sc = loaded["sc"]
    urls = [
        f"/cases/{case.reference}/images/files/{sc.id}/download",
        f"/cases/{case.reference}/images/files/{sc.id}/preview.png",
        f"/cases/{case.reference}/images/series/{sc.series_uid}/frames/0.png",
    ]
    for who in ("nap_member", "referrer"):
        client = app.test_client()
        login(client, people[who])
        assert [client.get(u).status_code for u in urls] == [404, 404, 404]
        html = client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
        # The referrer who uploaded it is told it awaits review; the panel does not see it listed.
        assert ("awaiting review" in html) is (who == "referrer")
    client = app.test_client()
    login(client, people["nap_coordinator"])
    assert [client.get(u).status_code for u in urls] == [200, 200, 200]


def test_frames_are_cached_on_disk(app, db_session, client, login, people, case, loaded):
    login(client, people["nap_member"])
    url = f"/cases/{case.reference}/images/series/{loaded['series']}/frames/2.png?preset=bone"
    first = client.get(url).data
    storage = app.extensions["panel_storage"]
    assert list(storage.cache.rglob("*.png"))
    assert client.get(url).data == first


def test_export_zip_for_the_referrer(app, db_session, client, login, people, case, loaded):
    """Does the referrer's export hold the case summary and the released images only?"""
    import json
    import zipfile

    login(client, people["referrer"])
    resp = client.get(f"/cases/{case.reference}/images/export.zip")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    names = zf.namelist()
    assert json.loads(zf.read("case.json"))["reference"] == case.reference
    assert (
        len([n for n in names if n.endswith(".dcm")]) == 5
    )  # 4 CT + J2K; the held-back SC is left out
    assert not list((app.extensions["panel_storage"].tmp).iterdir())


def test_panel_member_cannot_export(app, db_session, client, login, people, case, loaded):
    login(client, people["nap_member"])
    assert client.get(f"/cases/{case.reference}/images/export.zip").status_code == 403


def test_multiframe_file_gives_one_viewer_image_per_frame(
    app, db_session, client, login, people, case, upload, tmp_path
):
    """Does a multi-frame file (as nuclear medicine sends) show each frame in the viewer?"""
    ct = synth.make_ct_series(tmp_path / "mf", 1, rows=16, cols=16, noise=False, seed=3)
    ds = pydicom.dcmread(ct.paths[0])
    arr = ds.pixel_array
    ds.NumberOfFrames = 3
    ds.PixelData = np.stack([arr, arr + 300, arr + 600]).astype(arr.dtype).tobytes()
    ds.save_as(tmp_path / "mf.dcm")
    login(client, people["referrer"])
    assert (
        upload(client, case, [("mf.dcm", tmp_path / "mf.dcm")]).get_json()["counts"]["stored"] == 1
    )
    f = db.session.scalar(select(StoredFile).where(StoredFile.case_id == case.id))
    assert f.frames == 3
    html = client.get(f"/cases/{case.reference}/images/series/{f.series_uid}").get_data(
        as_text=True
    )
    assert 'data-count="3"' in html
    base = f"/cases/{case.reference}/images/series/{f.series_uid}/frames"
    frames = [_png(client.get(f"{base}/{n}.png?preset=bone")) for n in range(3)]
    assert frames[0].mean() < frames[1].mean() < frames[2].mean()
    assert client.get(f"{base}/3.png").status_code == 404
