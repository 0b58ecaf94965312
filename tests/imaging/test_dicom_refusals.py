"""Bad input to Panel's DICOM node (issue 19): each refused or held back with a clear, logged
reason that names no identifier, and nothing partial kept. Real peers: dcmtk's storescu and
echoscu, and a pynetdicom SCU for what storescu cannot do (abort mid-study, send an instance
twice, send bytes that are not a data set). The statuses are those of PS3.4 B.2.3 / PS3.7 C."""

from __future__ import annotations

import logging
import signal
import subprocess

import pydicom
import pytest
from pynetdicom import _config as pynetdicom_config
from sqlalchemy import select

from panel.core.db import db
from panel.imaging import dimse, routing
from panel.imaging.models import StoredFile, Upload
from panel.imaging.netmodels import DicomSender
from tests.support import synth
from tests.support.dicomnode import (
    associate,
    incoming,
    need,
    start_node,
    storescu,
    wait_for,
    with_accession,
)
from tests.support.factories import CaseFactory, UserFactory, example

pytestmark = pytest.mark.multiprocess

ACCESSION = "RVI20261207"
#: What the synthetic files carry and no log line may show.
IDENTIFIERS = (ACCESSION, "MRN00012345", "Example^Child", "ACC20160315")


@pytest.fixture
def node(backend, tmp_path):
    yield from start_node(backend, tmp_path)


@pytest.fixture
def small_node(backend, tmp_path):
    """A node that accepts studies of at most 10,000 bytes."""
    yield from start_node(backend, tmp_path, DICOM_MAX_STUDY_BYTES=10_000)


@pytest.fixture
def impatient_node(backend, tmp_path):
    """A node that waits one second for a silent sender."""
    yield from start_node(backend, tmp_path, DICOM_NETWORK_TIMEOUT=1)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="panel.imaging")
    return caplog


def _no_identifiers(caplog) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in IDENTIFIERS:
        assert value not in text


def _route(node, accession: str = ACCESSION) -> None:
    from panel.accounts.models import User
    from panel.cases.models import Case

    with node.app.app_context():
        case = db.session.get(Case, node.case_id)
        user = db.session.get(User, node.referrer_id)
        routing.add_route(case, user, "accession_number", accession)
        db.session.commit()


def _ct(tmp_path, n=4, name="ct", seed=0, rows=32):
    series = synth.make_ct_series(tmp_path / name, n, rows=rows, cols=rows, seed=seed)
    return with_accession(list(series.paths), ACCESSION), series.study_uid


def _settled(node, n=1, states=("released", "refused", "quarantined")):
    """Wait until ``n`` incoming studies are closed (and any upload of theirs finished)."""

    def done():
        rows = incoming(node.app)
        if len(rows) < n or any(r.state not in states for r in rows):
            return None
        with node.app.app_context():
            try:
                for r in rows:
                    if r.upload_id and not db.session.get(Upload, r.upload_id).finished:
                        return None
            finally:
                db.session.remove()
        return rows

    return wait_for(done, timeout=60)


def _kept(node) -> tuple[int, int, list]:
    """(uploads, stored files, quarantine folders left) of the node's storage and database."""
    with node.app.app_context():
        try:
            uploads = len(db.session.scalars(select(Upload)).all())
            files = len(db.session.scalars(select(StoredFile)).all())
            root = routing.get_storage().root / "quarantine"
            left = [p for p in root.glob("study-*/*")] if root.is_dir() else []
            return uploads, files, left
        finally:
            db.session.remove()


# --------------------------------------------------------------------------- who may associate
def test_unknown_calling_ae_and_an_ae_of_another_network_are_rejected(node, logs):
    with node.app.app_context():
        db.session.add(
            DicomSender(
                centre_id=node.centre_id,
                label="RVI PACS (hospital network)",
                ae_title="NET_PACS",
                network="10.9.0.0/16",
            )
        )
        db.session.commit()
    exe = need("echoscu")
    for calling, why in (
        ("STRANGER", "not recorded for any centre"),
        ("NET_PACS", "not for this network address"),
    ):
        out = subprocess.run(
            [exe, "-aet", calling, "-aec", node.ae_title, "127.0.0.1", str(node.port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode != 0
        assert "Calling AE Title Not Recognized" in out.stderr + out.stdout
        assert any(why in r.getMessage() for r in logs.records), why
        assoc = associate(node.port, calling=calling)
        assert assoc.is_rejected
        assert (assoc.acceptor.primitive.result, assoc.acceptor.primitive.diagnostic) == (1, 3)
    assert incoming(node.app) == []


def test_the_wrong_called_ae_title_is_rejected(node, logs):
    assoc = associate(node.port, called="NOT_PANEL")
    assert assoc.is_rejected
    assert assoc.acceptor.primitive.diagnostic == 7  # called AE title not recognised
    out = subprocess.run(
        [need("echoscu"), "-aet", "HOSP_PACS", "-aec", "NOT_PANEL", "127.0.0.1", str(node.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "Called AE Title Not Recognized" in out.stderr + out.stdout
    assert any("called AE title" in r.getMessage() for r in logs.records)
    # The right one answers C-ECHO.
    assoc = associate(node.port)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()


# --------------------------------------------------------------------------- aborted
def test_an_association_aborted_mid_study_keeps_nothing(node, tmp_path, logs):
    _route(node)
    paths, _ = _ct(tmp_path, 5)
    assoc = associate(node.port)
    assert assoc.is_established
    for p in paths[:3]:
        assert assoc.send_c_store(pydicom.dcmread(p)).Status == 0
    assoc.abort()
    (row,) = _settled(node)
    assert row.state == "refused"
    assert row.reason == routing.ABORTED
    assert row.instance_count == 3 and row.upload_id is None
    assert _kept(node) == (0, 0, [])
    assert any("aborted" in r.getMessage() for r in logs.records)
    _no_identifiers(logs)


def test_a_storescu_killed_mid_study_keeps_nothing(node, tmp_path):
    _route(node)
    paths, _ = _ct(tmp_path, 120, rows=256)  # about 15 MB: storescu is still sending when killed
    proc = subprocess.Popen(
        [
            need("storescu"),
            *("-aet", "HOSP_PACS", "-aec", node.ae_title),
            *("127.0.0.1", str(node.port)),
            *map(str, paths),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with node.app.app_context():
            root = routing.get_storage().root / "quarantine"
        wait_for(lambda: len(list(root.glob("study-*/*"))) >= 3, timeout=30, step=0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    (row,) = _settled(node)
    assert row.state == "refused"
    assert "nothing" in row.reason
    assert 3 <= row.instance_count < len(paths)
    assert _kept(node) == (0, 0, [])


# --------------------------------------------------------------------------- duplicates
def test_an_instance_sent_twice_in_one_association_is_kept_once(node, tmp_path, logs):
    _route(node)
    paths, _ = _ct(tmp_path, 3)
    assoc = associate(node.port)
    first = [assoc.send_c_store(pydicom.dcmread(p)) for p in paths]
    again = assoc.send_c_store(pydicom.dcmread(paths[0]))
    assoc.release()
    assert [s.Status for s in first] == [0, 0, 0]
    assert again.Status == dimse.DUPLICATE_INSTANCE
    assert "duplicate SOP instance" in again.ErrorComment
    (row,) = _settled(node)
    assert row.state == "released"
    assert (row.instance_count, row.refused_count) == (3, 1)
    assert "duplicate SOP instance" in row.reason
    uploads, files, left = _kept(node)
    assert (uploads, files, left) == (1, 3, [])
    _no_identifiers(logs)


def test_a_study_sent_again_in_a_second_association_is_marked_duplicate(node, tmp_path):
    _route(node)
    paths, _ = _ct(tmp_path, 3)
    assert storescu(node.port, paths).returncode == 0
    _settled(node, 1)
    assert storescu(node.port, paths).returncode == 0
    first, second = _settled(node, 2)
    assert first.state == second.state == "released"
    with node.app.app_context():
        one = db.session.get(Upload, first.upload_id)
        two = db.session.get(Upload, second.upload_id)
        # The upload pipeline knows the same images: the second copy is not stored twice.
        assert (one.stored_count, one.duplicate_count) == (3, 0)
        assert (two.stored_count, two.duplicate_count) == (0, 3)
        assert len(db.session.scalars(select(StoredFile)).all()) == 3
        db.session.remove()
    assert _kept(node)[2] == []


# --------------------------------------------------------------------------- not images
def test_non_images_are_refused_and_the_study_images_kept(node, tmp_path, logs):
    _route(node)
    paths, study_uid = _ct(tmp_path, 3)
    others = [
        synth.make_structured_report(tmp_path / "sr.dcm"),
        synth.make_encapsulated_pdf(tmp_path / "pdf.dcm"),
    ]
    with_accession(others, ACCESSION, study_uid)
    assoc = associate(node.port)
    statuses = [assoc.send_c_store(pydicom.dcmread(p)) for p in [paths[0], *others, *paths[1:]]]
    assoc.release()
    assert [s.Status for s in statuses] == [0, 0x0122, 0x0122, 0, 0]
    for s in statuses[1:3]:
        assert s.ErrorComment.startswith("not an image")
    (row,) = _settled(node)
    assert row.state == "released"
    assert (row.instance_count, row.refused_count) == (3, 2)
    assert "2 not an image" in row.reason
    assert _kept(node)[:2] == (1, 3)
    _no_identifiers(logs)


def test_storescu_sees_the_refusal_of_a_structured_report(node, tmp_path):
    sr = synth.make_structured_report(tmp_path / "sr.dcm")
    out = storescu(node.port, [sr], extra=("-v",))
    text = out.stdout + out.stderr
    assert "Refused: SOPClassNotSupported" in text, text
    (row,) = _settled(node)
    assert row.state == "refused"
    assert row.reason == "no instance of the study could be kept"


# --------------------------------------------------------------------------- corrupt
def _raw(tmp_path, name: str, source, body: bytes):
    """A file with ``source``'s file meta and ``body`` as its data set (sent unparsed)."""
    from pynetdicom.dsutils import split_dataset

    _, offset = split_dataset(source)
    out = tmp_path / name
    out.write_bytes(source.read_bytes()[:offset] + body)
    return out


@pytest.mark.filterwarnings("ignore:Expected explicit VR")
def test_corrupt_data_sets_are_refused_and_the_rest_kept(node, tmp_path, logs, monkeypatch):
    from pynetdicom.dsutils import split_dataset

    _route(node)
    paths, _ = _ct(tmp_path, 4)
    spare = _ct(tmp_path, 2, name="spare", seed=7)[0]
    _, offset = split_dataset(spare[0])
    body = spare[0].read_bytes()[offset:]
    cut = _raw(tmp_path, "cut.dcm", spare[0], body[:-200])  # pixel data cut short
    head = _raw(tmp_path, "head.dcm", spare[1], body[:300])  # no UIDs at all
    junk = _raw(tmp_path, "junk.dcm", spare[1], bytes(range(256)) * 8)
    monkeypatch.setattr(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
    assoc = associate(node.port)
    sent = [paths[0], cut, head, junk, *paths[1:]]
    statuses = [assoc.send_c_store(p) for p in sent]
    assoc.release()
    assert [s.Status for s in statuses] == [0, 0xC000, 0xC000, 0xC000, 0, 0, 0]
    assert statuses[1].ErrorComment.startswith("incomplete pixel data")
    assert statuses[2].ErrorComment == statuses[3].ErrorComment == "not a readable DICOM data set"
    rows = _settled(node)
    released = [r for r in rows if r.state == "released"]
    assert len(released) == 1 and released[0].instance_count == 4
    uploads, files, left = _kept(node)
    assert (uploads, files, left) == (1, 4, [])
    _no_identifiers(logs)


# --------------------------------------------------------------------------- too large
def test_a_study_too_large_is_refused_whole(small_node, tmp_path, logs):
    node = small_node
    _route(node)
    paths, _ = _ct(tmp_path, 6)  # about 3 KB each: over 10,000 bytes at the fourth
    out = storescu(node.port, paths, extra=("-v",))
    assert "Received Store Response (Success)" in out.stdout + out.stderr
    assert "Received Store Response (Refused: OutOfResources)" in out.stdout + out.stderr
    assoc = associate(node.port)
    statuses = [assoc.send_c_store(pydicom.dcmread(p)) for p in paths]
    assoc.release()
    assert statuses[0].Status == 0
    assert statuses[-1].Status == 0xA700
    assert "larger than Panel accepts" in statuses[-1].ErrorComment
    rows = _settled(node, 2)
    for row in rows:
        assert row.state == "refused"
        assert "larger than Panel accepts" in row.reason
    assert _kept(node) == (0, 0, [])
    _no_identifiers(logs)


# --------------------------------------------------------------------------- another centre
def test_a_routing_key_of_another_centre_is_held_back(node, tmp_path, logs):
    from panel.cases.models import Case

    with node.app.app_context():
        other = UserFactory(db.session)(
            referrer_at="BIRMINGHAM", name="Other Referrer", email="other@example.nhs.uk"
        )
        doc = example()
        doc["referring_centre"] = "BIRMINGHAM"
        case = CaseFactory(db.session)(other, doc, submit=True)
        assert case.referring_centre_id != node.centre_id
        routing.add_route(case, other, "accession_number", ACCESSION)
        db.session.commit()
        other_case = case.id
    paths, _ = _ct(tmp_path, 3)
    assert storescu(node.port, paths).returncode == 0
    (row,) = _settled(node)
    assert row.state == "quarantined"
    assert row.reason == routing.NO_ROUTE
    assert row.case_id is None and row.upload_id is None
    with node.app.app_context():
        assert db.session.scalars(select(Upload)).all() == []
        assert db.session.get(Case, other_case) is not None
        db.session.remove()
    _, _, left = _kept(node)
    assert len(left) == 3  # waiting in quarantine, for a route of the sender's own centre
    _no_identifiers(logs)


def test_a_data_set_not_of_the_class_it_was_sent_as_is_refused(node, tmp_path, monkeypatch):
    from pydicom.uid import SecondaryCaptureImageStorage

    _route(node)
    paths, _ = _ct(tmp_path, 2)
    ds = pydicom.dcmread(paths[1])
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage  # what it is sent as
    ds.save_as(paths[1])
    monkeypatch.setattr(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
    assoc = associate(node.port)
    statuses = [assoc.send_c_store(p) for p in paths]
    assoc.release()
    assert [s.Status for s in statuses] == [0, 0xA900]
    assert "SOP class" in statuses[1].ErrorComment
    (row,) = _settled(node)
    assert row.state == "released" and (row.instance_count, row.refused_count) == (1, 1)


def test_a_failure_of_panel_s_own_is_a_processing_failure(node, tmp_path, monkeypatch, logs):
    paths, _ = _ct(tmp_path, 1)

    def broken(self, **_):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(routing.Inbox, "accept", broken)
    assoc = associate(node.port)
    status = assoc.send_c_store(pydicom.dcmread(paths[0]))
    assoc.release()
    assert status.Status == dimse.PROCESSING_FAILURE
    assert "send again" in status.ErrorComment
    assert any("not stored" in r.getMessage() for r in logs.records)


def test_a_sender_silent_mid_study_is_aborted_and_nothing_kept(impatient_node, tmp_path):
    node = impatient_node
    _route(node)
    paths, _ = _ct(tmp_path, 3)
    assoc = associate(node.port)
    assert assoc.send_c_store(pydicom.dcmread(paths[0])).Status == 0
    wait_for(lambda: assoc.is_aborted, timeout=15)
    (row,) = _settled(node)
    assert row.state == "refused"
    assert row.reason.startswith("the sender was silent for more than 1 seconds")
    assert _kept(node) == (0, 0, [])
