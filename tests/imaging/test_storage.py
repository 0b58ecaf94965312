"""The content-addressed storage: keys, sharding, atomic writes, refusals."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from panel.core.storage import LocalStorage, StorageError, get_storage, sha256_file


def test_put_open_delete(tmp_path):
    """Is a file stored under its SHA-256, sharded, readable, and removable?"""
    storage = LocalStorage(tmp_path / "store")
    src = tmp_path / "a.bin"
    src.write_bytes(b"hello scans")
    key = storage.put_file(src)
    assert key == hashlib.sha256(b"hello scans").hexdigest() == sha256_file(src)
    assert storage.path(key) == storage.root / "objects" / key[:2] / key[2:4] / key
    assert storage.exists(key)
    with storage.open(key) as fh:
        assert fh.read() == b"hello scans"
    assert storage.put_file(src) == key  # idempotent
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # no error when gone


def test_no_temporary_files_left(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024))
    key = storage.put_file(src)
    folder = storage.path(key).parent
    assert [p.name for p in folder.iterdir()] == [key]


def test_a_move_renames_the_file_into_place_without_a_temporary_copy(tmp_path, monkeypatch):
    """A job's result made in the storage's tmp/ is renamed into the store: a process killed
    mid-put leaves no ``.put-*`` file there (only its scratch file, which its retry removes)."""
    storage = LocalStorage(tmp_path / "store")
    scratch = storage.tmp / "ingest-7"
    scratch.mkdir()
    src = scratch / "out"
    src.write_bytes(b"de-identified slice")

    def no_temp(*args, **kwargs):
        raise AssertionError("a move makes no temporary file")

    monkeypatch.setattr("panel.core.storage.tempfile.mkstemp", no_temp)
    key = storage.put_file(src, move=True)
    assert not src.exists()
    with storage.open(key) as fh:
        assert fh.read() == b"de-identified slice"
    src.write_bytes(b"de-identified slice")  # the same bytes again (a retried job)
    assert storage.put_file(src, move=True) == key
    assert src.exists()  # left for its owner: the store already had it
    assert [p.name for p in storage.path(key).parent.iterdir()] == [key]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    """Does a write that fails half-way leave no partial object behind?"""
    storage = LocalStorage(tmp_path / "store")
    src = tmp_path / "a.bin"
    src.write_bytes(b"x" * 1000)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        storage.put_file(src)
    assert not [p for p in (storage.root / "objects").rglob("*") if p.is_file()]


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "g" * 64, ""])
def test_malformed_keys_are_refused(tmp_path, key):
    storage = LocalStorage(tmp_path / "store")
    with pytest.raises(StorageError):
        storage.path(key)


def test_storage_under_static_is_refused(tmp_path):
    static = tmp_path / "static"
    with pytest.raises(StorageError):
        LocalStorage(static / "uploads", forbidden=[static])


def test_app_storage_uses_the_configured_root(app, db_session):
    with app.test_request_context():
        storage = get_storage()
        assert storage.root == Path(app.config["STORAGE_DIR"]).resolve()
        assert not str(storage.root).startswith(str(Path(app.static_folder).resolve()))
