"""Looking at images is audited (issue 12): once per series per sign-in session, however many
frames the viewer loads. Entries are written when the response is closed (see
tests/core/test_read_audit.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.core.models import AuditEntry
from panel.imaging.models import StoredFile
from tests.support import synth


@pytest.fixture
def series(app, db_session, login, people, make_case, upload, tmp_path):
    """A submitted NAP case with a 3-slice CT series; (case, series UID, a file id)."""
    case = make_case(people["referrer"], submit=True)
    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32, noise=False)
    client = app.test_client()
    login(client, people["referrer"])
    resp = upload(client, case, [(p.name, p) for p in ct.paths], label="CT")
    assert resp.status_code == 200
    f = db_session.scalar(select(StoredFile).where(StoredFile.case_id == case.id).limit(1))
    return case, f.series_uid, f.id


def _reads(db_session):
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == "images.viewed").order_by(AuditEntry.id)
        )
    )


def _get(client, url):
    resp = client.get(url)
    resp.close()
    return resp


def test_viewer_and_frames_record_one_entry_per_series_per_session(
    app, db_session, login, people, series
):
    """The viewer page and two frames: one ``images.viewed`` entry (actor, case, panel, series,
    clinical); a new sign-in session records a new one."""
    case, uid, _ = series
    member = people["nap_member"]
    client = app.test_client()
    login(client, member)
    base = f"/cases/{case.reference}/images/series/{uid}"
    assert _get(client, base).status_code == 200
    assert _get(client, f"{base}/frames/0.png").status_code == 200
    assert _get(client, f"{base}/frames/1.png").status_code == 200
    [entry] = _reads(db_session)
    assert (
        entry.actor_id == member.id
        and entry.object_type == "case"
        and entry.object_id == case.reference
    )
    assert (
        entry.panel_id == case.panel_id
        and entry.details == {"series": uid}
        and entry.clinical is True
    )

    again = app.test_client()  # another sign-in session
    login(again, member)
    assert _get(again, f"{base}/frames/2.png").status_code == 200
    assert len(_reads(db_session)) == 2


def test_two_frame_requests_record_one_entry(app, db_session, login, people, series):
    """Frames loaded without the viewer page (presentation mode): two requests, one entry."""
    case, uid, _ = series
    client = app.test_client()
    login(client, people["nap_coordinator"])
    base = f"/cases/{case.reference}/images/series/{uid}/frames"
    assert _get(client, f"{base}/0.png").status_code == 200
    assert _get(client, f"{base}/1.png").status_code == 200
    assert len(_reads(db_session)) == 1
    # The thumbnail of a file of the same series is the same series: still one entry.
    _, _, file_id = series
    assert (
        _get(
            client, f"/cases/{case.reference}/images/files/{file_id}/preview.png?size=64"
        ).status_code
        == 200
    )
    assert len(_reads(db_session)) == 1


def test_refused_frames_record_nothing(app, db_session, login, people, series):
    """Someone who may not see the case (404), or a frame that does not exist (404): no entry,
    and the refusal does not count as "seen" for the session."""
    case, uid, _ = series
    outsider = app.test_client()
    login(outsider, people["other_referrer"])
    base = f"/cases/{case.reference}/images/series/{uid}"
    assert _get(outsider, base).status_code == 404
    assert _get(outsider, f"{base}/frames/0.png").status_code == 404
    member = app.test_client()
    login(member, people["nap_member"])
    assert _get(member, f"{base}/frames/99.png").status_code == 404
    assert _reads(db_session) == []
    assert _get(member, f"{base}/frames/0.png").status_code == 200
    assert len(_reads(db_session)) == 1
