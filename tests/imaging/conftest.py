"""Fixtures for the imaging tests: people, cases and files (the app is the suite's own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.web import csrf_token


@pytest.fixture
def make_case(make_case):
    """The suite's ``make_case``, submitted by default here."""
    import functools

    return functools.partial(make_case, submit=True)


@pytest.fixture
def storage_dir(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


@pytest.fixture(autouse=False)
def clean_storage(storage_dir):
    """An empty storage folder for the test (objects, tmp and cache)."""
    import shutil

    for sub in ("objects", "tmp", "cache", "incoming"):
        shutil.rmtree(storage_dir / sub, ignore_errors=True)
        (storage_dir / sub).mkdir(parents=True, exist_ok=True)
    yield storage_dir


@pytest.fixture
def upload(app):
    """``upload(client, case, [(name, bytes_or_path), ...], label="", json=True)``."""

    def do_upload(client, case, files, *, label="", as_json=True, headers=None):
        import io

        data: dict[str, Any] = {"label": label, "csrf_token": csrf_token(app, client)}
        parts = []
        for name, content in files:
            if isinstance(content, Path):
                content = content.read_bytes()
            parts.append((io.BytesIO(content), name))
        data["files"] = parts
        h = {"Accept": "application/json"} if as_json else {"Accept": "text/html"}
        h.update(headers or {})
        return client.post(
            f"/cases/{case.reference}/images/upload",
            data=data,
            content_type="multipart/form-data",
            headers=h,
        )

    return do_upload


#: The box :func:`pixel_text_unsure` proposes on every image.
UNSURE_BOX = (2, 2, 12, 8)


@pytest.fixture
def pixel_text_unsure(monkeypatch):
    """Every image the pixel text step would read comes back ``held`` (unsure) with one
    proposed box, without running OCR: for the tests of what happens to held-back files."""
    from panel.imaging import pixelstep

    def check(self, frames, *, header_values=()):
        self.images += 1
        x, y, w, h = UNSURE_BOX
        reason = f"Text that is not a known annotation at ({x},{y},{w},{h})"
        return self._count(pixelstep.PixelOutcome("held", [UNSURE_BOX], [reason]))

    monkeypatch.setattr(pixelstep.PixelStep, "check", check)


@pytest.fixture
def case(people, make_case):
    """A draft case of the referrer (the upload tests' case)."""
    return make_case(people["referrer"])


@pytest.fixture
def ref_client(client, login, people):
    """The test client signed in as the case's referrer."""
    login(client, people["referrer"])
    return client
