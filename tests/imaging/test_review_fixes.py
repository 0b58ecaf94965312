"""Fixes from the imaging security review: PDF annotations are scanned and removed; DICOM
files that would decode to gigabytes are refused before any decoding."""

from __future__ import annotations

from pathlib import Path

from panel.imaging import documents


def _pdf_with_annotation(path: Path, text: str) -> None:
    from pypdf import PdfWriter
    from pypdf.annotations import FreeText
    from pypdf.generic import RectangleObject

    writer = PdfWriter()
    writer.add_blank_page(width=300, height=300)
    writer.add_annotation(
        page_number=0, annotation=FreeText(text=text, rect=RectangleObject((10, 10, 200, 50)))
    )
    with open(path, "wb") as fh:
        writer.write(fh)


def test_identifier_in_a_pdf_annotation_holds_the_pdf_back(tmp_path):
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    _pdf_with_annotation(src, "Patient NHS number 943 476 5919")
    result = documents.clean_pdf(src, dst)
    assert result.status == "held_back"
    assert b"/Annots" not in dst.read_bytes()


def test_clean_annotation_is_removed_but_pdf_stored(tmp_path):
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    _pdf_with_annotation(src, "Reviewed at the tumour board")
    result = documents.clean_pdf(src, dst)
    assert result.status == "stored"
    assert b"/Annots" not in dst.read_bytes()


def test_render_refuses_images_that_would_decode_too_large(tmp_path, monkeypatch):
    import pytest

    from panel.imaging import render
    from tests.support import synth

    synth.make_ct_series(tmp_path / "s", 1, rows=64, cols=64)
    path = next((tmp_path / "s").iterdir())
    monkeypatch.setattr(render, "MAX_DECODED_VALUES", 64 * 63)
    with pytest.raises(render.CannotDecode):
        render.frame_array(path)


def test_panel_members_do_not_see_held_back_files_listed(
    app, client, db_session, make_user, login, make_case, tmp_path, pixel_text_unsure
):
    from tests.support import synth
    from tests.support.web import csrf_token

    referrer = make_user(referrer_at="NEWCASTLE")
    case = make_case(referrer)
    login(client, referrer)
    sc = tmp_path / "capture.dcm"
    synth.make_secondary_capture(sc)
    with sc.open("rb") as fh:
        resp = client.post(
            f"/cases/{case.reference}/images/upload",
            data={
                "csrf_token": csrf_token(app, client),
                "label": "Screen capture",
                "files": [(fh, "capture.dcm")],
            },
            headers={"Accept": "application/json"},
            content_type="multipart/form-data",
        )
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)[:300]
    member = make_user(roles=[("NAP", "member")])
    c2 = app.test_client()
    login(c2, member)
    html = c2.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert "Screen capture" not in html
