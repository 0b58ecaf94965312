"""A real hospital PACS (Debian's Orthanc) pushing studies to Panel's DICOM node (issue 19).

Orthanc runs as a subprocess with its own configuration (tests/support/orthanc.py) and knows
Panel's node, running in this process on SQLite or PostgreSQL (tests/support/dicomnode.py), as
its modality ``panel``. Each study is stored in Orthanc over its REST API, then pushed with
``POST /modalities/panel/store``: Orthanc is the C-STORE SCU, as a hospital's PACS would be.
The planted study is the one uploads are checked with (tests/support/leaks.py): 0 leaks.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pydicom
import pytest
from sqlalchemy import select

from panel.core.db import db, utcnow
from panel.core.models import AuditEntry
from panel.imaging import routing
from panel.imaging.models import StoredFile, Upload
from panel.imaging.netmodels import IncomingStudy
from tests.support import synth
from tests.support.dicomnode import start_node, storescu, wait_for
from tests.support.leaks import leaks, leaks_in_text
from tests.support.orthanc import OrthancError, start_orthanc

pytestmark = pytest.mark.multiprocess

PACS_AE = "RVI_PACS"
PATIENT_ID = "RVI7654321"
ACCESSION = "RVI20261207"


@pytest.fixture
def node(backend, tmp_path):
    yield from start_node(backend, tmp_path / "panel")


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """One Orthanc for the module (it takes seconds to stop), as the hospital's PACS."""
    yield from start_orthanc(
        tmp_path_factory.mktemp("pacs"), panel_ae="PANEL_TEST", panel_port=1, ae_title=PACS_AE
    )


@pytest.fixture
def pacs(orthanc, node):
    """Orthanc (AE title RVI_PACS) holding no study, with this test's node as ``panel``."""
    orthanc.clear()
    orthanc.point_at(node.ae_title, node.port)
    return orthanc


def _record_pacs(node) -> None:
    """What Panel's admin does: ``flask dicom-ae add NEWCASTLE RVI_PACS --network ...``
    (the network Orthanc really calls from)."""
    from panel.accounts.models import Centre
    from panel.imaging.netcli import add_sender

    with node.app.app_context():
        centre = db.session.get(Centre, node.centre_id)
        add_sender(centre, PACS_AE, network="127.0.0.0/8", label="RVI PACS")
        db.session.commit()


def _add_route(node, kind: str, value: str) -> None:
    from panel.accounts.models import User
    from panel.cases.models import Case

    with node.app.app_context():
        case = db.session.get(Case, node.case_id)
        user = db.session.get(User, node.referrer_id)
        routing.add_route(case, user, kind, value)
        db.session.commit()


def _study(tmp_path, n=4, *, plant=False, seed=0, **values):
    series = synth.make_ct_series(
        tmp_path / f"ct{seed}", n, rows=32, cols=32, plant=plant, seed=seed
    )
    if values:
        for p in series.paths:
            ds = pydicom.dcmread(p)
            for keyword, value in values.items():
                setattr(ds, keyword, value)
            ds.save_as(p)
    return series


def _incoming(node) -> list[IncomingStudy]:
    with node.app.app_context():
        rows = db.session.scalars(select(IncomingStudy).order_by(IncomingStudy.id)).all()
        db.session.expunge_all()
        db.session.remove()
        return rows


def _wait_stored(node) -> IncomingStudy:
    """The study once released and its upload's jobs have all finished."""

    def done():
        with node.app.app_context():
            row = db.session.scalars(select(IncomingStudy)).first()
            upload = db.session.get(Upload, row.upload_id) if row and row.upload_id else None
            finished = upload is not None and upload.finished
            db.session.remove()
            return finished

    wait_for(done, timeout=90)
    (row,) = _incoming(node)
    return row


def _stored_paths(node):
    with node.app.app_context():
        files = db.session.scalars(
            select(StoredFile).where(StoredFile.case_id == node.case_id)
        ).all()
        storage = routing.get_storage()
        return files, [storage.path(f.storage_key) for f in files], storage.root


def _everything_kept(root):
    return [p for p in root.rglob("*") if p.is_file()]


def _audit_texts(node) -> list[str]:
    with node.app.app_context():
        rows = db.session.scalars(select(AuditEntry)).all()
        return [json.dumps(r.details, default=str) + " " + (r.actor_label or "") for r in rows]


# --------------------------------------------------------------------------- arrives
def test_orthanc_pushes_a_planted_study_routed_by_accession_number(node, pacs, tmp_path):
    """Orthanc holding a CT study with an Accession Number pushes it over C-STORE: it arrives
    in the case whose route holds that Accession Number, de-identified, 0 leaks."""
    series = _study(tmp_path, 4, plant=True, seed=7)
    accession = str(pydicom.dcmread(series.paths[0]).AccessionNumber)  # a planted marker
    _record_pacs(node)
    _add_route(node, "accession_number", accession)
    study_id = pacs.upload_study(series.paths)
    assert pacs.echo(), pacs.log[-2000:]
    # The check has teeth: what the PACS holds (and sends) carries the planted identifiers.
    held = pacs.files(study_id)
    assert len(held) == 4 and all(b"ZQX" in data and accession.encode() in data for data in held)

    started = time.monotonic()
    answer = pacs.push(study_id)
    row = _wait_stored(node)
    print(f"\nOrthanc push of 4 planted CT images, stored: {time.monotonic() - started:.2f} s")

    assert answer["InstancesCount"] == 4 and answer["FailedInstancesCount"] == 0, answer
    assert row.state == "released" and row.case_id == node.case_id
    assert row.instance_count == 4 and row.refused_count == 0 and row.calling_ae == PACS_AE
    files, paths, root = _stored_paths(node)
    assert len(files) == 4 and all(f.modality == "CT" for f in files)
    # The held-out check uploads pass, on the files Panel stored and on everything it kept.
    assert leaks(paths, series) == []
    kept = _everything_kept(root)
    assert leaks(kept, series) == []
    assert not routing.quarantine_dir(routing.LocalStorage(root), row.id).exists()
    assert leaks_in_text(_audit_texts(node), series) == []


def test_orthanc_pushes_a_study_routed_by_patient_id(node, pacs, tmp_path):
    series = _study(tmp_path, 3, seed=3, PatientID=PATIENT_ID, AccessionNumber="")
    _record_pacs(node)
    _add_route(node, "patient_id", PATIENT_ID.lower())  # as typed: compared case-blind
    study_id = pacs.upload_study(series.paths)

    started = time.monotonic()
    pacs.push(study_id)
    row = _wait_stored(node)
    print(
        f"\nOrthanc push of 3 CT images by patient ID, stored: {time.monotonic() - started:.2f} s"
    )

    assert row.state == "released" and row.case_id == node.case_id and row.instance_count == 3
    files, paths, root = _stored_paths(node)
    assert len(files) == 3
    for path in paths:
        data = path.read_bytes()
        assert PATIENT_ID.encode() not in data and b"Example^Child" not in data
        assert pydicom.dcmread(path).PatientID != PATIENT_ID


# --------------------------------------------------------------------------- no route
def test_an_unrouted_study_from_orthanc_is_quarantined_then_purged(node, pacs, tmp_path):
    series = _study(tmp_path, 3, seed=5, PatientID=PATIENT_ID, AccessionNumber=ACCESSION)
    _record_pacs(node)
    study_id = pacs.upload_study(series.paths)

    started = time.monotonic()
    pacs.push(study_id)
    row = wait_for(
        lambda: next((r for r in _incoming(node) if r.state == "quarantined"), None), timeout=30
    )
    print(
        f"\nOrthanc push of 3 unrouted CT images, quarantined: {time.monotonic() - started:.2f} s"
    )
    assert row.case_id is None and row.instance_count == 3 and row.reason == routing.NO_ROUTE

    with node.app.app_context():
        storage = routing.get_storage()
        folder = routing.quarantine_dir(storage, row.id)
        assert len(list(folder.iterdir())) == 3
        hours = float(node.app.config.get("DICOM_QUARANTINE_HOURS", 24))
        assert routing.purge_quarantine(utcnow() + timedelta(hours=hours - 1)) == 0
        db.session.commit()
        assert folder.exists()
        assert routing.purge_quarantine(utcnow() + timedelta(hours=hours, minutes=1)) == 1
        db.session.commit()
        assert not folder.exists()
        purged = db.session.get(IncomingStudy, row.id)
        assert purged.state == "purged" and "deleted unread" in purged.reason
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "imaging.study_purged")
        ).one()
        text = json.dumps(entry.details) + entry.actor_label
        assert entry.details["incoming_id"] == row.id and entry.details["instances"] == 3
        for value in (PATIENT_ID, ACCESSION, "Example", series.study_uid, "MRN"):
            assert value not in text
        assert not db.session.scalars(select(StoredFile)).all()


# --------------------------------------------------------------------------- refused
def test_orthanc_under_an_ae_title_panel_does_not_know_is_rejected(node, pacs, tmp_path, caplog):
    """Panel's admin recorded HOSP_PACS; the PACS calls as RVI_PACS: rejected, and Orthanc's
    job reports the failure."""
    series = _study(tmp_path, 2, seed=9, AccessionNumber=ACCESSION)
    _add_route(node, "accession_number", ACCESSION)
    study_id = pacs.upload_study(series.paths)
    caplog.set_level(logging.WARNING, logger="panel.imaging.dicom")

    assert not pacs.echo()
    started = time.monotonic()
    job = pacs.job(pacs.push_job(study_id))
    print(f"\nOrthanc push under an unknown AE title, failed: {time.monotonic() - started:.2f} s")
    assert job["State"] == "Failure", job
    assert job["ErrorDescription"] == "Error in the network protocol"
    assert "Association Rejected" in job["ErrorDetails"], job
    with pytest.raises(OrthancError) as failed:
        pacs.push(study_id)
    assert failed.value.status >= 400
    assert "rejected: the calling AE title is not recorded for any centre" in caplog.text
    assert _incoming(node) == []
    files, _paths, root = _stored_paths(node)
    assert files == []
    quarantine = root / "quarantine"
    assert not quarantine.exists() or not any(quarantine.iterdir())


# --------------------------------------------------------------------------- dcmtk
def test_storescu_sends_the_planted_study_with_0_leaks(node, tmp_path):
    """For comparison: dcmtk's storescu sends the same planted study (file meta and preamble
    included in what it reads) from a recorded sender."""
    series = _study(tmp_path, 4, plant=True, seed=11)
    accession = str(pydicom.dcmread(series.paths[0]).AccessionNumber)
    _add_route(node, "accession_number", accession)
    started = time.monotonic()
    result = storescu(node.port, series.paths)
    assert result.returncode == 0, result.stderr
    row = _wait_stored(node)
    print(f"\nstorescu of 4 planted CT images, stored: {time.monotonic() - started:.2f} s")
    assert row.state == "released" and row.instance_count == 4
    files, paths, root = _stored_paths(node)
    assert len(files) == 4
    assert leaks(paths, series) == [] and leaks(_everything_kept(root), series) == []


# --------------------------------------------------------------------------- DICOMweb
def test_orthanc_sends_a_study_by_stow_rs(pacs, node, tmp_path):
    """Orthanc's DICOMweb plugin as the hospital system sending by STOW-RS (chunked, as Orthanc
    sends) to Panel served over HTTP, with a DICOMweb sender token: the study arrives in its
    case, de-identified, and Orthanc's job reports every instance stored."""
    from panel.accounts.models import Centre
    from panel.imaging.netmodels import DicomSender
    from tests.support.live_server import LiveServer

    with node.app.app_context():
        centre = db.session.get(Centre, node.centre_id)
        sender = DicomSender(centre_id=centre.id, label="RVI DICOMweb gateway")
        db.session.add(sender)
        token = routing.issue_token(sender)
        db.session.commit()
    series = _study(tmp_path, 3, plant=True, seed=21)
    accession = str(pydicom.dcmread(series.paths[0]).AccessionNumber)
    _add_route(node, "accession_number", accession)
    study_id = pacs.upload_study(series.paths)
    server = LiveServer(node.app)
    server._thread.start()
    try:
        pacs.session.put(
            pacs.url + "/dicom-web/servers/panel",
            data=json.dumps(
                {
                    "Url": server.url + "/api/v1/dicomweb/",
                    "HttpHeaders": {"Authorization": f"Bearer {token}"},
                }
            ),
            timeout=30,
        ).raise_for_status()
        answer = pacs.post(
            "/dicom-web/servers/panel/stow", {"Resources": [study_id], "Synchronous": True}
        )
        row = _wait_stored(node)
    finally:
        server._server.shutdown()
        server._server.server_close()
    assert answer is not None
    assert row.source == "stow-rs" and row.state == "released" and row.instance_count == 3
    files, paths, root = _stored_paths(node)
    assert len(files) == 3
    assert leaks(paths, series) == [] and leaks(_everything_kept(root), series) == []
