"""A running Panel DICOM node for tests: its own database (SQLite or PostgreSQL), the node on a
free port in a thread of the test process, a case with a referrer and a recorded sender."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from panel.core.db import db
from tests.support.db import database_url, dispose, drop_database, make_app, migrate_and_seed
from tests.support.factories import CaseFactory, UserFactory

SENDER_AE = "HOSP_PACS"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(tool: str) -> str:
    """The path of a Debian tool the test drives (``make test`` installs it as root)."""
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if path is None:
        pytest.skip(f"{tool} is not installed (make chromium installs dcmtk and orthanc as root)")
    return path


@dataclass
class Running:
    app: Any
    node: Any
    port: int
    ae_title: str
    case_id: int
    case_ref: str
    centre_id: int
    referrer_id: int
    sender_id: int


def start_node(backend: str, tmp_path: Path, **config: Any):
    """Yield a :class:`Running` node (a generator for a fixture)."""
    from panel.imaging.dimse import Node
    from panel.imaging.netmodels import DicomSender

    url = database_url(backend, tmp_path, f"panel_test_dicom_{uuid.uuid4().hex[:8]}")
    app = make_app(url, tmp_path / "storage", **config)
    migrate_and_seed(app)
    with app.app_context():
        referrer = UserFactory(db.session)(referrer_at="NEWCASTLE", name="Node Referrer")
        case = CaseFactory(db.session)(referrer, submit=True)
        sender = DicomSender(
            centre_id=case.referring_centre_id, label="RVI PACS", ae_title=SENDER_AE
        )
        db.session.add(sender)
        db.session.commit()
        ids = dict(
            case_id=case.id,
            case_ref=case.reference,
            centre_id=case.referring_centre_id,
            referrer_id=referrer.id,
            sender_id=sender.id,
        )
    port = free_port()
    node = Node(app, "PANEL_TEST")
    node.start("127.0.0.1", port, block=False)
    try:
        yield Running(app=app, node=node, port=port, ae_title="PANEL_TEST", **ids)
    finally:
        node.stop()
        dispose(app)
        drop_database(url)


def storescu(
    port: int, files: list[Path], *, calling: str = SENDER_AE, called: str = "PANEL_TEST", extra=()
) -> subprocess.CompletedProcess:
    """Send ``files`` with dcmtk's storescu (one association)."""
    exe = need("storescu")
    return subprocess.run(
        [exe, "-aet", calling, "-aec", called, *extra, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def wait_for(predicate, timeout: float = 30.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def associate(port: int, *, calling: str = SENDER_AE, called: str = "PANEL_TEST"):
    """A pynetdicom SCU association to the node (CT, secondary capture, SR, encapsulated PDF
    and verification contexts), for what storescu cannot do: abort mid-study, send the same
    instance twice, send bytes that are not a data set."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE
    from pynetdicom.sop_class import (
        BasicTextSRStorage,
        CTImageStorage,
        EncapsulatedPDFStorage,
        SecondaryCaptureImageStorage,
        Verification,
    )

    ae = AE(ae_title=calling)
    # CT in each transfer syntax on its own context: a file sent unparsed
    # (STORE_SEND_CHUNKED_DATASET) needs its own syntax accepted.
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context(CTImageStorage, ImplicitVRLittleEndian)
    ae.add_requested_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
    for context in (
        SecondaryCaptureImageStorage,
        BasicTextSRStorage,
        EncapsulatedPDFStorage,
        Verification,
    ):
        ae.add_requested_context(context)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae.associate("127.0.0.1", port, ae_title=called)


def with_accession(paths: list[Path], accession: str, study_uid: str | None = None) -> list[Path]:
    """Rewrite each file with this Accession Number (and Study Instance UID): what a route
    matches."""
    import pydicom

    for p in paths:
        ds = pydicom.dcmread(p)
        ds.AccessionNumber = accession
        if study_uid:
            ds.StudyInstanceUID = study_uid
        ds.save_as(p)
    return list(paths)


def incoming(app) -> list:
    """The node's IncomingStudy rows (read in a fresh session)."""
    from sqlalchemy import select

    from panel.imaging.netmodels import IncomingStudy

    with app.app_context():
        try:
            rows = db.session.scalars(select(IncomingStudy).order_by(IncomingStudy.id)).all()
            for r in rows:
                db.session.expunge(r)
            return rows
        finally:
            db.session.remove()
