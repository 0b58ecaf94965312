"""Consistent, portable backups of a Panel deployment, and their restore onto an empty one.

A backup is a folder::

    DIR/manifest.json              written last: a folder without it is an unfinished backup
    DIR/db/<table>.jsonl           one JSON object per row, tables in foreign-key order
    DIR/files/objects/ab/cd/<sha>  the content-addressed files of STORAGE_DIR/objects

The rows are a *logical* dump (JSON Lines, with a type-aware encoding of timestamps, dates,
bytes and enums), so a backup taken from SQLite restores into PostgreSQL and the other way round.
All tables are read inside one transaction (REPEATABLE READ on PostgreSQL, one read transaction
on SQLite's WAL), so the rows are one consistent snapshot; the files are copied after it. Stored
files are content-addressed and never change, so every file a row of the snapshot refers to is
either copied or reported as missing (the backup then fails and says so).

The manifest lists every table with its row count and the SHA-256 of its file, and every stored
file with its SHA-256 and size, the schema's Alembic revision, the time and the app version.

:func:`restore_backup` checks every checksum *before* it writes anything (a changed backup is
refused), refuses a database that already holds data and a backup from another schema revision,
copies the files, loads the rows in one transaction, resets PostgreSQL's sequences and then
verifies row counts, file checksums and the audit trail's hash chain.

Nothing here logs or prints row contents: only table names, counts and checksums.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    Time,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from panel.core.db import db
from panel.core.storage import CHUNK, LocalStorage, get_storage, is_key, key_path, sha256_file

FORMAT = "panel-backup/1"
MANIFEST = "manifest.json"
BATCH = 500
# Tables whose rows the schema itself creates (migration 0001 writes the audit chain's head).
_SEEDED_BY_MIGRATIONS = {"audit_chain_head"}

Echo = Callable[[str], None]


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why and what to do."""


# --------------------------------------------------------------------------- value encoding
def _base_type(coltype: Any) -> Any:
    return coltype.impl if isinstance(coltype, TypeDecorator) else coltype


def _encoder(column: Any) -> Callable[[Any], Any]:
    coltype = column.type
    if isinstance(coltype, Enum):

        def enc_enum(v: Any) -> Any:
            if isinstance(v, enum.Enum):
                return coltype._db_value_for_elem(v)  # the value the database holds
            return v

        return enc_enum
    return _encode_value


def _encode_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str, dict, list)):
        return v
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, (date, time)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, enum.Enum):
        return v.value
    return str(v)  # uuid and the like


def _decoder(column: Any) -> Callable[[Any], Any]:
    base = _base_type(column.type)
    aware = bool(getattr(base, "timezone", False))

    def dec_datetime(v: Any) -> Any:
        if v is None:
            return None
        value = datetime.fromisoformat(v)
        if aware and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    if isinstance(base, DateTime):
        return dec_datetime
    if isinstance(base, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(base, Time):
        return lambda v: None if v is None else time.fromisoformat(v)
    if isinstance(base, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(base, Numeric) and base.asdecimal:
        return lambda v: None if v is None else Decimal(v)
    return lambda v: v


def _dumps(row: dict[str, Any]) -> bytes:
    return (
        json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode()


# --------------------------------------------------------------------------- helpers
def _tables() -> list[Table]:
    return list(db.metadata.sorted_tables)


def _app_version() -> str:
    try:
        from importlib.metadata import version

        return version("panel")
    except Exception:  # noqa: BLE001 - not installed as a package
        return "unknown"


def _script_head() -> str | None:
    from alembic.script import ScriptDirectory
    from flask import current_app

    cfg = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(cfg).get_current_head()


def _current_revision(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _storage() -> LocalStorage:
    """This deployment's storage (``STORAGE_DIR``): its layout is :mod:`panel.core.storage`'s."""
    return get_storage()


def _snapshot_engine() -> tuple[Engine, bool]:
    """An engine whose transactions read one consistent snapshot, and whether to dispose it.

    The app's SQLite engine starts every transaction with BEGIN IMMEDIATE (the write lock);
    a backup needs only a read snapshot, which a deferred BEGIN gives under WAL without
    blocking writers.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine, False
    snap = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(snap, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(snap, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")

    return snap, True


# --------------------------------------------------------------------------- backup
@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"].values())

    @property
    def files(self) -> int:
        return len(self.manifest["files"])

    @property
    def bytes(self) -> int:
        return sum(f["size"] for f in self.manifest["files"])


def make_backup(target: str | os.PathLike[str], *, echo: Echo | None = None) -> BackupResult:
    """Write a backup of the database and the stored files into the new folder ``target``."""
    echo = echo or (lambda _m: None)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty folder: choose a new one.")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)  # the backup holds the whole clinical record
    try:
        return _make_backup(target, echo)
    except BaseException:
        # Leave no half backup behind: the folder was empty when we started.
        for child in target.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        raise


def _make_backup(target: Path, echo: Echo) -> BackupResult:
    (target / "db").mkdir()
    engine, dispose = _snapshot_engine()
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                revision = _current_revision(conn)
                if revision is None:
                    raise BackupError("The database has no schema (run `flask db upgrade` first).")
                known = {t.name for t in _tables()} | {"alembic_version"}
                unknown = sorted(set(inspect(conn).get_table_names()) - known)
                if unknown:
                    raise BackupError(
                        "The database has tables this version of Panel does not know "
                        f"({', '.join(unknown)}): upgrade Panel before taking a backup."
                    )
                tables, referenced = _dump_tables(conn, target / "db", echo)
                dialect = conn.dialect.name
    finally:
        if dispose:
            engine.dispose()

    storage = _storage()
    files = _copy_objects(storage, target / "files")
    present = {Path(f["path"]).name for f in files}
    missing = sorted(referenced - present)
    if missing:
        raise BackupError(
            f"{len(missing)} stored file(s) that the database refers to are missing from "
            f"{storage.objects} (first: {missing[0]}). The backup is incomplete; "
            "check the storage volume, then run the backup again."
        )
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "app_version": _app_version(),
        "alembic_revision": revision,
        "source_dialect": dialect,
        "tables": tables,
        "files": files,
    }
    _write_atomic(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    result = BackupResult(target, manifest)
    echo(
        f"Backup written to {target}: {len(tables)} tables, {result.rows} rows, "
        f"{result.files} files ({result.bytes} bytes), schema {revision}."
    )
    return result


def _dump_tables(conn: Connection, folder: Path, echo: Echo) -> tuple[dict[str, Any], set[str]]:
    tables: dict[str, Any] = {}
    referenced: set[str] = set()
    for table in _tables():
        columns = list(table.columns)
        encoders = [(c.name, _encoder(c)) for c in columns]
        key_columns = [
            c.name for c in columns if c.name == "storage_key" or c.name.endswith("_storage_key")
        ]
        order = list(table.primary_key.columns) or columns
        stmt = select(table).order_by(*order)
        path = folder / f"{table.name}.jsonl"
        h = hashlib.sha256()
        count = 0
        with open(path, "wb") as out:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
            for row in result:
                m = row._mapping
                line = _dumps({name: enc(m[name]) for name, enc in encoders})
                out.write(line)
                h.update(line)
                count += 1
                for k in key_columns:
                    if m[k]:
                        referenced.add(m[k])
            out.flush()
            os.fsync(out.fileno())
        tables[table.name] = {
            "file": f"db/{table.name}.jsonl",
            "rows": count,
            "sha256": h.hexdigest(),
        }
    echo(f"Database: {len(tables)} tables read in one transaction.")
    return tables, referenced


def _copy_objects(storage: LocalStorage, dst: Path) -> list[dict[str, Any]]:
    """Copy every stored file to ``dst/objects/ab/cd/<sha>`` (the storage's own layout)."""
    files: list[dict[str, Any]] = []
    for key, path in storage.stored():  # ".put-*" files are writes in progress, not stored files
        rel = key_path(key)  # objects/ab/cd/<sha>
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        digest, size = _copy_hashing(path, out)
        if digest != key:
            raise BackupError(
                f"The stored file {rel} does not match its checksum (the storage is damaged). "
                "Restore that file from an earlier backup, then run the backup again."
            )
        files.append({"path": rel, "sha256": digest, "size": size})
    return files


def _copy_hashing(src: Path, dst: Path) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` (via a temporary file and a rename); return (sha256, size)."""
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".copy-")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return h.hexdigest(), size


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- checking a backup
def read_manifest(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the backup at ``source`` (BackupError when it is missing or unreadable)."""
    path = Path(source) / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{source} has no {MANIFEST}: it is not a Panel backup, or an unfinished one."
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {type(exc).__name__}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a {FORMAT} manifest.")
    for key in ("tables", "files", "alembic_revision"):
        if key not in manifest:
            raise BackupError(f"{path} has no {key!r}.")
    return manifest


def _safe_member(source: Path, rel: str) -> Path:
    """``source/rel``, refusing paths that would leave the backup folder."""
    path = (source / rel).resolve()
    if source.resolve() not in path.parents:
        raise BackupError(f"The manifest names a path outside the backup: {rel!r}.")
    return path


def verify_backup(
    source: str | os.PathLike[str], manifest: dict[str, Any] | None = None
) -> list[str]:
    """Every problem found by checking each table file and stored file against the manifest."""
    source = Path(source)
    manifest = manifest or read_manifest(source)
    problems: list[str] = []
    for name, info in sorted(manifest["tables"].items()):
        try:
            path = _safe_member(source, info["file"])
        except BackupError as exc:
            problems.append(str(exc))
            continue
        if not path.is_file():
            problems.append(f"table file {info['file']} is missing")
            continue
        if sha256_file(path) != info["sha256"]:
            problems.append(f"table file {info['file']} does not match its checksum")
            continue
        with open(path, "rb") as fh:
            lines = sum(1 for _ in fh)
        if lines != info["rows"]:
            problems.append(f"table {name} has {lines} rows, the manifest says {info['rows']}")
    for f in manifest["files"]:
        rel = f["path"]
        if not is_key(str(f["sha256"])) or rel != key_path(f["sha256"]):
            problems.append(f"file entry {rel!r} is not a stored-file path")
            continue
        try:
            path = _safe_member(source / "files", rel)
        except BackupError as exc:
            problems.append(str(exc))
            continue
        if not path.is_file():
            problems.append(f"file {rel} is missing")
        elif path.stat().st_size != f["size"] or sha256_file(path) != f["sha256"]:
            problems.append(f"file {rel} does not match its checksum")
    return problems


# --------------------------------------------------------------------------- restore
@dataclass
class RestoreResult:
    tables: int = 0
    rows: int = 0
    files: int = 0
    audit_entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _row_counts(conn: Connection) -> dict[str, int]:
    return {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables()
    }


def _non_empty(conn: Connection) -> list[str]:
    busy = []
    for table, count in _row_counts(conn).items():
        if count == 0:
            continue
        if table in _SEEDED_BY_MIGRATIONS:
            last = conn.execute(text("SELECT MAX(last_seq) FROM audit_chain_head")).scalar()
            if count == 1 and not last:
                continue  # the genesis head that migration 0001 writes
        busy.append(table)
    return busy


def restore_backup(source: str | os.PathLike[str], *, echo: Echo | None = None) -> RestoreResult:
    """Restore the backup at ``source`` onto this deployment's empty database and storage."""
    echo = echo or (lambda _m: None)
    source = Path(source)
    manifest = read_manifest(source)

    # 1. Every checksum, before anything is written.
    problems = verify_backup(source, manifest)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise BackupError(
            f"The backup at {source} fails its checks, nothing was restored: {shown}."
        )
    echo(
        f"Backup checked: {len(manifest['tables'])} table files and {len(manifest['files'])} stored files "
        "match their checksums."
    )

    # 2. The same schema, and an empty database.
    head = _script_head()
    wanted = manifest["alembic_revision"]
    if wanted != head:
        raise BackupError(
            f"The backup was made at schema revision {wanted}; this version of Panel is at {head}. "
            "Restore with the Panel version that made the backup, then run `flask db upgrade`."
        )
    names = {t.name for t in _tables()}
    if set(manifest["tables"]) != names:
        odd = sorted(set(manifest["tables"]) ^ names)
        raise BackupError(f"The backup's tables do not match this Panel's ({', '.join(odd)}).")
    engine = db.engine
    db.session.remove()
    with engine.connect() as conn:
        current = _current_revision(conn)
        existing = set(inspect(conn).get_table_names())
    if current is None:
        if existing:
            raise BackupError(
                "The target database has tables but no Panel schema: use a new, empty database."
            )
        echo("Creating the schema (flask db upgrade)...")
        from flask_migrate import upgrade

        upgrade()
    elif current != head:
        raise BackupError(
            f"The target database is at schema revision {current}, not {head}: "
            "restore onto a new database (`flask db upgrade` only, no other command)."
        )
    with engine.connect() as conn:
        busy = _non_empty(conn)
    if busy:
        raise BackupError(
            "The target database is not empty (rows in: "
            + ", ".join(busy)
            + "). Restore only onto a "
            "new database that has had `flask db upgrade` and nothing else; nothing was restored."
        )

    # 3. Files first: should loading the rows fail, what is left are unreferenced
    #    content-addressed files, never rows that point at missing files.
    storage = _storage()
    for f in manifest["files"]:
        dst = storage.path(f["sha256"])  # verified above: f["path"] is its key's place
        if dst.is_file() and sha256_file(dst) == f["sha256"]:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        digest, _size = _copy_hashing(source / "files" / f["path"], dst)
        if digest != f["sha256"]:
            dst.unlink(missing_ok=True)
            raise BackupError(
                f"The file {f['path']} changed while it was being restored; nothing was restored."
            )
    echo(f"Files: {len(manifest['files'])} copied into {storage.objects}.")

    # 4. Rows, all in one transaction.
    result = RestoreResult(tables=len(manifest["tables"]), files=len(manifest["files"]))
    with engine.begin() as conn:
        for table in _tables():
            info = manifest["tables"][table.name]
            if table.name in _SEEDED_BY_MIGRATIONS:
                conn.execute(delete(table))  # the genesis head; the backup's head replaces it
            loaded = _load_table(conn, table, source / info["file"])
            result.rows += loaded
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
    echo(f"Database: {result.rows} rows loaded into {result.tables} tables.")

    # 5. Check what is now there.
    with engine.connect() as conn:
        counts = _row_counts(conn)
    for name, info in manifest["tables"].items():
        if counts.get(name) != info["rows"]:
            result.problems.append(
                f"table {name} has {counts.get(name)} rows, the backup {info['rows']}"
            )
    for f in manifest["files"]:
        dst = storage.path(f["sha256"])
        if not dst.is_file() or sha256_file(dst) != f["sha256"]:
            result.problems.append(f"restored file {f['path']} does not match its checksum")
    from panel.core.audit import verify_chain

    checked, problem = verify_chain()
    db.session.remove()
    result.audit_entries = checked
    if problem is not None:
        result.problems.append(f"audit trail broken at entry {problem.entry_id}: {problem.reason}")
    return result


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _load_table(conn: Connection, table: Table, path: Path) -> int:
    decoders = {c.name: _decoder(c) for c in table.columns}
    batch: list[dict[str, Any]] = []
    count = 0
    for raw in _read_rows(path):
        unknown = set(raw) - set(decoders)
        if unknown:
            raise BackupError(
                f"Table {table.name} in the backup has columns this Panel does not know."
            )
        batch.append({name: dec(raw.get(name)) for name, dec in decoders.items() if name in raw})
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _reset_sequences(conn: Connection) -> None:
    """After explicit ids were inserted, point each serial column's sequence past the largest."""
    quote = conn.dialect.identifier_preparer.quote
    for table in _tables():
        for col in table.primary_key.columns:
            if not isinstance(_base_type(col.type), Integer):
                continue
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col.name}
            ).scalar()
            if not seq:
                continue
            conn.execute(
                # Names come from the model metadata, quoted; no user input.
                text(
                    f"SELECT setval(CAST(:s AS regclass), COALESCE((SELECT MAX({quote(col.name)}) "  # noqa: S608
                    f"FROM {quote(table.name)}), 0) + 1, false)"
                ),
                {"s": seq},
            )
