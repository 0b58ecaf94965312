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


def test_two_associations_at_once_route_to_their_own_cases(node, tmp_path):
    """Two senders at once, two studies for two cases; then one study from both senders at
    once: each goes to its own case, and the second copy is not stored twice."""
    import subprocess as sp

    from panel.accounts.models import User
    from panel.cases.models import Case
    from panel.imaging.netmodels import DicomSender
    from tests.support.dicomnode import with_accession
    from tests.support.factories import CaseFactory

    with node.app.app_context():
        user = db.session.get(User, node.referrer_id)
        first = db.session.get(Case, node.case_id)
        second = CaseFactory(db.session)(user, submit=True)
        routing.add_route(first, user, "accession_number", "ACC_ONE")
        routing.add_route(second, user, "accession_number", "ACC_TWO")
        db.session.add(DicomSender(centre_id=node.centre_id, label="RVI CT", ae_title="HOSP_CT"))
        db.session.commit()
        second_id = second.id
    one = with_accession(
        list(synth.make_ct_series(tmp_path / "one", 8, rows=64, cols=64, seed=1).paths), "ACC_ONE"
    )
    two = with_accession(
        list(synth.make_ct_series(tmp_path / "two", 8, rows=64, cols=64, seed=2).paths), "ACC_TWO"
    )
    exe = need("storescu")

    def send(calling, paths):
        return sp.Popen(
            [exe, "-aet", calling, "-aec", node.ae_title, "127.0.0.1", str(node.port), *paths],
            stdout=sp.PIPE,
            stderr=sp.PIPE,
        )

    def settle(n):
        def done():
            with node.app.app_context():
                try:
                    rows = db.session.scalars(select(IncomingStudy)).all()
                    ups = [db.session.get(Upload, r.upload_id) for r in rows if r.upload_id]
                    return len(ups) == n and all(u.finished for u in ups)
                finally:
                    db.session.remove()

        wait_for(done, timeout=90)

    procs = [send("HOSP_PACS", one), send("HOSP_CT", two)]
    assert [p.wait(120) for p in procs] == [0, 0]
    settle(2)
    with node.app.app_context():
        by_case = {
            r.case_id: r
            for r in db.session.scalars(select(IncomingStudy)).all()
            if r.state == "released"
        }
        assert set(by_case) == {node.case_id, second_id}
        for case_id in (node.case_id, second_id):
            files = db.session.scalars(select(StoredFile).where(StoredFile.case_id == case_id))
            assert len(files.all()) == 8
        db.session.remove()
    # The same study from both senders at once.
    procs = [send("HOSP_PACS", one), send("HOSP_CT", one)]
    assert [p.wait(120) for p in procs] == [0, 0]
    settle(4)
    with node.app.app_context():
        rows = db.session.scalars(select(IncomingStudy).order_by(IncomingStudy.id)).all()
        assert [r.state for r in rows] == ["released"] * 4
        assert [r.case_id for r in rows[2:]] == [node.case_id, node.case_id]
        again = [db.session.get(Upload, r.upload_id) for r in rows[2:]]
        assert sum(u.duplicate_count for u in again) == 16
        files = db.session.scalars(select(StoredFile).where(StoredFile.case_id == node.case_id))
        assert len(files.all()) == 8
        db.session.remove()
    # A new study from both senders at once (neither copy stored yet): stored once.
    three = with_accession(
        list(synth.make_ct_series(tmp_path / "three", 8, rows=64, cols=64, seed=3).paths),
        "ACC_ONE",
    )
    procs = [send("HOSP_PACS", three), send("HOSP_CT", three)]
    assert [p.wait(120) for p in procs] == [0, 0]
    settle(6)
    with node.app.app_context():
        rows = db.session.scalars(select(IncomingStudy).order_by(IncomingStudy.id)).all()
        assert [r.state for r in rows[4:]] == ["released"] * 2
        ups = [db.session.get(Upload, r.upload_id) for r in rows[4:]]
        assert sum(u.stored_count for u in ups) == 8
        assert sum(u.duplicate_count for u in ups) == 8
        files = db.session.scalars(select(StoredFile).where(StoredFile.case_id == node.case_id))
        assert len(files.all()) == 16
        db.session.remove()


def test_no_planted_marker_survives_a_study_sent_over_c_store(node, tmp_path, caplog):
    """The held-out leak check uploads pass, over the network: a CT series with identifying
    markers planted in every attribute goes through storescu and the node; no marker is left in
    any byte of the storage (stored files, quarantine, spool) nor in the node's log lines."""
    import logging

    from panel.accounts.models import User
    from panel.cases.models import Case

    caplog.set_level(logging.INFO, logger="panel.imaging")
    series = synth.make_ct_series(tmp_path / "planted", 3, rows=32, cols=32, plant=True)
    accession = str(pydicom.dcmread(series.paths[0]).AccessionNumber)
    with node.app.app_context():
        case = db.session.get(Case, node.case_id)
        user = db.session.get(User, node.referrer_id)
        routing.add_route(case, user, "accession_number", accession)
        db.session.commit()
    result = storescu(node.port, list(series.paths))
    assert result.returncode == 0, result.stderr

    def stored():
        with node.app.app_context():
            try:
                row = db.session.scalars(select(IncomingStudy)).first()
                upload = db.session.get(Upload, row.upload_id) if row and row.upload_id else None
                return upload is not None and upload.finished and upload
            finally:
                db.session.remove()

    wait_for(stored, timeout=60)
    with node.app.app_context():
        upload = db.session.scalars(select(Upload)).one()
        assert upload.stored_count == 3
        root = routing.get_storage().root
        db.session.remove()
    forbidden = series.markers.forbidden()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) >= 3
    for path in files:
        data = path.read_bytes()
        leaked = sorted(m for m in forbidden if m.encode() in data)
        assert leaked == [], f"{path.relative_to(root)}: {leaked[:10]}"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert [m for m in forbidden if m in text] == []
