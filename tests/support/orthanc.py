"""Debian's Orthanc as a hospital PACS for tests (issue 19).

:func:`start_orthanc` runs ``/usr/sbin/Orthanc`` as a subprocess with its own JSON configuration
in the test's tmp folder: its own storage and index, free HTTP and DICOM ports, an AE title,
Panel's node as the modality ``panel``, no authentication and no remote access (it listens to
localhost only). It yields an :class:`Orthanc` with the REST helpers the tests need (upload an
instance, push a study to Panel with C-STORE, read a job), and stops the process at teardown.
A test skips with the reason when Orthanc is not installed (``make chromium`` installs it).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.dicomnode import free_port

ORTHANC = Path("/usr/sbin/Orthanc")
PLUGINS = Path("/usr/share/orthanc/plugins")
#: The modality name Orthanc knows Panel's node by.
PANEL = "panel"


class OrthancError(AssertionError):
    """A REST call Orthanc answered with an error (its status and body in the message)."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = response.text
        super().__init__(f"Orthanc answered {self.status}: {self.body}")


@dataclass
class Orthanc:
    """A running Orthanc: its AE title, ports, folder and process."""

    ae_title: str
    http_port: int
    dicom_port: int
    folder: Path
    process: subprocess.Popen
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> str:
        path = self.folder / "orthanc.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _check(self, response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise OrthancError(response)
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self._check(self.session.get(self.url + path, timeout=30))

    def post(self, path: str, body: Any = None, *, timeout: float = 120) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {})
        return self._check(self.session.post(self.url + path, data=data, timeout=timeout))

    def upload(self, path: Path) -> dict[str, Any]:
        """Store one DICOM file in Orthanc (``POST /instances``): its answer, with the Orthanc
        IDs of the instance (``ID``) and of its study (``ParentStudy``)."""
        return self.post("/instances", path.read_bytes())

    def upload_study(self, paths: list[Path]) -> str:
        """Store a study's files; its Orthanc study ID."""
        studies = {self.upload(p)["ParentStudy"] for p in paths}
        assert len(studies) == 1, "the files are not one study"
        return studies.pop()

    def files(self, study_id: str) -> list[bytes]:
        """The DICOM files Orthanc holds for a study (what it will send)."""
        instances = self.get(f"/studies/{study_id}/instances")
        out = []
        for instance in instances:
            response = self.session.get(f"{self.url}/instances/{instance['ID']}/file", timeout=30)
            if response.status_code != 200:
                raise OrthancError(response)
            out.append(response.content)
        return out

    def push(self, study_id: str, *, timeout: float = 300) -> Any:
        """Send a study to Panel with C-STORE and wait for it (a synchronous job): Orthanc's
        answer, or :class:`OrthancError` when the job failed."""
        return self.post(
            f"/modalities/{PANEL}/store",
            {"Resources": [study_id], "Synchronous": True},
            timeout=timeout,
        )

    def push_job(self, study_id: str) -> str:
        """Send a study to Panel as an asynchronous job; the job's ID."""
        return self.post(
            f"/modalities/{PANEL}/store", {"Resources": [study_id], "Asynchronous": True}
        )["ID"]

    def job(self, job_id: str, *, timeout: float = 120) -> dict[str, Any]:
        """The job's description (``State``, ``ErrorCode``, ``ErrorDescription``,
        ``ErrorDetails``, ``Content``) once it has finished (Success or Failure)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/jobs/{job_id}")
            if job["State"] in ("Success", "Failure"):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"Orthanc job {job_id} still {job['State']}")
            time.sleep(0.1)

    def point_at(self, ae_title: str, port: int, host: str = "127.0.0.1") -> None:
        """Make the modality ``panel`` Panel's node at ``host:port`` (``PUT /modalities``), so
        one Orthanc can serve tests that each start their own node."""
        response = self.session.put(
            f"{self.url}/modalities/{PANEL}",
            data=json.dumps({"AET": ae_title, "Host": host, "Port": port}),
            timeout=30,
        )
        self._check(response)

    def clear(self) -> None:
        """Delete every study Orthanc holds (a clean PACS for the next test)."""
        for study_id in self.get("/studies"):
            self._check(self.session.delete(f"{self.url}/studies/{study_id}", timeout=30))

    def echo(self) -> bool:
        """Does Panel answer Orthanc's C-ECHO?"""
        response = self.session.post(f"{self.url}/modalities/{PANEL}/echo", data="{}", timeout=60)
        return response.status_code == 200


def config(
    folder: Path,
    *,
    ae_title: str,
    http_port: int,
    dicom_port: int,
    panel_ae: str,
    panel_port: int,
    panel_host: str = "127.0.0.1",
) -> dict[str, Any]:
    """Orthanc's configuration: a PACS of its own on localhost that knows Panel's node."""
    dicomweb = PLUGINS / "libOrthancDicomWeb.so"
    return {
        "Name": f"{ae_title} (test PACS)",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "StorageCompression": False,
        "Plugins": [str(dicomweb)] if dicomweb.exists() else [],
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,  # localhost only
        "AuthenticationEnabled": False,
        "SslEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": ae_title,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "DicomModalities": {PANEL: [panel_ae, panel_host, panel_port]},
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        # Release each association as soon as the job is done (the default keeps it open for
        # 5 s to reuse it; Panel routes a study when its association is released).
        "DicomAssociationCloseDelay": 0,
        "DicomScuTimeout": 30,
        "SaveJobs": False,
        "JobsHistorySize": 50,
        "ConcurrentJobs": 1,
        "HttpTimeout": 120,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }


def start_orthanc(tmp_path: Path, *, panel_ae: str, panel_port: int, ae_title: str = "RVI_PACS"):
    """Yield a running :class:`Orthanc` (a generator for a fixture); skip if not installed."""
    if not ORTHANC.exists():
        pytest.skip("Orthanc is not installed (make chromium installs orthanc as root)")
    folder = tmp_path / "orthanc"
    folder.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    while dicom_port == http_port:
        dicom_port = free_port()
    settings = config(
        folder,
        ae_title=ae_title,
        http_port=http_port,
        dicom_port=dicom_port,
        panel_ae=panel_ae,
        panel_port=panel_port,
    )
    path = folder / "orthanc.json"
    path.write_text(json.dumps(settings, indent=2))
    process = subprocess.Popen(  # noqa: S603 - a fixed executable and our own config
        [str(ORTHANC), f"--logfile={folder / 'orthanc.log'}", "--no-jobs", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    orthanc = Orthanc(ae_title, http_port, dicom_port, folder, process)
    try:
        _wait_ready(orthanc)
        yield orthanc
    finally:
        orthanc.session.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(orthanc: Orthanc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if orthanc.process.poll() is not None:
            raise AssertionError(
                f"Orthanc exited ({orthanc.process.returncode}) at start:\n{orthanc.log[-3000:]}"
            )
        try:
            if orthanc.session.get(orthanc.url + "/system", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"Orthanc did not answer in {timeout:g} s:\n{orthanc.log[-3000:]}")
        time.sleep(0.1)
