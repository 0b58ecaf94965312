"""Uploads through the web: good files, every kind of bad input, limits, duplicates, no orphans."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging.models import Upload
from tests.support import synth
from tests.support.data import objects_in, temps_in
from tests.support.data import pdf_with_info as _pdf
from tests.support.data import stored_files as _files
from tests.support.data import zip_bytes as _zip

NHS_NAME = "scan_9434765919.dcm"  # a valid NHS number (mod 11)


def _by_name(resp):
    return {f["name"]: f for f in resp.get_json()["files"]}


def _png(w=32, h=24, **info) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(buf, format="PNG", **info)
    return buf.getvalue()


def _jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (40, 30), (10, 120, 10))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def _flood_png(w=65535, h=65535) -> bytes:
    """A PNG header claiming w x h pixels (a pixel flood), with a tiny IDAT."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def ct(tmp_path):
    return synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32, plant=True)


# --------------------------------------------------------------------------- good input
def test_series_upload_is_deidentified_and_grouped(
    app, db_session, ref_client, case, ct, upload, clean_storage
):
    """Does a referrer's CT series get stored de-identified, grouped by its new Series UID?"""
    resp = upload(ref_client, case, [(p.name, p) for p in ct.paths], label="CT chest")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["counts"]["stored"] == 3
    rows = _files(case)
    assert len(rows) == 3 and {r.series_uid for r in rows} != {ct.series_uid}
    assert len({r.series_uid for r in rows}) == 1
    assert all(r.modality == "CT" and r.rows == 32 and r.decodable for r in rows)
    assert rows[0].upload.label == "CT chest"
    stored = objects_in(clean_storage)
    assert len(stored) == 3 and not temps_in(clean_storage)
    raw = b"".join(p.read_bytes() for p in stored)
    for marker in ct.markers.forbidden():
        assert marker.encode() not in raw
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "imaging.upload")
        )
        >= 1
    )


def test_zip_of_a_series_and_documents(
    app, db_session, ref_client, case, ct, upload, clean_storage
):
    """Are a zip of a series, a PDF, a PNG and a JPEG accepted and cleaned of metadata?"""
    archive = _zip({f"series/{p.name}": p.read_bytes() for p in ct.paths})
    resp = upload(
        ref_client,
        case,
        [
            ("series.zip", archive),
            ("letter.pdf", _pdf("Tumour board summary")),
            ("photo.jpg", _jpeg_with_exif()),
            ("chart.png", _png(pnginfo=_pnginfo())),
        ],
        label="Relapse",
    )
    assert resp.status_code == 200
    results = _by_name(resp)
    # Photos and screenshots go through the pixel text step (issue 17): without text, stored.
    assert resp.get_json()["counts"] == {
        "stored": 6,
        "held_back": 0,
        "refused": 0,
        "duplicate": 0,
    }, results
    assert results["photo.jpg"]["pixel_text"] == "clean"
    assert results["chart.png"]["pixel_text"] == "clean"
    docs = {r.display_name: r for r in _files(case) if r.kind.value != "dicom"}
    storage = app.extensions["panel_storage"]
    pdf = storage.path(docs["letter.pdf"].storage_key).read_bytes()
    assert b"Secret Author" not in pdf and b"/Author" not in pdf and b"Letter about" not in pdf
    with Image.open(storage.path(docs["photo.jpg"].storage_key)) as img:
        assert not img.getexif() and "exif" not in img.info
    with Image.open(storage.path(docs["chart.png"].storage_key)) as img:
        assert "Author" not in img.info and not img.text


def _pnginfo():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Mother of the child")
    return info


def test_pdf_with_an_identifier_is_held_back(app, db_session, ref_client, case, upload):
    """Is a PDF whose text has an NHS number held back for review (not shown, not refused)?"""
    resp = upload(ref_client, case, [("letter.pdf", _pdf("NHS number 943 476 5919"))])
    f = resp.get_json()["files"][0]
    assert f["status"] == "held_back" and "nhs number" in f["reason"]
    assert _files(case)[0].status.value == "held_back"


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_are_refused_with_reasons(
    app, db_session, ref_client, case, tmp_path, upload, clean_storage
):
    """Is every listed bad input refused (or held back) with a clear reason, and nothing left?"""
    pdf_as_dcm = _pdf("hello")
    ct = synth.make_ct_series(tmp_path / "one", 1, rows=32, cols=32)
    truncated = synth.truncate_file(ct.paths[0], tmp_path / "t.dcm", -500).read_bytes()
    ct2 = synth.make_ct_series(tmp_path / "two", 1, rows=32, cols=32, plant=True, seed=7)
    preamble = ct2.paths[0].read_bytes()
    assert preamble[:2] == b"MZ"  # the planted file has an executable preamble
    j2k = synth.make_jpeg2000_ct(tmp_path / "j2k.dcm").read_bytes()
    sc = synth.make_secondary_capture(tmp_path / "sc.dcm").read_bytes()
    resp = upload(
        ref_client,
        case,
        [
            ("renamed.dcm", pdf_as_dcm),
            ("truncated.dcm", truncated),
            ("preamble.dcm", preamble),
            ("empty.dcm", b""),
            ("flood.png", _flood_png()),
            ("page.png", b"<!doctype html><html><script>alert(1)</script></html>"),
            (NHS_NAME, ct.paths[0].read_bytes()),
            ("j2k.dcm", j2k),
            ("capture.dcm", sc),
            ("encapsulated.dcm", synth.make_encapsulated_pdf(tmp_path / "e.dcm").read_bytes()),
        ],
    )
    assert resp.status_code == 200
    r = _by_name(resp)
    assert r["renamed.pdf"]["status"] == "stored"  # a real PDF: accepted as a document, by content
    assert r["truncated.dcm"]["status"] == "refused"
    assert r["preamble.dcm"]["status"] == "stored"
    assert r["empty.dcm"]["status"] == "refused" and "empty" in r["empty.dcm"]["reason"]
    assert r["flood.png"]["status"] == "refused" and "too large" in r["flood.png"]["reason"]
    assert (
        r["page.png"]["status"] == "refused"
        and "not a DICOM file, PDF, PNG or JPEG" in r["page.png"]["reason"]
    )
    assert "9434765919" not in resp.get_data(as_text=True)
    assert r["file-7"]["status"] == "refused" and "patient identifier" in r["file-7"]["reason"]
    assert r["j2k.dcm"]["status"] == "stored"
    # a secondary capture is read: its pixels (a gradient) hold no text, so it is stored
    assert r["capture.dcm"]["status"] == "stored" and r["capture.dcm"]["pixel_text"] == "clean"
    assert r["j2k.dcm"]["pixel_text"] == "skipped"  # a CT slice: not read
    assert r["encapsulated.dcm"]["status"] == "refused"
    rows = {f.display_name: f for f in _files(case)}
    assert rows["j2k.dcm"].decodable is False
    assert not any("9434765919" in n for n in rows)
    stored = objects_in(clean_storage)
    assert stored[0].read_bytes()[:128] == b"\x00" * 128 or any(
        p.read_bytes()[:128] == b"\x00" * 128 for p in stored
    )
    assert not temps_in(clean_storage)
    assert len(stored) == len(rows)


def test_zip_bomb_is_refused(app, db_session, ref_client, case, upload, clean_storage):
    """Is a zip that would expand enormously refused before anything is extracted?"""
    bomb = _zip({"a.dcm": b"\x00" * (50 * 1024 * 1024)})
    assert len(bomb) < 200_000
    resp = upload(ref_client, case, [("bomb.zip", bomb)])
    f = resp.get_json()["files"][0]
    assert f["status"] == "refused" and "bomb" in f["reason"]
    assert not _files(case) and not objects_in(clean_storage) and not temps_in(clean_storage)


def test_zip_size_limit(app, db_session, ref_client, case, upload, monkeypatch):
    """Is a zip refused when its declared uncompressed size exceeds the limit?"""
    monkeypatch.setitem(app.config, "IMAGING_ZIP_MAX_UNCOMPRESSED", 1000)
    resp = upload(
        ref_client,
        case,
        [("big.zip", _zip({"a.bin": b"x" * 2000}, compression=zipfile.ZIP_STORED))],
    )
    assert "expand" in resp.get_json()["files"][0]["reason"]


@pytest.mark.parametrize("entry", ["../evil.dcm", "/etc/evil.dcm", "a/../../evil.dcm"])
def test_zip_with_escaping_entries_is_refused(app, db_session, ref_client, case, upload, entry):
    """Are zips with ``..`` or absolute entries refused as a whole?"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.png", _png())
        info = zipfile.ZipInfo("x")
        info.filename = entry  # bypass the writer's normalisation
        zf.writestr(info, _png(10, 10))
    resp = upload(ref_client, case, [("series.zip", buf.getvalue())])
    files = resp.get_json()["files"]
    assert len(files) == 1 and files[0]["status"] == "refused"
    assert not _files(case)


def test_zip_with_a_symlink_is_refused(app, db_session, ref_client, case, upload):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link.dcm")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    resp = upload(ref_client, case, [("series.zip", buf.getvalue())])
    assert "link" in resp.get_json()["files"][0]["reason"]


def test_too_many_files(app, db_session, ref_client, case, upload, monkeypatch):
    """Is a request with more files than the limit refused as a whole, with nothing stored?"""
    monkeypatch.setitem(app.config, "IMAGING_MAX_FILES", 2)
    resp = upload(ref_client, case, [(f"f{i}.png", _png()) for i in range(3)])
    assert resp.status_code == 413 and "too many" in resp.get_json()["error"]
    resp = upload(ref_client, case, [("a.zip", _zip({f"f{i}.png": _png(8 + i) for i in range(3)}))])
    assert resp.status_code == 413
    assert not _files(case)


def test_request_size_limit(app, db_session, ref_client, case, upload, monkeypatch):
    monkeypatch.setitem(app.config, "IMAGING_MAX_REQUEST", 10_000)
    resp = upload(ref_client, case, [("a.png", b"\x89PNG" + b"0" * 20_000)])
    assert resp.status_code == 413
    assert not _files(case)


def test_same_series_twice_makes_no_duplicates(app, db_session, ref_client, case, ct, upload):
    """Does uploading the same series again (and twice in one request) store each slice once?"""
    files = [(p.name, p) for p in ct.paths]
    upload(ref_client, case, files)
    resp = upload(ref_client, case, files + files)
    assert resp.get_json()["counts"]["duplicate"] == 6
    assert len(_files(case)) == 3


def test_a_file_that_keeps_failing_is_reported_and_the_rest_stored(
    app, db_session, ref_client, case, ct, upload, clean_storage, monkeypatch
):
    """When one file's job fails every attempt, is that file reported (not lost), the others
    stored, no temporary or spooled file left, and one audit entry for the upload?"""
    from panel.imaging import ingest

    real = ingest.process_one
    calls: dict[str, int] = {}

    def flaky(case_, upload_, path, display, **kwargs):
        calls[display] = calls.get(display, 0) + 1
        if display == ct.paths[1].name:
            raise RuntimeError("disk on fire")
        return real(case_, upload_, path, display, **kwargs)

    monkeypatch.setattr(ingest, "process_one", flaky)
    resp = upload(ref_client, case, [(p.name, p) for p in ct.paths] + [("x.png", _png())])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["state"] == "done" and body["done"] == body["total"] == 4
    r = _by_name(resp)
    failing = ct.paths[1].name
    assert calls[failing] == 3  # tried max_attempts times, then reported
    assert r[failing]["status"] == "refused" and "could not be checked" in r[failing]["reason"]
    assert "disk on fire" not in resp.get_data(as_text=True)
    assert body["counts"] == {"stored": 3, "held_back": 0, "refused": 1, "duplicate": 0}
    assert len(_files(case)) == 3
    assert len(objects_in(clean_storage)) == 3 and not temps_in(clean_storage)
    up = db.session.scalar(select(Upload).where(Upload.case_id == case.id))
    assert up.finished and up.stored_count == 3 and up.refused_count == 1
    assert _audit_count("imaging.upload") == 1


def test_a_file_that_fails_once_is_stored_once(
    app, db_session, ref_client, case, ct, upload, clean_storage, monkeypatch
):
    """A job that dies after storing its object but before its commit is retried: is the
    file then stored exactly once (one row, one object, one audit entry)?"""
    from panel.core.db import db as real_db
    from panel.imaging import ingest

    real = ingest.process_one
    failed: list[str] = []

    def dies_after_storing(case_, upload_, path, display, **kwargs):
        outcome = real(case_, upload_, path, display, **kwargs)
        if not failed:
            failed.append(display)
            real_db.session.flush()
            raise RuntimeError("killed after storing")
        return outcome

    monkeypatch.setattr(ingest, "process_one", dies_after_storing)
    resp = upload(ref_client, case, [(p.name, p) for p in ct.paths])
    body = resp.get_json()
    assert body["counts"] == {"stored": 3, "held_back": 0, "refused": 0, "duplicate": 0}
    assert len(_files(case)) == 3 and len(objects_in(clean_storage)) == 3
    assert not temps_in(clean_storage)
    assert _audit_count("imaging.upload") == 1


def test_commit_failure_removes_stored_objects(
    app, db_session, ref_client, case, ct, upload, clean_storage, monkeypatch
):
    """If the request's commit fails after its files were received, is nothing left: no rows,
    no objects, no spooled files (no job runs for a transaction that did not commit)?"""
    from panel.core.db import db as real_db

    def boom():
        raise RuntimeError("database went away")

    monkeypatch.setattr(real_db.session, "commit", boom)
    with pytest.raises(RuntimeError):
        upload(ref_client, case, [(p.name, p) for p in ct.paths])
    monkeypatch.undo()
    assert not objects_in(clean_storage) and not temps_in(clean_storage)


def test_client_abort_half_way(app, db_session, ref_client, case, clean_storage):
    """A client that disconnects half-way: a 400, no rows, no files."""
    from tests.support.web import csrf_token

    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token(app, ref_client)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.dcm"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"\x00" * 700_000
    resp = ref_client.post(
        f"/cases/{case.reference}/images/upload",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body) + 1_000_000,
    )
    assert resp.status_code == 400
    assert not _files(case) and not objects_in(clean_storage) and not temps_in(clean_storage)


# --------------------------------------------------------------------------- permissions
@pytest.mark.parametrize(
    "who,status",
    [
        ("other_referrer", 404),
        ("admin", 404),
        ("nap_member", 403),
        ("north_coordinator", 404),
    ],
)
def test_who_may_not_upload(app, db_session, client, login, people, case, upload, who, status):
    """Are uploads refused for people who cannot see the case (404) or may not upload (403)?"""
    login(client, people[who])
    resp = upload(client, case, [("a.png", _png())])
    assert resp.status_code == status
    assert not _files(case)


def test_coordinator_may_upload_and_html_results(
    app, db_session, client, login, people, case, upload
):
    login(client, people["nap_coordinator"])
    resp = upload(client, case, [("a.png", _png()), ("b.txt", b"hello")], as_json=False)
    assert resp.status_code == 303  # to the upload's page (post, redirect, get)
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "stored" in html and "refused" in html and "b.txt" in html
    assert 'data-state="done"' in html and "hx-trigger" not in html  # finished: no polling


def test_referrer_cannot_upload_to_a_withdrawn_case(
    app, db_session, client, login, people, case, upload
):
    from panel.cases import operations

    operations.withdraw_case(case, by=people["referrer"])
    db_session.commit()
    login(client, people["referrer"])
    assert upload(client, case, [("a.png", _png())]).status_code == 403


def test_upload_needs_csrf(app, db_session, ref_client, case):
    resp = ref_client.post(
        f"/cases/{case.reference}/images/upload",
        data={"files": [(io.BytesIO(_png()), "a.png")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert not _files(case)


def test_label_with_identifier_is_refused(app, db_session, ref_client, case, upload):
    resp = upload(ref_client, case, [("a.png", _png())], label="CT for NHS 943 476 5919")
    assert resp.status_code == 422
    assert not _files(case)


def test_label_with_a_nul_is_refused(app, db_session, ref_client, case, upload):
    """A NUL in the label was a server error on PostgreSQL (text cannot hold it): 422."""
    resp = upload(ref_client, case, [("a.png", _png())], label="CT\x00 chest")
    assert resp.status_code == 422 and "control characters" in resp.get_json()["error"]
    assert not _files(case)


def test_images_page_lists_series_and_documents(app, db_session, ref_client, case, ct, upload):
    upload(ref_client, case, [(p.name, p) for p in ct.paths], label="CT chest")
    upload(ref_client, case, [("letter.pdf", _pdf("Summary"))])
    html = ref_client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert "3 slices" in html and "CT chest" in html and "letter.pdf" in html
    assert "webkitdirectory" in html and "uploader.js" in html
    assert "<script>" not in html.replace("<script src", "")


def test_case_page_partial(app, db_session, client, login, people, case):
    """Does the case-page card offer the upload form to the referrer but not to a panel member?"""
    login(client, people["referrer"])
    html = client.get(f"/cases/{case.reference}/images/_partial").get_data(as_text=True)
    assert "data-uploader" in html and 'id="images"' in html
    other = app.test_client()
    login(other, people["nap_member"])
    html = other.get(f"/cases/{case.reference}/images/_partial").get_data(as_text=True)
    assert "data-uploader" not in html


def test_case_slot_template_renders(app, db_session, case):
    from flask import render_template

    with app.test_request_context():
        html = render_template("imaging/_case_slot.html", case=case)
    assert f"/cases/{case.reference}/images/_partial" in html and "uploader.js" in html


def test_identifying_folder_names_are_refused_and_never_logged(
    app, db_session, ref_client, case, ct, upload, caplog
):
    """Are files inside a folder (or zip folder) named after the child refused, the name unlogged?"""
    archive = _zip({f"Oliver_Smith/{p.name}": p.read_bytes() for p in ct.paths[:1]})
    resp = upload(
        ref_client, case, [("9434765919/IM00002.dcm", ct.paths[1]), ("series.zip", archive)]
    )
    files = resp.get_json()["files"]
    assert [f["status"] for f in files] == ["refused", "refused"]
    body = resp.get_data(as_text=True)
    assert "Oliver" not in body and "9434765919" not in body
    assert "Oliver" not in caplog.text and "9434765919" not in caplog.text
    assert not _files(case)


def test_truncated_png_and_jpeg_are_refused(app, db_session, ref_client, case, upload):
    png = _png(64, 64)
    jpeg = _jpeg_with_exif()
    resp = upload(ref_client, case, [("a.png", png[: len(png) // 2]), ("b.jpg", jpeg[:200])])
    assert [f["status"] for f in resp.get_json()["files"]] == ["refused", "refused"]


def test_truncated_images_are_refused_even_after_weasyprint_is_imported(
    app, db_session, ref_client, case, upload
):
    """WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES when imported: is a truncated PNG
    still refused afterwards?"""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what importing WeasyPrint does
    png = _png(64, 64)
    resp = upload(ref_client, case, [("a.png", png[: len(png) // 2])])
    assert [f["status"] for f in resp.get_json()["files"]] == ["refused"]


def _audit_count(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )
