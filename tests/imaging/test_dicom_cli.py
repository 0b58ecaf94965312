"""The DICOM node's commands (issue 19): ``flask --app panel dicom-ae add/list/remove/token``
through Click's runner, and ``flask --app panel dicom-listen`` as a real process receiving
storescu's study (SQLite file, in-process jobs), stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select

from panel.core.db import db
from panel.core.models import AuditEntry
from panel.imaging import routing
from panel.imaging.models import StoredFile, Upload
from panel.imaging.netmodels import DicomSender, IncomingStudy
from tests.support import synth
from tests.support.db import ROOT, dispose, make_app, migrate_and_seed
from tests.support.dicomnode import (
    SENDER_AE,
    associate,
    free_port,
    need,
    storescu,
    wait_for,
    with_accession,
)
from tests.support.factories import CaseFactory, UserFactory
from tests.support.workers import stack_env

ACCESSION = "RVI20261208"


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["dicom-ae", *args])


def _actions(session) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "dicom_sender")
            .order_by(AuditEntry.id)
        )
    )


# --------------------------------------------------------------------------- dicom-ae
def test_dicom_ae_add_list_remove_and_token(app, db_session):
    added = _run(app, "add", "newcastle", "RVI_PACS", "--network", "10.1.2.3/16")
    assert added.exit_code == 0, added.output
    assert "AE title RVI_PACS from 10.1.0.0/16 sends for NEWCASTLE" in added.output
    sender = db_session.scalar(select(DicomSender).where(DicomSender.ae_title == "RVI_PACS"))
    assert sender.network == "10.1.0.0/16" and sender.active
    anywhere = _run(app, "add", "NEWCASTLE", "RVI_MODALITY", "--label", "RVI CT")
    assert anywhere.exit_code == 0 and "from any address" in anywhere.output
    token = _run(app, "token", "NEWCASTLE", "RVI DICOMweb")
    assert token.exit_code == 0, token.output
    secret = token.output.strip().splitlines()[-1]
    assert secret.startswith(routing.TOKEN_PREFIX)
    assert secret not in str(
        [(s.token_hash, s.token_prefix) for s in db_session.scalars(select(DicomSender))]
    )
    listed = _run(app, "list")
    assert listed.exit_code == 0
    assert "RVI_PACS\t10.1.0.0/16" in listed.output.replace("AE ", "")
    assert "DICOMweb" in listed.output and secret not in listed.output
    removed = _run(app, "remove", str(sender.id))
    assert removed.exit_code == 0 and "revoked" in removed.output
    db_session.refresh(sender)
    assert not sender.active
    assert f"{sender.id}\tNEWCASTLE\tAE RVI_PACS" in _run(app, "list").output
    # The same AE title and network again: the revoked sender is reinstated, not a 500.
    again = _run(app, "add", "NEWCASTLE", "RVI_PACS", "--network", "10.1.0.0/16")
    assert again.exit_code == 0, again.output
    db_session.refresh(sender)
    assert sender.active
    assert _actions(db_session) == [
        "dicom.sender_added",
        "dicom.sender_added",
        "dicom.sender_added",
        "dicom.sender_revoked",
        "dicom.sender_added",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "NEWCASTLE", "   "], "cannot be empty"),
        (["add", "NEWCASTLE", "A_TITLE_OF_17_CHR"], "at most 16 characters"),
        (["add", "NEWCASTLE", "RVI\\PACS"], "no \\"),
        (["add", "NEWCASTLE", "RVI\tPACS"], "letters, digits"),
        (["add", "NEWCASTLE", "RVI_PACS", "--network", "10.1.0.0/33"], "not an IP address"),
        (["add", "NEWCASTLE", "RVI_PACS", "--network", "hospital"], "not an IP address"),
        (["add", "ATLANTIS", "RVI_PACS"], "No centre with code 'ATLANTIS'"),
        (["token", "ATLANTIS", "Somewhere"], "No centre with code 'ATLANTIS'"),
        (["remove", "999999"], "No sender 999999"),
        (["remove", "one"], "is not a valid integer"),
    ],
)
def test_dicom_ae_refuses_bad_input_clearly(app, db_session, args, message):
    result = _run(app, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert db_session.scalars(select(DicomSender)).all() == []
    assert _actions(db_session) == []


def test_dicom_ae_refuses_a_title_already_recorded(app, db_session):
    assert _run(app, "add", "NEWCASTLE", "RVI_PACS").exit_code == 0
    twice = _run(app, "add", "NEWCASTLE", "RVI_PACS")
    assert twice.exit_code != 0 and "already recorded" in twice.output
    net = _run(app, "add", "NEWCASTLE", "RVI_PACS", "--network", "10.1.0.0/16")
    assert net.exit_code == 0  # the same title from a named network is another sender
    assert _run(app, "remove", str(db_session.scalars(select(DicomSender)).all()[-1].id))
    elsewhere = _run(app, "add", "BIRMINGHAM", "RVI_PACS", "--network", "10.1.0.0/16")
    assert elsewhere.exit_code != 0 and "another centre" in elsewhere.output
    assert len(db_session.scalars(select(DicomSender)).all()) == 2


def test_dicom_listen_refuses_a_bad_ae_title(app):
    result = app.test_cli_runner().invoke(args=["dicom-listen", "--ae-title", "X" * 17])
    assert result.exit_code != 0 and "at most 16 characters" in result.output


# --------------------------------------------------------------------------- dicom-listen
@pytest.fixture
def deployment(tmp_path):
    """A SQLite file database with a case, its route and the sender; the environment of a
    ``dicom-listen`` process running its jobs in-process."""
    url = f"sqlite:///{tmp_path / 'panel.sqlite3'}"
    storage = tmp_path / "storage"
    env = stack_env(url, storage, PANEL_JOBS_MODE="inprocess")
    env.pop("PANEL_REDIS_URL")
    app = make_app(url, storage, SECRET_KEY=env["PANEL_SECRET_KEY"])
    migrate_and_seed(app)
    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="CLI Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        db.session.add(
            DicomSender(centre_id=case.referring_centre_id, label="RVI PACS", ae_title=SENDER_AE)
        )
        routing.add_route(case, referrer, "accession_number", ACCESSION)
        db.session.commit()
        case_id = case.id
    dispose(app)
    yield app, env, case_id
    dispose(app)


def _stopped(proc: subprocess.Popen, log: Path) -> int:
    """The node's exit code once it has stopped (it lets a running job finish first), or the
    node's own log when it does not: under load the signal once reached another thread, and
    the node, blocked in one endless wait, never stopped (it now waits in short steps)."""
    try:
        return proc.wait(90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dicom-listen did not stop within 90 s:\n{log.read_text()[-3000:]}")


def _listen(env, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            *("-m", "flask", "--app", "panel", "dicom-listen"),
            *("--host", "127.0.0.1", "--port", str(port), "--ae-title", "PANEL_CLI"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    echoscu = need("echoscu")

    def answers():
        if proc.poll() is not None:
            raise AssertionError(f"dicom-listen exited: {log.read_text()[-2000:]}")
        return (
            subprocess.run(
                [echoscu, "-aet", SENDER_AE, "-aec", "PANEL_CLI", "127.0.0.1", str(port)],
                capture_output=True,
                timeout=30,
            ).returncode
            == 0
        )

    wait_for(answers, timeout=60, step=0.2)
    return proc


def _study(tmp_path, n=3):
    series = synth.make_ct_series(tmp_path / "ct", n, rows=32, cols=32)
    return with_accession(list(series.paths), ACCESSION)


@pytest.mark.multiprocess
def test_dicom_listen_receives_a_study_into_its_case_and_stops_on_ctrl_c(deployment, tmp_path):
    app, env, case_id = deployment
    log = tmp_path / "node.log"
    port = free_port()
    proc = _listen(env, port, log)
    try:
        paths = _study(tmp_path)
        sent = storescu(port, paths, called="PANEL_CLI")
        assert sent.returncode == 0, sent.stderr

        def stored():
            with app.app_context():
                try:
                    upload = db.session.scalars(select(Upload)).first()
                    return upload is not None and upload.finished
                finally:
                    db.session.remove()

        wait_for(stored, timeout=60, step=0.2)
        proc.send_signal(signal.SIGINT)
        assert _stopped(proc, log) == 0, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    output = log.read_text()
    assert "listening on 127.0.0.1" in output and "stopped" in output
    assert ACCESSION not in output and "Example^Child" not in output
    with app.app_context():
        row = db.session.scalars(select(IncomingStudy)).one()
        assert row.state == "released" and row.case_id == case_id
        files = db.session.scalars(select(StoredFile).where(StoredFile.case_id == case_id)).all()
        assert len(files) == len(paths)
        storage = routing.get_storage()
        for f in files:
            ds = pydicom.dcmread(storage.path(f.storage_key))
            assert ds.get("AccessionNumber", "") != ACCESSION
            assert "Example" not in str(ds.get("PatientName", ""))
        assert not routing.quarantine_dir(storage, row.id).exists()
        db.session.remove()


@pytest.mark.multiprocess
def test_dicom_listen_stopped_mid_study_keeps_nothing(deployment, tmp_path):
    app, env, _ = deployment
    log = tmp_path / "node.log"
    port = free_port()
    proc = _listen(env, port, log)
    try:
        paths = _study(tmp_path)
        assoc = associate(port, called="PANEL_CLI")
        assert assoc.send_c_store(pydicom.dcmread(paths[0])).Status == 0
        proc.terminate()  # SIGTERM, as systemd or docker stop sends
        assert _stopped(proc, log) == 0, log.read_text()[-2000:]
        wait_for(lambda: assoc.is_aborted, timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    with app.app_context():
        row = db.session.scalars(select(IncomingStudy)).one()
        assert row.state == "refused"
        assert "node stopped" in row.reason
        assert db.session.scalars(select(Upload)).all() == []
        root = routing.get_storage().root / "quarantine"
        assert list(root.glob("study-*/*")) == []
        db.session.remove()
