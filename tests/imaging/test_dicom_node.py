"""Panel's DICOM node against dcmtk's storescu and echoscu (issue 19)."""

from __future__ import annotations

import subprocess

import pydicom
import pytest
from sqlalchemy import select

from panel.core.db import db
from panel.imaging import routing
from panel.imaging.models import StoredFile, Upload
from panel.imaging.netmodels import IncomingStudy
from tests.support import synth
from tests.support.dicomnode import need, start_node, storescu, wait_for

pytestmark = pytest.mark.multiprocess

ACCESSION = "RVI20261206"


@pytest.fixture
def node(backend, tmp_path):
    yield from start_node(backend, tmp_path)


def _study(tmp_path, n=6):
    series = synth.make_ct_series(tmp_path / "ct", n, rows=32, cols=32)
    for p in series.paths:
        ds = pydicom.dcmread(p)
        ds.AccessionNumber = ACCESSION
        ds.save_as(p)
    return list(series.paths)


def test_echo_from_a_recorded_sender_and_refusal_of_others(node):
    exe = need("echoscu")
    ok = subprocess.run(
        [exe, "-aet", "HOSP_PACS", "-aec", node.ae_title, "127.0.0.1", str(node.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(
        [exe, "-aet", "STRANGER", "-aec", node.ae_title, "127.0.0.1", str(node.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stderr + refused.stdout


def test_a_study_sent_by_storescu_arrives_de_identified_in_its_case(node, tmp_path):
    from panel.accounts.models import User
    from panel.cases.models import Case

    paths = _study(tmp_path)
    with node.app.app_context():
        case = db.session.get(Case, node.case_id)
        user = db.session.get(User, node.referrer_id)
        routing.add_route(case, user, "accession_number", ACCESSION)
        db.session.commit()
    result = storescu(node.port, paths)
    assert result.returncode == 0, result.stderr

    def released():
        with node.app.app_context():
            row = db.session.scalars(select(IncomingStudy)).first()
            upload = db.session.get(Upload, row.upload_id) if row and row.upload_id else None
            done = upload is not None and upload.finished
            db.session.remove()
            return done

    wait_for(released, timeout=60)
    with node.app.app_context():
        row = db.session.scalars(select(IncomingStudy)).one()
        assert row.state == "released" and row.instance_count == len(paths)
        files = db.session.scalars(
            select(StoredFile).where(StoredFile.case_id == node.case_id)
        ).all()
        assert len(files) == len(paths)
        storage = routing.get_storage()
        for f in files:
            ds = pydicom.dcmread(storage.path(f.storage_key))
            assert ds.get("AccessionNumber", "") != ACCESSION
        assert not routing.quarantine_dir(storage, row.id).exists()
