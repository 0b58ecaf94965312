"""Studies from hospital networks routed to cases by HMAC (issue 19; panel/imaging/routing.py).

These drive the :class:`~panel.imaging.routing.Inbox` directly, as the DICOM node and STOW-RS
do; the tests of those ways in (dcmtk, Orthanc, dicomweb-client) are in their own files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select

from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed
from panel.core.models import AuditEntry
from panel.imaging import routing
from panel.imaging.models import StoredFile, Upload
from panel.imaging.netmodels import DicomSender, ImageRoute, IncomingStudy
from tests.support import synth

ACCESSION = "ACC0042117"
PATIENT_ID = "RX1234567"


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Route Referrer")


@pytest.fixture
def case(make_case, referrer):
    return make_case(referrer)


@pytest.fixture
def sender(db_session, case):
    row = DicomSender(centre_id=case.referring_centre_id, label="RVI PACS", ae_title="RVI_PACS")
    db_session.add(row)
    db_session.flush()
    return row


@pytest.fixture
def study(tmp_path):
    """Four CT slices with the test's Accession Number and patient ID."""
    series = synth.make_ct_series(tmp_path / "ct", 4, rows=32, cols=32)
    paths = []
    for p in series.paths:
        ds = pydicom.dcmread(p)
        ds.AccessionNumber = ACCESSION
        ds.PatientID = PATIENT_ID
        ds.save_as(p)
        paths.append(Path(p))
    return paths


def send(inbox: routing.Inbox, paths, **over) -> list[str | None]:
    out = []
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        data = path.read_bytes()
        fields = {
            "study_uid": ds.StudyInstanceUID,
            "sop_instance_uid": ds.SOPInstanceUID,
            "sop_class_uid": ds.SOPClassUID,
            "accession": ds.get("AccessionNumber"),
            "patient_id": ds.get("PatientID"),
            "size": len(data),
            "write": lambda target, data=data: target.write_bytes(data),
        }
        fields.update(over)
        out.append(inbox.accept(**fields))
    return out


def test_a_route_keeps_only_an_hmac(db_session, case, referrer):
    route = routing.add_route(case, referrer, "accession_number", f"  {ACCESSION.lower()} ")
    assert route.key_hmac == routing.route_hmac(
        case.referring_centre_id, "accession_number", ACCESSION
    )
    assert ACCESSION not in repr(route.__dict__)
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "imaging.route_added")
    ).one()
    assert ACCESSION not in str(entry.details) and entry.object_id == case.reference
    # The same value of another centre is another HMAC: no linkage across centres.
    assert route.key_hmac != routing.route_hmac(
        case.referring_centre_id + 1, "accession_number", ACCESSION
    )


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("nhs_number", "1", "Choose"),
        ("accession_number", "   ", "Enter"),
        ("accession_number", "X" * 17, "at most 16"),
        ("patient_id", "A\\B", "characters"),
    ],
)
def test_bad_routes_are_refused(db_session, case, referrer, kind, value, message):
    with pytest.raises(routing.RouteRefused, match=message):
        routing.add_route(case, referrer, kind, value)


def test_a_route_of_another_open_case_is_refused(db_session, case, referrer, make_case):
    routing.add_route(case, referrer, "patient_id", PATIENT_ID)
    with pytest.raises(routing.RouteRefused, match="already has"):
        routing.add_route(case, referrer, "patient_id", PATIENT_ID)
    other = make_case(referrer)
    with pytest.raises(routing.RouteRefused, match="another open case"):
        routing.add_route(other, referrer, "patient_id", PATIENT_ID)


def test_only_the_cases_people_add_routes(db_session, case, make_user):
    stranger = make_user(referrer_at="NEWCASTLE", name="Other Referrer")
    member = make_user(roles=[("NAP", "member")], name="A Member")
    for user in (stranger, member):
        with pytest.raises(NotAllowed):
            routing.add_route(case, user, "patient_id", PATIENT_ID)


def test_a_routed_study_is_de_identified_into_its_case(db_session, case, referrer, sender, study):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    inbox = routing.Inbox(sender, "c-store")
    assert send(inbox, study) == [None] * 4
    row = db_session.scalars(select(IncomingStudy)).one()
    assert row.state == "receiving" and row.case_id == case.id
    [row] = inbox.close()
    assert row.state == "released" and row.instance_count == 4
    upload = db_session.get(Upload, row.upload_id)
    assert upload.case_id == case.id and upload.finished and upload.stored_count == 4
    files = db_session.scalars(select(StoredFile).where(StoredFile.case_id == case.id)).all()
    assert len(files) == 4
    storage = routing.get_storage()
    for f in files:
        ds = pydicom.dcmread(storage.path(f.storage_key))
        assert ds.get("AccessionNumber", "") != ACCESSION
        assert ds.get("PatientID", "") != PATIENT_ID
    assert not routing.quarantine_dir(storage, row.id).exists()
    for col in ("study_hmac", "accession_hmac", "patient_hmac"):
        assert len(getattr(row, col)) == 64
    assert db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "imaging.study_received")
    ).one()


def test_an_unrouted_study_waits_then_is_purged(db_session, case, referrer, sender, study):
    inbox = routing.Inbox(sender, "c-store")
    send(inbox, study)
    [row] = inbox.close()
    assert row.state == "quarantined" and row.case_id is None
    folder = routing.quarantine_dir(routing.get_storage(), row.id)
    assert len(list(folder.iterdir())) == 4
    assert routing.purge_quarantine(utcnow() + timedelta(hours=23)) == 0
    assert routing.purge_quarantine(utcnow() + timedelta(hours=25)) == 1
    assert row.state == "purged" and not folder.exists()
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "imaging.study_purged")
    ).one()
    assert ACCESSION not in str(entry.details) and PATIENT_ID not in str(entry.details)


def test_a_route_added_later_releases_the_waiting_study(db_session, case, referrer, sender, study):
    inbox = routing.Inbox(sender, "c-store")
    send(inbox, study)
    [row] = inbox.close()
    assert row.state == "quarantined"
    routing.add_route(case, referrer, "patient_id", PATIENT_ID.lower())
    db_session.commit()
    assert row.state == "released" and row.case_id == case.id


def test_a_route_of_another_centre_does_not_match(
    db_session, case, referrer, study, make_user, make_case
):
    other = make_user(referrer_at="LEEDS", name="Leeds Referrer")
    leeds_case = make_case(other)
    leeds_case.referring_centre_id = other.centre_id  # the case's referring centre: Leeds
    assert leeds_case.referring_centre_id != case.referring_centre_id
    routing.add_route(leeds_case, other, "accession_number", ACCESSION)
    newcastle = DicomSender(centre_id=case.referring_centre_id, label="RVI", ae_title="RVI")
    db_session.add(newcastle)
    db_session.flush()
    inbox = routing.Inbox(newcastle, "c-store")
    send(inbox, study)
    [row] = inbox.close()
    assert row.state == "quarantined" and row.reason == routing.NO_ROUTE


def test_an_aborted_association_keeps_nothing(db_session, case, referrer, sender, study):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    inbox = routing.Inbox(sender, "c-store")
    send(inbox, study[:2])
    row_id = db_session.scalars(select(IncomingStudy.id)).one()
    inbox.abort()
    row = db_session.get(IncomingStudy, row_id)
    assert row.state == "refused" and "aborted" in row.reason
    assert not routing.quarantine_dir(routing.get_storage(), row_id).exists()
    assert db_session.scalars(select(Upload)).all() == []


def test_duplicates_non_images_and_too_large(db_session, app, case, referrer, sender, study):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    inbox = routing.Inbox(sender, "c-store")
    assert send(inbox, study[:1]) == [None]
    assert send(inbox, study[:1]) == [routing.DUPLICATE]
    [refused] = send(inbox, study[1:2], sop_class_uid="1.2.840.10008.5.1.4.1.1.88.22")
    assert refused.startswith("not an image")
    [row] = inbox.close()
    assert row.instance_count == 1 and row.refused_count == 2
    assert "duplicate" in row.reason and "not an image" in row.reason

    app.config["DICOM_MAX_STUDY_BYTES"] = study[0].stat().st_size * 2 + 10
    try:
        inbox = routing.Inbox(sender, "c-store")
        out = send(inbox, study)
    finally:
        app.config["DICOM_MAX_STUDY_BYTES"] = 4 * 1024**3
    assert out[:2] == [None, None] and all("larger" in o for o in out[2:])
    [row] = inbox.close()
    assert row.state == "refused" and "larger" in row.reason
    assert not routing.quarantine_dir(routing.get_storage(), row.id).exists()


def test_routes_stop_when_feedback_is_sent(db_session, case, referrer):
    route = routing.add_route(case, referrer, "patient_id", PATIENT_ID)
    assert route.is_active(case)
    routing.on_feedback_sent(None, case=case)
    assert route.expired_at is not None and route.expired_reason == "feedback sent"
    assert not route.is_active(case)


def test_senders_by_ae_title_and_network(db_session, case):
    db_session.add_all(
        [
            DicomSender(centre_id=case.referring_centre_id, label="A", ae_title="PACS_A"),
            DicomSender(
                centre_id=case.referring_centre_id,
                label="B",
                ae_title="PACS_B",
                network="10.1.0.0/16",
            ),
        ]
    )
    db_session.flush()
    assert routing.sender_for_association("PACS_A", "192.0.2.1")[0].label == "A"
    assert routing.sender_for_association("PACS_B", "10.1.2.3")[0].label == "B"
    none, why = routing.sender_for_association("PACS_B", "10.2.0.1")
    assert none is None and "network address" in why
    none, why = routing.sender_for_association("NOBODY", "10.1.2.3")
    assert none is None and "not recorded" in why


def test_sender_tokens_keep_only_a_hash(db_session, sender):
    secret = routing.issue_token(sender)
    db_session.flush()
    assert secret not in repr(sender.__dict__)
    assert routing.sender_for_token(secret).id == sender.id
    assert routing.sender_for_token(secret + "x") is None
    assert routing.sender_for_token(None) is None
    sender.revoked_at = utcnow()
    assert routing.sender_for_token(secret) is None


def test_routing_tables_hold_no_values(db_session, case, referrer, sender, study):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    inbox = routing.Inbox(sender, "c-store")
    send(inbox, study)
    inbox.close()
    for model in (ImageRoute, IncomingStudy, DicomSender):
        for row in db.session.scalars(select(model)):
            text = repr({k: v for k, v in vars(row).items() if not k.startswith("_")})
            assert ACCESSION not in text and PATIENT_ID not in text
