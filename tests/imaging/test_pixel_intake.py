"""Issue 17, part 1: the pixel text step in every intake (uploads, ``flask --app panel
deidentify``). OCR really runs here, on small synthetic images (about 1-2 s each), so the file
is kept to a few images: an upload with every kind at once (both backends), then the pure
pipeline on compressed and multi-frame DICOM, the CLI's report and Tesseract missing."""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, RLELossless
from sqlalchemy import select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging import pixelstep, pixeltext
from panel.imaging.deid import DeidConfig, deidentify_file, verify_file
from panel.imaging.models import FileStatus
from panel.imaging.pixelstep import HOLD_MISSING, PixelStep
from tests.support import burned_text as bt
from tests.support import synth
from tests.support.data import stored_files

#: The synthetic patient of tests.support.synth (``_common_patient``).
PATIENT = "Example^Child"
NAME_TEXT = "EXAMPLE CHILD"
NHS_TEXT = "NHS No: 943 476 5919"
SECRETS = ["EXAMPLE", "Example", "CHILD", "Child", "943 476 5919", "9434765919"]
CONFIG = DeidConfig.for_case(b"pixel-intake-test-secret-0123456789", "PNL-TEST-17")


@pytest.fixture(autouse=True)
def _need_tesseract():
    if shutil.which("tesseract"):
        return
    if os.geteuid() == 0:
        pytest.fail("tesseract (tesseract-ocr) is missing although we are root: run `make test`")
    pytest.skip("tesseract (tesseract-ocr) is not installed")


# --------------------------------------------------------------------------- images
def _frame(text: str | None = None, *, seed: int = 3, xy=(6, 4), size: int = 16) -> np.ndarray:
    """A 320 x 240 grey ultrasound-like frame, ``text`` burned in at its top left."""
    img = bt.ultrasound(320, 240, seed=seed)
    if text:
        bt.draw(img, text, xy, size=size)
    return np.asarray(img.convert("L"))


def _us_dicom(path, frames: list[np.ndarray], *, ts: str | None = None, burned_in=None):
    """A US image (multi-frame when several frames) of the synthetic patient; uncompressed,
    RLE or JPEG baseline."""
    synth.make_ultrasound(path, burned_in=burned_in)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = frames[0].shape
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = np.stack(frames).tobytes()
    if ts == RLELossless:
        ds.compress(RLELossless)
    elif ts == JPEGBaseline8Bit:
        parts = []
        for f in frames:
            buf = io.BytesIO()
            Image.fromarray(f).save(buf, format="JPEG", quality=92)
            parts.append(buf.getvalue())
        ds.PixelData = encapsulate(parts)
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.save_as(path, enforce_file_format=True)
    return path


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _scanned_pdf(text: str | None) -> bytes:
    """A PDF whose only page is an image (no text layer): a scanned letter."""
    img = Image.new("L", (600, 300), 255)
    if text:
        bt.draw(img, text, (40, 120), size=28, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PDF", resolution=100)
    return buf.getvalue()


def _outside(boxes, shape) -> np.ndarray:
    keep = np.ones(shape[:2], bool)
    for x, y, w, h in boxes:
        keep[y : y + h, x : x + w] = False
    return keep


def _no_secret(text: str) -> None:
    for s in SECRETS:
        assert s not in text, s


# --------------------------------------------------------------------------- upload
def test_upload_reads_every_image_and_masks_holds_or_stores(
    app, db_session, client, login, people, make_case, upload, tmp_path
):
    """One upload of every kind: a US with the child's name burned in is masked (pixels outside
    the boxes identical, BurnedInAnnotation NO, verification passes); one with text the step
    cannot place is held with its proposed boxes; innocent labels and plain images are stored
    untouched; a CT slice is not read; PNG and scanned PDFs go through the same step."""
    case = make_case(people["referrer"])
    login(client, people["referrer"])
    name = _frame(NAME_TEXT)
    _us_dicom(tmp_path / "name.dcm", [name])
    _us_dicom(tmp_path / "unsure.dcm", [_frame("BANANA OCTOPUS", seed=4)])
    _us_dicom(tmp_path / "innocent.dcm", [_frame("LT KIDNEY SAG 5.0 MHz", seed=5)])
    ct = synth.make_ct_series(tmp_path / "ct", 1, rows=32, cols=32).paths[0]
    png_pixels = np.asarray(bt.ultrasound(320, 240, seed=6).convert("RGB")).copy()
    img = Image.fromarray(png_pixels)
    bt.draw(img, NHS_TEXT, (6, 4), size=16)
    png_pixels = np.asarray(img)
    files = [
        ("name.dcm", tmp_path / "name.dcm"),
        ("unsure.dcm", tmp_path / "unsure.dcm"),
        ("innocent.dcm", tmp_path / "innocent.dcm"),
        ("ct.dcm", ct),
        ("banner.png", _png(png_pixels)),
        ("plain.png", _png(_frame(seed=7))),
        ("scan.pdf", _scanned_pdf(NHS_TEXT)),
        ("blank-scan.pdf", _scanned_pdf(None)),
    ]
    resp = upload(client, case, files, label="Ultrasound")
    assert resp.status_code == 200
    body = resp.get_json()
    _no_secret(resp.get_data(as_text=True))
    out = {f["name"]: f for f in body["files"]}
    rows = {f.display_name: f for f in stored_files(case)}
    storage = app.extensions["panel_storage"]

    # identifying text: masked, the rest of the image untouched
    masked = rows["name.dcm"]
    assert masked.status == FileStatus.STORED and masked.pixel_text == "masked"
    assert (
        out["name.dcm"]["reason"].startswith("stored, ")
        and "of text masked" in (out["name.dcm"]["reason"])
    )
    assert out["name.dcm"]["pixel_text"] == "masked" and out["name.dcm"]["boxes"] >= 1
    boxes = masked.proposed_boxes
    assert boxes and all(len(b) == 4 for b in boxes)
    path = storage.path(masked.storage_key)
    ds = pydicom.dcmread(path)
    assert ds.BurnedInAnnotation == "NO"
    after = ds.pixel_array
    keep = _outside(boxes, name.shape)
    assert np.array_equal(after[keep], name[keep]) and not after[~keep].any()
    assert not np.array_equal(after, name)
    problems = verify_file(path, [], [], [], patient_names=[PATIENT], case_reference=case.reference)
    assert problems == []

    # unsure: held back with the proposed mask and a reason by kind and position
    held = rows["unsure.dcm"]
    assert held.status == FileStatus.HELD_BACK and held.pixel_text == "held"
    assert held.proposed_boxes and held.hold_reason.startswith("held back: text in the image")
    assert "BANANA" not in held.hold_reason and "OCTOPUS" not in held.hold_reason

    # innocent annotations and a CT slice: stored untouched
    innocent = rows["innocent.dcm"]
    assert innocent.status == FileStatus.STORED and innocent.pixel_text == "innocent"
    stored = pydicom.dcmread(storage.path(innocent.storage_key))
    assert stored.BurnedInAnnotation == "NO"
    assert stored.PixelData == pydicom.dcmread(tmp_path / "innocent.dcm").PixelData
    assert rows["ct.dcm"].pixel_text == "skipped" and rows["ct.dcm"].status == FileStatus.STORED

    # PNG: the NHS number masked (or held); a plain PNG stored
    png = rows["banner.png"]
    assert png.pixel_text in ("masked", "held") and png.proposed_boxes
    if png.pixel_text == "masked":
        with Image.open(storage.path(png.storage_key)) as im:
            got = np.asarray(im)
        keep = _outside(png.proposed_boxes, png_pixels.shape)
        assert np.array_equal(got[keep], png_pixels[keep]) and not got[~keep].any()
    else:
        assert png.status == FileStatus.HELD_BACK
    assert rows["plain.png"].status == FileStatus.STORED and rows["plain.png"].pixel_text == "clean"

    # scanned PDFs: their text read and put through the guard, as a text layer's would be
    assert rows["scan.pdf"].status == FileStatus.HELD_BACK and rows["scan.pdf"].pixel_text == "held"
    assert "nhs number" in rows["scan.pdf"].hold_reason.lower()
    assert rows["blank-scan.pdf"].status == FileStatus.STORED
    assert rows["blank-scan.pdf"].pixel_text == "clean"

    # the audit counts what was masked and held, never what was read
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "imaging.upload")
    ).all()[-1]
    details = entry.details
    assert details["masked"] == 1 + (png.pixel_text == "masked")
    assert details["pixel_text"]["skipped"] == 1 and details["pixel_text"]["held"] >= 2
    _no_secret(str(details))
    html = client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    _no_secret(html)


def test_upload_page_shows_masked_files_distinctly(
    app, db_session, client, login, people, make_case, upload, tmp_path
):
    case = make_case(people["referrer"])
    login(client, people["referrer"])
    _us_dicom(tmp_path / "name.dcm", [_frame(NAME_TEXT)])
    resp = upload(client, case, [("name.dcm", tmp_path / "name.dcm")], as_json=False)
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="result-masked"' in html and "1 with text masked in the image" in html
    assert "box of text masked" in html or "boxes of text masked" in html
    _no_secret(html)


# --------------------------------------------------------------------------- pipeline
@pytest.mark.parametrize("ts", [RLELossless, JPEGBaseline8Bit], ids=["rle", "jpeg-baseline"])
def test_compressed_images_are_masked_and_written_uncompressed(tmp_path, ts):
    frame = _frame(NAME_TEXT)
    src = _us_dicom(tmp_path / "in.dcm", [frame], ts=ts)
    before = pydicom.dcmread(src).pixel_array
    result = deidentify_file(src, tmp_path / "out.dcm", CONFIG)
    assert result.status == "stored" and result.pixel_text == "masked", result.reason
    assert result.transfer_syntax == "1.2.840.10008.1.2.1"
    ds = pydicom.dcmread(tmp_path / "out.dcm")
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.BurnedInAnnotation == "NO" and ds.PhotometricInterpretation == "MONOCHROME2"
    after = ds.pixel_array
    keep = _outside(result.boxes, frame.shape)
    assert np.array_equal(after[keep], before[keep]) and not after[~keep].any()


def test_multiframe_cine_is_masked_in_every_frame(tmp_path):
    """A cine: a few frames are read (first, middle, last; the unchanged banner is not read
    again), the boxes put together and filled in every frame."""
    frames = [_frame(NAME_TEXT, seed=20 + i) for i in range(5)]
    src = _us_dicom(tmp_path / "cine.dcm", frames)
    step = PixelStep()
    result = deidentify_file(src, tmp_path / "out.dcm", CONFIG, pixel_step=step)
    assert result.status == "stored" and result.pixel_text == "masked", result.reason
    assert step.frames_read + step.frames_partly_read == 3  # first, middle, last of 5
    after = pydicom.dcmread(tmp_path / "out.dcm").pixel_array
    assert after.shape == (5, 240, 320)
    keep = _outside(result.boxes, frames[0].shape)
    for i, f in enumerate(frames):
        assert np.array_equal(after[i][keep], f[keep]) and not after[i][~keep].any()


def test_reuse_reads_again_whatever_changed(tmp_path):
    """The second frame repeats the first's banner but shows a name where the first had
    none: the reading of the unchanged banner is reused and the name is still found."""
    step = PixelStep()
    first = _frame("LT KIDNEY", seed=30)
    second = first.copy()
    img = Image.fromarray(second)
    bt.draw(img, NAME_TEXT, (200, 215), size=14, fill=255)
    second = np.asarray(img)
    assert step.check([first], header_values=[PATIENT]).verdict == "innocent"
    found = step.check([second], header_values=[PATIENT])
    assert step.frames_partly_read == 1 and step.frames_read == 1
    assert found.verdict in ("masked", "held")
    assert any(b[1] >= 195 and b[0] >= 175 for b in found.boxes)
    again = step.check([second], header_values=[PATIENT])
    assert step.frames_reused == 1 and again.verdict == found.verdict


def test_ct_slices_are_not_read(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pixeltext, "_ocr", lambda grey: calls.append(1) or [])
    series = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
    for i, path in enumerate(series.paths):
        result = deidentify_file(path, tmp_path / f"out{i}.dcm", CONFIG)
        assert result.status == "stored" and result.pixel_text == "skipped"
    assert calls == []
    assert pixelstep.dicom_needs_ocr(modality="CT", sop_class="", image_type="DERIVED\\SECONDARY")
    assert pixelstep.dicom_needs_ocr(modality="MR", sop_class="", has_overlay=True)
    assert pixelstep.dicom_needs_ocr(modality="NM", sop_class="")
    assert not pixelstep.dicom_needs_ocr(modality="PT", sop_class="", burned_in="NO")


def test_tesseract_missing_holds_images_back(tmp_path, monkeypatch):
    monkeypatch.setattr(pixeltext, "tesseract_available", lambda: False)
    src = synth.make_ultrasound(tmp_path / "us.dcm")
    result = deidentify_file(src, tmp_path / "out.dcm", CONFIG)
    assert result.status == "held_back" and result.reason == HOLD_MISSING
    assert result.pixel_text == "held"
    from panel.imaging import documents

    (tmp_path / "scan.pdf").write_bytes(_scanned_pdf(None))
    pdf = documents.clean_pdf(tmp_path / "scan.pdf", tmp_path / "scan-out.pdf")
    assert pdf.status == "held_back" and pdf.pixel_text == "held"
    (tmp_path / "a.png").write_bytes(_png(_frame(seed=8)))
    png = documents.clean_image(tmp_path / "a.png", tmp_path / "b.png", "png")
    assert png.status == "held_back" and png.reason == HOLD_MISSING


def test_cli_reports_every_file(app, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _us_dicom(src / "name.dcm", [_frame(NAME_TEXT)])
    _us_dicom(src / "unsure.dcm", [_frame("BANANA OCTOPUS", seed=4)])
    synth.make_ct_series(src / "ct", 1, rows=16, cols=16)
    (src / "notes.txt").write_text("not a scan")
    dst = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["deidentify", str(src), str(dst)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("stored, ") and "of text masked: name.dcm:" in line for line in lines
    ), lines
    assert any(
        line.startswith("held back for review: unsure.dcm: held back: text") for line in lines
    )
    assert any(line.startswith("stored: ct/") for line in lines)
    assert any(line.startswith("refused: notes.txt:") for line in lines)
    assert "2 stored (1 with text masked in the image), 1 held back" in result.stderr
    written = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert "unsure.dcm" not in written and "name.dcm" in written
    assert (tmp_path / "out.held" / "unsure.dcm").exists()
    _no_secret(result.output)


def test_text_that_cannot_be_masked_is_held_with_its_boxes(tmp_path, monkeypatch):
    from panel.imaging import deid

    def check(self, frames, *, header_values=()):
        return pixelstep.PixelOutcome("masked", [(1, 1, 10, 6)], ["Header value-shaped text"])

    def cannot(ds, ts, boxes):
        raise deid._Refusal("the text found in the pixels cannot be masked in this pixel format")

    monkeypatch.setattr(pixelstep.PixelStep, "check", check)
    monkeypatch.setattr(deid, "_write_masked", cannot)
    src = synth.make_ultrasound(tmp_path / "us.dcm")
    result = deidentify_file(src, tmp_path / "out.dcm", CONFIG, held_path=tmp_path / "held.dcm")
    assert result.status == "held_back" and result.reason == deid.HOLD_NOT_MASKED
    assert result.pixel_text == "held" and result.boxes == ((1, 1, 10, 6),)
    assert (tmp_path / "held.dcm").exists() and not (tmp_path / "out.dcm").exists()
