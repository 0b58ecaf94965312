"""Uploads: identifiers in kept DICOM text are emptied before anything is stored (issue 12)."""

from __future__ import annotations

import logging

import pydicom
from sqlalchemy import select

from panel.core.db import db
from panel.imaging.models import StoredFile
from tests.support import synth
from tests.support.data import objects_in


def test_name_and_nhs_number_in_kept_text_never_stored(
    app, db_session, ref_client, case, upload, clean_storage, tmp_path, caplog
):
    """A scanner that wrote the child's name (other order, trailing ^^) and NHS number into
    kept attributes: the file is stored with those attributes empty, the rest intact."""
    path = synth.make_ct_series(tmp_path / "ct", 1, rows=16, cols=16).paths[0]
    ds = pydicom.dcmread(path)
    ds.PatientName = "SMITH^OLIVER^^"
    ds.Manufacturer = "SIEMENS"
    ds.ManufacturerModelName = "Oliver Smith"
    ds.SoftwareVersions = "SMITH^OLIVER"
    ds.ConvolutionKernel = "943 476 5919"
    ds.save_as(path)
    with caplog.at_level(logging.DEBUG):
        resp = upload(ref_client, case, [(path.name, path)], label="CT")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["counts"]["stored"] == 1
    reason = body["files"][0]["reason"]
    assert "ManufacturerModelName" in reason and "patient name" in reason and "NHS number" in reason
    text = resp.get_data(as_text=True) + caplog.text
    assert "Oliver" not in text and "OLIVER" not in text and "943 476" not in text
    rows = list(db.session.scalars(select(StoredFile).where(StoredFile.case_id == case.id)))
    assert len(rows) == 1 and rows[0].status.value == "stored"
    [stored] = objects_in(clean_storage)
    data = stored.read_bytes().upper()
    assert b"OLIVER" not in data and b"SMITH" not in data and b"943 476 5919" not in data
    out = pydicom.dcmread(stored)
    assert out.Manufacturer == "SIEMENS"
    assert not out.ManufacturerModelName and not out.SoftwareVersions and not out.ConvolutionKernel
