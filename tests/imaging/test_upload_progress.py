"""An upload's page and its htmx progress block at each state (issue 18).

The queue's eager mode (the suite's default) runs an upload's jobs when its commit returns. To
see the page while files wait, these tests stop the eager run (``jobs.run_ready`` does nothing),
so the ``imaging.ingest`` jobs stay queued, then run them one by one as a worker would."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from panel.core import jobs
from panel.core.models import Job
from panel.imaging.models import Upload

NHS_NAME = "scan_9434765919.png"  # a valid NHS number (mod 11): refused by its name


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (seed % 256, 40, 90)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def held(monkeypatch):
    """Jobs are asked for and committed, but not run until the test runs them."""
    monkeypatch.setattr(jobs, "run_ready", lambda: 0)


def _send(upload, client, case, files, label="CT chest"):
    resp = upload(client, case, files, label=label, as_json=False)
    assert resp.status_code == 303
    return resp.headers["Location"]


def _file_jobs(db_session, page_url: str) -> list[Job]:
    upload_id = int(page_url.rstrip("/").rsplit("/", 1)[1])
    db_session.expire_all()
    up = db_session.get(Upload, upload_id)
    return list(db_session.scalars(select(Job).where(Job.parent_id == up.job_id).order_by(Job.id)))


def _states(html: str) -> list[str]:
    return re.findall(r'data-testid="upload-file" data-state="(\w+)"', html)


HX = {"HX-Request": "true"}


def test_queued_then_running_then_done(app, db_session, ref_client, case, upload, held):
    files = [("a.png", _png(1)), ("b.png", _png(2)), ("c.png", _png(3)), (NHS_NAME, _png(4))]
    url = _send(upload, ref_client, case, files)
    jobs_ = _file_jobs(db_session, url)
    assert [j.state for j in jobs_] == ["queued"] * 4

    # queued: a row per file, the page polls (htmx) and refreshes itself without JavaScript
    page = ref_client.get(url).get_data(as_text=True)
    assert _states(page) == ["queued"] * 4
    assert 'hx-trigger="every 2s"' in page and 'http-equiv="refresh"' in page
    assert "0 of 4 files done" in page and "4 still to check" in page
    assert 'aria-live="polite"' in page and 'aria-label="Files done"' in page
    assert page.count('aria-valuetext="Queued"') == 4  # the state in words, not colour only
    assert "Upload “CT chest”" in page

    # the htmx block (what the case page's uploader loads) and its polled body
    block = ref_client.get(url + "?in=card", headers=HX).get_data(as_text=True)
    assert "<html" not in block and 'data-testid="upload-page-link"' in block
    assert 'hx-trigger="every 2s"' in block and "in=card" in block
    body_url = re.search(r'hx-get="([^"]+)"', block).group(1).replace("&amp;", "&")
    body = ref_client.get(body_url, headers=HX).get_data(as_text=True)
    assert "<html" not in body and 'hx-swap-oob="innerHTML"' not in body  # nothing moved
    assert _states(body) == ["queued"] * 4

    # one file checked by hand: that row says stored, the counts move, it is announced once
    assert jobs.run(jobs_[0].id) == "ran"
    body = ref_client.get(body_url, headers=HX).get_data(as_text=True)
    assert _states(body) == ["stored", "queued", "queued", "queued"]
    assert "1 of 4 files done" in body and "3 still to check" in body
    assert 'hx-swap-oob="innerHTML"' in body and "1 of 4 files done: 1 stored" in body
    assert 'hx-trigger="every 2s"' in body
    index = ref_client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert 'data-testid="recent-upload" data-state="running"' in index
    assert "Checking: 1 of 4 done" in index

    # all done: no polling, the final counts, the refused file's reason
    for j in jobs_[1:]:
        assert jobs.run(j.id) == "ran"
    body = ref_client.get(body_url, headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in body and 'data-state="done"' in body
    assert _states(body) == ["stored", "stored", "stored", "refused"]
    assert "All 4 files done" in body and "3 stored" in body and "1 refused" in body
    assert "still to check" not in body and "identifier" in body.lower()
    assert 'data-testid="upload-card-done"' in body  # in the card: the list above is updated
    page = ref_client.get(url).get_data(as_text=True)
    assert "hx-trigger" not in page and 'http-equiv="refresh"' not in page
    assert 'data-testid="upload-card-done"' not in page
    index = ref_client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert 'data-testid="recent-upload" data-state="done"' in index
    assert url in index and "3 stored · 0 awaiting review · 1 refused" in index
    api = ref_client.get(url, headers={"Accept": "application/json"}).get_json()
    assert api["state"] == "done" and api["counts"]["stored"] == 3 and api["done"] == 4


def test_a_duplicate_and_the_json_answer_share_the_state(
    app, db_session, ref_client, case, upload, held
):
    url = _send(upload, ref_client, case, [("a.png", _png(7))])
    [job] = _file_jobs(db_session, url)
    jobs.run(job.id)
    again = upload(ref_client, case, [("a-again.png", _png(7))])  # JSON, as the uploader asks
    assert again.status_code == 202
    data = again.get_json()
    assert data["state"] == "queued" and data["progress"].endswith(f"/uploads/{data['upload_id']}")
    assert [f["status"] for f in data["files"]] == ["queued"]
    [job] = _file_jobs(db_session, data["progress"])
    jobs.run(job.id)
    page = ref_client.get(data["progress"]).get_data(as_text=True)
    assert _states(page) == ["duplicate"] and "Already uploaded" in page
    assert "1 already uploaded" in page


def test_a_long_upload_lists_only_files_that_need_attention(
    app, db_session, ref_client, case, upload, held
):
    files = [(f"s{n:03}.png", _png(n)) for n in range(203)] + [(NHS_NAME, _png(999))]
    url = _send(upload, ref_client, case, files)
    jobs_ = _file_jobs(db_session, url)
    assert len(jobs_) == 204
    jobs.run(jobs_[0].id)  # stored: counted, not listed
    jobs.run(jobs_[-1].id)  # refused: listed
    page = ref_client.get(url).get_data(as_text=True)
    assert _states(page) == ["refused"]
    assert 'data-testid="upload-long-note"' in page
    assert "202 files wait in the queue" in page and "2 of 204 files done" in page
    assert len(page) < 60_000  # not a row per file


@pytest.mark.parametrize("who", ["other_referrer", "nap_member", "north_coordinator", "admin"])
def test_people_who_cannot_see_the_upload_get_404(
    app, db_session, client, login, people, case, upload, held, who
):
    login(client, people["referrer"])
    url = _send(upload, client, case, [("a.png", _png(1))])
    client = app.test_client()
    login(client, people[who])
    for u, headers in ((url, {}), (url + "?in=card", HX), (url + "?part=body", HX)):
        assert client.get(u, headers=headers).status_code == 404
    assert client.get(url, headers={"Accept": "application/json"}).status_code == 404
    index = client.get(f"/cases/{case.reference}/images")
    assert 'data-testid="recent-uploads"' not in index.get_data(as_text=True)


def test_the_panels_coordinator_follows_the_upload(
    app, db_session, client, login, people, case, upload, held
):
    login(client, people["referrer"])
    url = _send(upload, client, case, [("a.png", _png(1))])
    client = app.test_client()
    login(client, people["nap_coordinator"])
    assert client.get(url).status_code == 200
    index = client.get(f"/cases/{case.reference}/images").get_data(as_text=True)
    assert 'data-testid="recent-upload"' in index and url in index


def test_an_upload_is_not_reached_through_another_case_or_by_those_who_only_see_the_case(
    app, db_session, client, login, people, make_case, make_user, upload, held
):
    """Review 18: the upload id is checked against the case in the URL (an id of the
    referrer's other case answers 404 there), and a submitted case's panel member and an
    invited expert with current access, who both see the case, do not see its uploads
    (file names, held-back files) nor have them listed."""
    from datetime import timedelta

    from panel.cases.guests import CaseGuestAccess
    from panel.core.db import utcnow

    case = make_case(people["referrer"], submit=True)
    other = make_case(people["referrer"])
    guest = make_user(name="Dr Expert")
    now = utcnow()
    db_session.add(
        CaseGuestAccess(
            case_id=case.id,
            user_id=guest.id,
            granted_by_id=people["nap_coordinator"].id,
            granted_at=now,
            expires_at=now + timedelta(days=5),
        )
    )
    db_session.commit()
    login(client, people["referrer"])
    url = _send(upload, client, case, [("a.png", _png(1))])
    upload_id = url.rstrip("/").rsplit("/", 1)[1]
    assert client.get(url).status_code == 200
    assert client.get(f"/cases/{other.reference}/images/uploads/{upload_id}").status_code == 404
    for who in (people["nap_member"], guest):
        c = app.test_client()
        login(c, who)
        assert c.get(f"/cases/{case.reference}").status_code == 200  # they see the case
        for u, headers in ((url, {}), (url + "?in=card", HX), (url + "?part=body", HX)):
            assert c.get(u, headers=headers).status_code == 404, (who.name, u)
        index = c.get(f"/cases/{case.reference}/images").get_data(as_text=True)
        assert 'data-testid="recent-uploads"' not in index


def test_the_purge_keeps_a_waiting_uploads_spool_and_removes_one_no_job_will_read(
    app, db_session, client, login, people, case, upload, held
):
    """Review 18: the spool holds the originals as received (not de-identified). An upload
    whose files still wait for their jobs keeps them; one whose group was closed without it
    being finished (its closing hook failed for good) or whose job rows are gone is never
    finished by anyone: once untouched for PURGE_TEMP_HOURS its originals are removed."""
    import os
    import time

    from panel.core.db import db, utcnow
    from panel.core.storage import get_storage
    from panel.imaging import ingest

    login(client, people["referrer"])
    url = _send(upload, client, case, [("a.png", _png(1)), ("b.png", _png(2))])
    up = db.session.get(Upload, int(url.rstrip("/").rsplit("/", 1)[1]))
    spool = ingest.spool_dir(get_storage(), up.id)
    assert sorted(p.name for p in spool.iterdir()) == ["1", "2"]
    old = time.time() - 3 * 86400

    def age() -> None:
        for p in (*spool.iterdir(), spool):
            os.utime(p, (old, old))

    age()
    ingest.purge_upload_spool(utcnow())
    assert spool.is_dir()  # its jobs are queued: they will read these

    group = db.session.get(Job, up.job_id)
    group.state = "done"  # closed, but the hook that finishes the upload never ran
    db.session.commit()
    assert not db.session.get(Upload, up.id).finished
    ingest.purge_upload_spool(utcnow())
    assert not spool.exists()


def test_a_leftover_spool_folder_with_the_same_id_is_emptied_first(
    app, db_session, client, login, people, case, upload, held
):
    """Review 18: a request killed while receiving leaves ``incoming/upload-<id>``; SQLite gives
    that id to the next upload, which found the other request's originals (not de-identified)
    beside its own, kept until it finished. Is a leftover folder emptied before receiving?"""
    import shutil

    from panel.core.db import db
    from panel.core.storage import get_storage
    from panel.imaging import ingest

    storage = get_storage()
    last = db.session.scalar(select(Upload.id).order_by(Upload.id.desc()).limit(1)) or 0
    made = []
    for n in range(1, last + 3000):  # whatever id the next upload gets (PostgreSQL: sequence)
        folder = ingest.spool_dir(storage, n)
        if not folder.exists():
            folder.mkdir(parents=True)
            (folder / "7").write_bytes(b"stale original")
            made.append(folder)
    try:
        login(client, people["referrer"])
        url = _send(upload, client, case, [("a.png", _png(1))])
        up_id = int(url.rstrip("/").rsplit("/", 1)[1])
        assert up_id < last + 3000
        assert [p.name for p in ingest.spool_dir(storage, up_id).iterdir()] == ["1"]
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
