"""Content-addressed file storage behind one small interface.

A stored file's key is the SHA-256 of its bytes (hex). :class:`LocalStorage` keeps files under a
configurable root (``STORAGE_DIR``), sharded as ``objects/ab/cd/<sha256>``; writes are atomic
(a temporary file in the same folder, fsynced, then renamed), so a reader never sees half a
file. Temporary upload files live under ``<root>/tmp`` (same file system, so ``rename`` works),
rendered previews under ``<root>/cache``. The root is refused when it lies under ``static/``.

Imaging stores uploads here, feedback builds its packs in its temp folder, ``core/pdf.py``
keeps the HTML a ``pdf.render`` job prints and the PDF it made (both by their hash), and the backup
(``panel/ops/backup.py``) copies and restores ``objects/`` through :meth:`LocalStorage.stored`,
:func:`key_path` and :meth:`LocalStorage.path`, so the layout is written down once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1024 * 1024
_HEX = set("0123456789abcdef")


class StorageError(RuntimeError):
    """The storage is misconfigured or a key is malformed."""


class Storage(Protocol):
    """What the domains need from a storage backend."""

    def put_file(self, path: str | os.PathLike[str]) -> str: ...
    def open(self, key: str) -> IO[bytes]: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def is_key(name: str) -> bool:
    """Whether ``name`` is a storage key (a lower-case hex SHA-256)."""
    return len(name) == 64 and set(name) <= _HEX


def check_key(key: str) -> str:
    """``key`` if it is a lower-case hex SHA-256, else :class:`StorageError` (no path tricks)."""
    if not is_key(key):
        raise StorageError("malformed storage key")
    return key


def key_path(key: str) -> str:
    """Where a stored file lives relative to the storage root: ``objects/ab/cd/<key>``."""
    key = check_key(key)
    return f"objects/{key[:2]}/{key[2:4]}/{key}"


class LocalStorage:
    """Files in a local (or shared, mounted) folder."""

    def __init__(
        self, root: str | os.PathLike[str], *, forbidden: list[Path] | None = None
    ) -> None:
        self.root = Path(root).resolve()
        for bad in forbidden or []:
            bad = Path(bad).resolve()
            if self.root == bad or bad in self.root.parents:
                raise StorageError("the storage folder must not be under static/")
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self.cache = self.root / "cache"
        for d in (self.objects, self.tmp, self.cache):
            d.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------- keys and paths
    def path(self, key: str) -> Path:
        """Where the file for ``key`` lives (whether or not it exists)."""
        return self.root / key_path(key)

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Every stored file as ``(key, path)``, in key order; writes in progress (``.put-*``)
        and anything else that is not a key are left out."""
        if not self.objects.is_dir():
            return
        for path in sorted(self.objects.rglob("*")):
            if path.is_file() and is_key(path.name):
                yield path.name, path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open(self, key: str) -> IO[bytes]:
        return open(self.path(key), "rb")  # noqa: SIM115 - the caller closes it

    def delete(self, key: str) -> None:
        """Remove the file for ``key`` (no error when it is already gone)."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            pass

    # ----------------------------------------------------------------- writing
    def temp_file(self, suffix: str = "") -> Path:
        """A new empty temporary file in the storage's temp folder (the caller removes it)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, suffix=suffix, prefix="up-")
        os.close(fd)
        return Path(name)

    def put_file(self, path: str | os.PathLike[str], *, move: bool = False) -> str:
        """Copy the file at ``path`` into the store; return its key (its SHA-256).

        The copy goes to a hidden temporary file in the target folder, is fsynced, then renamed
        into place: atomic on POSIX. Storing bytes already present is a no-op.

        ``move=True`` (a file the caller made in the storage's ``tmp/``, e.g. a job's scratch
        folder) fsyncs the file and renames it into place instead: no copy, and no temporary
        file in the store, so a process killed mid-put leaves only its own scratch file, which
        its retry removes. The file is gone from ``path`` unless its bytes were already stored.
        """
        key = sha256_file(path)
        target = self.path(key)
        if target.is_file():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            try:
                os.replace(path, target)
                return key
            except OSError as exc:
                if exc.errno != errno.EXDEV:  # another file system: copy it as below
                    raise
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
            raise
        return key

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (through a temporary file, so as atomically as :meth:`put_file`);
        return its key."""
        tmp = self.temp_file(".bytes")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return self.put_file(tmp)
        finally:
            tmp.unlink(missing_ok=True)


def get_storage() -> LocalStorage:
    """The app's storage (``STORAGE_DIR``), one per app."""
    from flask import current_app

    ext = current_app.extensions
    storage = ext.get("panel_storage")
    root = current_app.config["STORAGE_DIR"]
    if storage is None or str(storage.root) != str(Path(root).resolve()):
        storage = LocalStorage(root, forbidden=[Path(current_app.static_folder)])
        ext["panel_storage"] = storage
    return storage
