"""What people see and do with images from hospital networks (issue 19): the "Images from your
hospital" block of the case's images card (image routes, incoming studies, "open in viewer")
and the admin page of DICOM senders. The routing itself is tested in test_routing.py.

A routing value is never in the HTML, the database, the audit trail or the logs."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from panel.core.db import utcnow
from panel.core.models import AuditEntry
from panel.imaging import routing
from panel.imaging.models import Upload
from panel.imaging.netmodels import DicomSender, ImageRoute, IncomingStudy
from tests.support import synth
from tests.support.web import post_form

ACCESSION = "ZQ7719A42"  # a value that appears nowhere else
PATIENT_ID = "HOSP-55X931"


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Route Referrer")


@pytest.fixture
def case(make_case, referrer):
    return make_case(referrer, submit=True)


@pytest.fixture
def as_user(app, login):
    def make(user):
        client = app.test_client()
        login(client, user)
        return client

    return make


@pytest.fixture
def sender(db_session, case):
    row = DicomSender(centre_id=case.referring_centre_id, label="RVI PACS", ae_title="RVI_PACS")
    db_session.add(row)
    db_session.commit()
    return row


def _block(client, case) -> str:
    resp = client.get(f"/cases/{case.reference}/images/_partial")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _everything_stored(db_session) -> str:
    """Every row of the tables this touches, as text (the value must be in none of them)."""
    from panel.core.models import Job, Notification

    out = []
    for model in (ImageRoute, IncomingStudy, AuditEntry, Notification, Job, DicomSender):
        table = model.__tablename__
        out.append(repr(db_session.execute(text(f"SELECT * FROM {table}")).all()))  # noqa: S608
    return "\n".join(out)


# --------------------------------------------------------------------------- routes
def test_the_referrer_adds_and_removes_a_route_and_the_value_is_kept_nowhere(
    app, db_session, case, referrer, as_user, caplog
):
    caplog.set_level(logging.DEBUG)
    client = as_user(referrer)
    html = _block(client, case)
    assert 'data-testid="hospital-images"' in html and 'data-testid="add-route"' in html
    assert 'autocomplete="off"' in html and "keyed fingerprint" in html
    assert "No image route yet." in html and "data-polling" not in html

    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/routes",
        {"kind": "accession_number", "value": f" {ACCESSION.lower()} "},
    )
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/cases/{case.reference}/images#hospital-images")
    route = db_session.scalars(select(ImageRoute).where(ImageRoute.case_id == case.id)).one()
    assert route.kind == "accession_number" and route.expired_at is None
    assert route.key_hmac == routing.route_hmac(
        case.referring_centre_id, "accession_number", ACCESSION
    )
    page = client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert "Image route added" in page
    html = _block(client, case)
    assert "Accession Number" in html and "Route Referrer" in html and "Active" in html

    # htmx: the block comes back in place.
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/routes/{route.id}/remove",
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<div class="hospital-images')
    assert "Expired" in body and "removed" in body and "Image route removed" in body
    db_session.expire_all()
    assert route.expired_reason == "removed"
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("imaging.route_%"))
    ).all()
    assert sorted(actions) == ["imaging.route_added", "imaging.route_removed"]

    for where in (
        html,
        page,
        body,
        _everything_stored(db_session),
        caplog.text,
        client.get(f"/cases/{case.reference}").get_data(as_text=True),
    ):
        assert ACCESSION not in where.upper()


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("accession_number", "", "Enter the Accession Number"),
        ("accession_number", "X" * 17, "at most 16 characters"),
        ("patient_id", "P" * 65, "at most 64 characters"),
        ("patient_id", "AB\\CD", "characters DICOM does not allow"),
        ("nhs_number", "4857773456", "Choose the Accession Number"),
    ],
)
def test_a_bad_value_is_shown_on_the_form_and_nothing_is_kept(
    app, db_session, case, referrer, as_user, kind, value, message
):
    client = as_user(referrer)
    before = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    url = f"/cases/{case.reference}/images/routes"
    for headers in ({}, {"HX-Request": "true"}):
        resp = post_form(app, client, url, {"kind": kind, "value": value}, headers=headers)
        assert resp.status_code == 422
        html = resp.get_data(as_text=True)
        assert message in html and 'data-testid="route-error"' in html and "is-invalid" in html
        if value.strip():
            assert value not in html  # the form is not refilled with the value
    assert db_session.scalars(select(ImageRoute)).all() == []
    after = db_session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert after == before


def test_the_same_value_twice_is_a_form_error(app, db_session, case, referrer, as_user):
    client = as_user(referrer)
    url = f"/cases/{case.reference}/images/routes"
    data = {"kind": "patient_id", "value": PATIENT_ID}
    assert post_form(app, client, url, data).status_code == 303
    resp = post_form(app, client, url, data)
    assert resp.status_code == 422
    assert "already has a route" in resp.get_data(as_text=True)
    assert len(db_session.scalars(select(ImageRoute)).all()) == 1


def test_who_sees_and_changes_routes(app, db_session, case, referrer, make_user, as_user, sender):
    """The panel's coordinators see and manage them; its members see nothing of them (403 on
    the block and the forms); another referrer, another panel's member and an admin do not
    find the case (404); a family session is sent to sign in."""
    route = routing.add_route(case, referrer, "patient_id", PATIENT_ID)
    db_session.commit()
    base = f"/cases/{case.reference}/images"
    coordinator = as_user(make_user(roles=[("NAP", "coordinator")], name="Nap Coord"))
    assert 'data-testid="add-route"' in _block(coordinator, case)
    assert coordinator.get(base + "/network").status_code == 200

    member = as_user(make_user(roles=[("NAP", "member")], name="Nap Member"))
    html = _block(member, case)
    assert "hospital-images" not in html and "Image routes" not in html
    assert member.get(base + "/network").status_code == 403
    add = {"kind": "accession_number", "value": ACCESSION}
    assert post_form(app, member, base + "/routes", add).status_code == 403
    assert post_form(app, member, f"{base}/routes/{route.id}/remove").status_code == 403

    outsiders = [
        make_user(referrer_at="BIRMINGHAM", name="Other Referrer"),
        make_user(roles=[("ECMC-NORTH", "member")], name="North Member"),
        make_user(admin=True, name="An Admin"),
    ]
    for user in outsiders:
        client = as_user(user)
        assert client.get(base + "/network").status_code == 404
        assert post_form(app, client, base + "/routes", add).status_code == 404
        assert post_form(app, client, f"{base}/routes/{route.id}/remove").status_code == 404
    family = app.test_client()
    assert family.get(base + "/network").status_code == 302
    db_session.expire_all()
    assert route.expired_at is None
    assert len(db_session.scalars(select(ImageRoute)).all()) == 1


def test_a_route_of_another_case_cannot_be_removed_here(
    app, db_session, case, referrer, make_case, as_user
):
    other = make_case(referrer, submit=True)
    route = routing.add_route(other, referrer, "patient_id", PATIENT_ID)
    db_session.commit()
    client = as_user(referrer)
    resp = post_form(app, client, f"/cases/{case.reference}/images/routes/{route.id}/remove")
    assert resp.status_code == 404
    db_session.expire_all()
    assert route.expired_at is None


def test_a_case_sent_feedback_shows_its_routes_expired_and_no_form(
    app, db_session, case, referrer, as_user, monkeypatch
):
    routing.add_route(case, referrer, "accession_number", ACCESSION)
    db_session.commit()
    monkeypatch.setattr(type(case), "takes_images_from_network", lambda self: False)
    client = as_user(referrer)
    html = _block(client, case)
    assert "Expired" in html and 'data-testid="add-route"' not in html
    assert "no longer takes images" in html
    resp = post_form(
        app,
        client,
        f"/cases/{case.reference}/images/routes",
        {"kind": "patient_id", "value": PATIENT_ID},
    )
    assert resp.status_code == 403


# --------------------------------------------------------------------------- incoming
def _incoming(db_session, case, sender, state, **kw) -> IncomingStudy:
    row = IncomingStudy(
        source=kw.pop("source", "c-store"),
        sender_id=sender.id,
        centre_id=sender.centre_id,
        study_hmac=f"{state}-{kw.get('instance_count', 0)}",
        state=state,
        case_id=case.id,
        **kw,
    )
    db_session.add(row)
    db_session.commit()
    return row


def _upload(db_session, case, referrer, tmp_path) -> Upload:
    series = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32)
    from panel.imaging import ingest

    up = ingest.receive(
        case,
        referrer,
        "RVI PACS (DICOM)",
        [(p.name, io.BytesIO(p.read_bytes())) for p in series.paths],
    )
    db_session.commit()  # eager jobs: de-identified and stored now
    return up


def test_incoming_studies_in_plain_words(
    app, db_session, case, referrer, sender, as_user, tmp_path
):
    client = as_user(referrer)
    assert 'data-testid="no-incoming"' in _block(client, case)
    up = _upload(db_session, case, referrer, tmp_path)
    now = utcnow()
    _incoming(
        db_session,
        case,
        sender,
        "released",
        instance_count=3,
        upload_id=up.id,
        released_at=now,
        received_at=now - timedelta(minutes=3),
    )
    _incoming(
        db_session,
        case,
        sender,
        "refused",
        instance_count=0,
        reason="the study is larger than Panel accepts (1.0 GB); nothing of it was kept",
        received_at=now - timedelta(minutes=2),
    )
    html = _block(client, case)
    assert "Stored" in html and "3 stored · 0 held back for review · 0 refused" in html
    assert f"/images/uploads/{up.id}" in html  # the upload's progress page
    assert "Refused" in html and "The study is larger than Panel accepts" in html
    assert "sent by RVI PACS" in html and "(DICOM)" in html
    assert "data-polling" not in html  # nothing in progress: no polling

    # A study arriving: the block polls itself (every 3 s), and stops once it is done.
    arriving = _incoming(db_session, case, sender, "receiving", instance_count=1)
    resp = client.get(f"/cases/{case.reference}/images/network", headers={"HX-Request": "1"})
    html = resp.get_data(as_text=True)
    assert 'data-phase="arriving"' in html and 'hx-trigger="every 3s"' in html
    arriving.state, arriving.reason = "purged", "never finished arriving: deleted unread"
    db_session.commit()
    html = client.get(f"/cases/{case.reference}/images/network").get_data(as_text=True)
    assert "Deleted unread" in html and "Never finished arriving" in html
    assert "every 3s" not in html


def test_a_study_being_deidentified_shows_its_progress_and_polls(
    app, db_session, case, referrer, sender, as_user
):
    from panel.core import jobs
    from panel.imaging import ingest

    run_ready, jobs.run_ready = jobs.run_ready, lambda: 0
    try:
        up = ingest.receive(
            case, referrer, "RVI PACS (DICOM)", [("a.png", _png()), ("b.png", _png())]
        )
        db_session.commit()
    finally:
        jobs.run_ready = run_ready
        db_session.info.pop("panel_jobs_ready", None)
    _incoming(db_session, case, sender, "released", instance_count=2, upload_id=up.id)
    html = _block(as_user(referrer), case)
    assert 'data-phase="deidentifying"' in html and "De-identifying: 0 of 2" in html
    assert 'hx-trigger="every 3s"' in html and 'role="progressbar"' in html


def _png() -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 40, 60)).save(buf, format="PNG")
    buf.seek(0)
    return buf


def test_open_in_viewer_only_where_a_viewer_is_configured(
    app, db_session, case, referrer, sender, as_user, tmp_path
):
    from panel.imaging.models import StoredFile

    up = _upload(db_session, case, referrer, tmp_path)
    _incoming(db_session, case, sender, "released", instance_count=3, upload_id=up.id)
    client = as_user(referrer)
    assert "open-in-viewer" not in _block(client, case)
    app.config["DICOMWEB_VIEWER_URL"] = (
        "https://viewer.example.org/viewer?url={dicomweb}&StudyInstanceUIDs={study}"
    )
    try:
        html = _block(client, case)
    finally:
        app.config["DICOMWEB_VIEWER_URL"] = ""
    uid = db_session.scalar(select(StoredFile.study_uid).where(StoredFile.upload_id == up.id))
    assert uid
    expected = (
        "https://viewer.example.org/viewer?url=http://localhost/api/v1/cases/"
        f"{case.reference}/dicomweb&amp;StudyInstanceUIDs={uid}"
    )
    assert expected in html and "Open in viewer" in html


# --------------------------------------------------------------------------- admin
def test_admins_manage_dicom_senders(app, db_session, make_user, as_user, caplog):
    from panel.accounts.models import Centre

    admin = as_user(make_user(admin=True, name="Plain Admin"))
    centre = db_session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
    page = admin.get("/admin/dicom-senders")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No sender recorded yet." in html
    assert 'data-testid="node-ae">PANEL<' in html and 'data-testid="node-port">11112<' in html
    assert "/admin/dicom-senders" in admin.get("/").get_data(as_text=True)  # the admin menu

    bad = [
        ({"centre_id": "", "ae_title": "RVI_PACS"}, "Choose the centre"),
        ({"centre_id": centre.id, "ae_title": ""}, "An AE title cannot be empty"),
        ({"centre_id": centre.id, "ae_title": "A" * 17}, "at most 16 characters"),
        ({"centre_id": centre.id, "ae_title": "RVI\\PACS"}, "no \\"),
        ({"centre_id": centre.id, "ae_title": "RVI", "network": "10.1.300.0/8"}, "IP address"),
    ]
    for data, message in bad:
        resp = post_form(app, admin, "/admin/dicom-senders/ae", data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), data
    assert db_session.scalars(select(DicomSender)).all() == []

    resp = post_form(
        app,
        admin,
        "/admin/dicom-senders/ae",
        {"centre_id": centre.id, "ae_title": " RVI_PACS ", "network": "10.1.2.0/24", "label": ""},
    )
    assert resp.status_code == 303
    sender = db_session.scalars(select(DicomSender)).one()
    assert (sender.ae_title, sender.network, sender.centre_id) == (
        "RVI_PACS",
        "10.1.2.0/24",
        centre.id,
    )
    resp = post_form(
        app,
        admin,
        "/admin/dicom-senders/ae",
        {"centre_id": centre.id, "ae_title": "RVI_PACS", "network": "10.1.2.0/24"},
    )
    assert resp.status_code == 422 and "already recorded" in resp.get_data(as_text=True)

    # A DICOMweb sender: its token is shown once, on that answer only.
    resp = post_form(app, admin, "/admin/dicom-senders/dicomweb", {"centre_id": centre.id})
    assert resp.status_code == 422 and "Name the system" in resp.get_data(as_text=True)
    resp = post_form(
        app,
        admin,
        "/admin/dicom-senders/dicomweb",
        {"centre_id": centre.id, "label": "RVI DICOMweb"},
    )
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    web = db_session.scalars(select(DicomSender).where(DicomSender.ae_title.is_(None))).one()
    secret = html.split('readonly value="')[1].split('"')[0]
    assert secret.startswith(routing.TOKEN_PREFIX)
    assert routing.sender_for_token(secret).id == web.id
    listing = admin.get("/admin/dicom-senders").get_data(as_text=True)
    assert secret not in listing and f"{web.token_prefix}…" in listing
    assert secret not in _everything_stored(db_session) and secret not in caplog.text

    resp = post_form(app, admin, f"/admin/dicom-senders/{sender.id}/revoke")
    assert resp.status_code == 303
    db_session.expire_all()
    assert sender.revoked_at is not None
    assert "Revoked" in admin.get("/admin/dicom-senders").get_data(as_text=True)
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("dicom.%"))
    ).all()
    assert sorted(actions) == ["dicom.sender_added", "dicom.sender_added", "dicom.sender_revoked"]


def test_the_senders_page_is_for_admins_only(app, db_session, make_user, as_user):
    for user in (
        make_user(referrer_at="NEWCASTLE", name="A Referrer"),
        make_user(roles=[("NAP", "coordinator")], name="A Coordinator"),
    ):
        client = as_user(user)
        assert client.get("/admin/dicom-senders").status_code == 403
        assert post_form(app, client, "/admin/dicom-senders/ae", {}).status_code == 403
    assert db_session.scalars(select(DicomSender)).all() == []
