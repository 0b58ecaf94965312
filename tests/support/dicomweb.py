"""DICOMweb in tests: ``dicomweb-client`` talking to the app through the Flask test client (a
``requests`` adapter, no socket), STOW-RS bodies, and a released DICOM file planted in a case."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pydicom
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

BASE = "http://panel.test"


class TestClientAdapter(BaseAdapter):
    """Sends ``requests``' prepared requests to a Flask test client (chunked bodies joined)."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        body = request.body
        if body is not None and not isinstance(body, bytes | str):
            body = b"".join(body)
        if isinstance(body, str):
            body = body.encode()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("transfer-encoding", "content-length", "host", "connection")
        }
        resp = self.client.open(
            url.path, query_string=url.query, method=request.method, headers=headers, data=body
        )
        out = requests.Response()
        out.status_code = resp.status_code
        out.headers = CaseInsensitiveDict(resp.headers)
        out._content = resp.get_data()
        resp.close()  # runs the response's close callbacks (the read audit entries)
        out.url = request.url
        out.request = request
        out.reason = resp.status.partition(" ")[2]
        out.encoding = "utf-8"
        return out

    def close(self) -> None:
        pass


def dicomweb_client(client, path: str, token: str | None):
    """A ``DICOMwebClient`` for ``BASE + path`` answered by the test ``client``."""
    from dicomweb_client.api import DICOMwebClient

    session = requests.Session()
    session.mount(BASE, TestClientAdapter(client))
    headers = {"Authorization": f"Bearer {token}"} if token else None
    web = DICOMwebClient(BASE + path, session=session, headers=headers)
    web.set_http_retry_params(retry=False)
    return web


def stow_body(parts: list[bytes], boundary: str = "panel-test-boundary", *, close=True) -> bytes:
    """A STOW-RS body of ``application/dicom`` parts (without the closing boundary if not
    ``close``)."""
    out = b""
    for data in parts:
        out += b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n"
        out += data + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out


def stow_type(boundary: str = "panel-test-boundary") -> str:
    return f'multipart/related; type="application/dicom"; boundary={boundary}'


def plant_released_file(db_session, case, path: Path):
    """Put a DICOM file into ``case`` as a released (stored) file, as if de-identified: for
    tests that need a series without running the pipeline. Returns the StoredFile."""
    from panel.core.storage import get_storage, sha256_file
    from panel.imaging.models import FileKind, FileStatus, StoredFile, Upload

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    storage = get_storage()
    key = storage.put_file(path)
    upload = Upload(case_id=case.id, label="planted " + uuid.uuid4().hex[:6])
    db_session.add(upload)
    db_session.flush()
    row = StoredFile(
        case_id=case.id,
        upload_id=upload.id,
        kind=FileKind.DICOM,
        storage_key=key,
        sha256=sha256_file(path),
        size=Path(path).stat().st_size,
        content_type="application/dicom",
        display_name="instance.dcm",
        status=FileStatus.STORED,
        modality=str(ds.get("Modality", "")) or None,
        series_uid=str(ds.SeriesInstanceUID),
        study_uid=str(ds.StudyInstanceUID),
        sop_instance_uid=str(ds.SOPInstanceUID),
        instance_number=int(ds.get("InstanceNumber", 1) or 1),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        frames=int(ds.get("NumberOfFrames", 1) or 1),
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
    )
    db_session.add(row)
    db_session.flush()
    return row
