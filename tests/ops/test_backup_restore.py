"""Backup and restore: `flask --app panel backup DIR` / `restore DIR` on real databases.

Each test builds its own deployments (database + storage folder), because a backup reads the
database through its own connection: rows inside the suite's rolled-back test transaction
would be invisible to it.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, insert, inspect, select

from panel.core.db import db, utcnow
from panel.ops import backup as ops_backup
from tests.support.db import ROOT, database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD

EXAMPLE = json.loads((ROOT / "tests" / "data" / "case-example-alk.json").read_text())


# --------------------------------------------------------------------------- helpers
def _deployment(backend: str, tmp_path: Path, name: str, *, migrate: bool = True):
    app = make_app(database_url(backend, tmp_path, name), tmp_path / f"{name}-storage")
    if migrate:
        migrate_and_seed(app)
    return app


def _populate(app, tmp_path: Path) -> None:
    """Users, roles, a draft and a submitted case, a DICOM series and a PDF in storage, an
    outbox mail, a session: rows in most of the core tables and files referenced by rows."""
    from panel.accounts import operations as accounts
    from panel.accounts.models import Centre, Panel, PanelRoleKind
    from panel.cases import operations as cases
    from panel.imaging import ingest
    from tests.support import synth
    from tests.support.data import small_pdf

    with app.test_request_context():  # the invitation e-mail builds a link
        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
        nap = db.session.scalar(select(Panel).where(Panel.code == "NAP"))
        referrer = accounts.create_user(
            email="ref@nhs.example.org",
            name="Dr Ops Referrer",
            centre_id=centre.id,
            is_referrer=True,
            is_admin=False,
            password=TEST_PASSWORD,
        )
        member = accounts.create_user(
            email="member@nhs.example.org",
            name="Dr Ops Member",
            centre_id=None,
            is_referrer=False,
            is_admin=False,
            password=TEST_PASSWORD,
        )
        accounts.add_panel_role(member, nap, PanelRoleKind.MEMBER, by=None)
        accounts.issue_reset_link(member, invitation=True)  # an outbox row and a reset token
        submitted = cases.create_case(copy.deepcopy(EXAMPLE), by=referrer).case
        cases.submit_case(submitted, by=referrer)
        cases.create_case(copy.deepcopy(EXAMPLE), by=referrer)  # a draft
        db.session.commit()

        ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
        parts = [(p.name, p.open("rb")) for p in ct.paths] + [
            ("letter.pdf", open(small_pdf(tmp_path), "rb"))
        ]
        received = ingest.receive(submitted, referrer, "CT and letter", parts)
        db.session.commit()  # the files' jobs run now (eager in tests)
        for _, fh in parts:
            fh.close()
        db.session.refresh(received)
        assert received.finished and received.stored_count == 3, ingest.progress(received)
        db.session.remove()


def _counts(app) -> dict[str, int]:
    with app.app_context():
        with db.engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables
            }


def _contents(app) -> dict[str, list[dict]]:
    """Every row of every table, encoded as the backup encodes it (comparable across backends)."""
    out = {}
    with app.app_context():
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                encoders = [(c.name, ops_backup._encoder(c)) for c in table.columns]
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                out[table.name] = [{n: enc(r._mapping[n]) for n, enc in encoders} for r in rows]
    return out


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _backup(app, path: Path):
    result = _cli(app, "backup", str(path))
    assert result.exit_code == 0, result.output
    return json.loads((path / "manifest.json").read_text())


def _assert_same_deployment(src, dst, manifest) -> None:
    assert _counts(dst) == _counts(src)
    assert _contents(dst) == _contents(src)
    storage = Path(dst.config["STORAGE_DIR"])
    assert manifest["files"], "the backup should hold stored files"
    for f in manifest["files"]:
        assert ops_backup.sha256_file(storage / f["path"]) == f["sha256"]
    result = _cli(dst, "audit-verify")
    assert result.exit_code == 0 and "Audit trail intact" in result.output, result.output


@pytest.fixture
def source(backend, tmp_path):
    """A deployment of its own, for tests that change it."""
    app = _deployment(backend, tmp_path, "ops_src")
    _populate(app, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def shared(backend, tmp_path_factory):
    """One populated deployment per backend and its backup, shared by the tests that only read
    them (they restore copies of the backup)."""
    tmp = tmp_path_factory.mktemp(f"ops-{backend}")
    app = _deployment(backend, tmp, "ops_shared")
    _populate(app, tmp)
    path = tmp / "backup"
    manifest = _backup(app, path)
    yield app, path, manifest
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def backup_dir(shared, tmp_path):
    """A copy of the shared backup that the test may change."""
    path = tmp_path / "backup"
    shutil.copytree(shared[1], path)
    return path


# --------------------------------------------------------------------------- round trips
def test_backup_and_restore_round_trip(backend, shared, tmp_path):
    """Does a restore onto a new database give back every row, every file and an intact audit
    trail, and does the restored deployment keep working (new rows, new audit entries)?"""
    source, path, manifest = shared
    assert manifest["format"] == "panel-backup/1"
    assert manifest["alembic_revision"] and manifest["app_version"] and manifest["created_at"]
    counts = _counts(source)
    assert {n: t["rows"] for n, t in manifest["tables"].items()} == counts
    assert counts["stored_files"] == 3 and counts["cases"] == 2 and counts["audit_entries"] > 3
    for info in manifest["tables"].values():
        assert ops_backup.sha256_file(path / info["file"]) == info["sha256"]

    # The target is a new, empty database: restore creates the schema itself.
    target = _deployment(backend, tmp_path, "ops_dst", migrate=False)
    result = _cli(target, "restore", str(path))
    assert result.exit_code == 0, result.output
    assert "Restore complete" in result.output and "audit trail intact" in result.output
    _assert_same_deployment(source, target, manifest)

    # The restored deployment goes on: new ids do not collide (sequences), the chain extends.
    from panel.accounts import operations as accounts
    from panel.core import audit

    with target.app_context():
        user = accounts.create_user(
            email="after@nhs.example.org",
            name="Dr After Restore",
            centre_id=None,
            is_referrer=False,
            is_admin=True,
            password=TEST_PASSWORD,
        )
        audit.record("ops.test", object_type="user", object_id=user.id)
        db.session.commit()
        checked, problem = audit.verify_chain()
        assert problem is None and checked == counts["audit_entries"] + 2
        db.session.remove()
        db.engine.dispose()


def test_restore_onto_an_upgraded_database(backend, shared, tmp_path):
    """Restore also works onto a database that had `flask db upgrade` (and nothing else)."""
    source, path, manifest = shared
    target = make_app(database_url(backend, tmp_path, "ops_dst2"), tmp_path / "dst2-storage")
    assert _cli(target, "db", "upgrade").exit_code == 0
    result = _cli(target, "restore", str(path))
    assert result.exit_code == 0, result.output
    _assert_same_deployment(source, target, manifest)
    with target.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_cross_backend_restore(direction, tmp_path):
    """Does a backup from SQLite restore into PostgreSQL (and the other way) exactly?"""
    src_backend, dst_backend = direction.split("-to-")
    src = _deployment(src_backend, tmp_path, "ops_xsrc")
    _populate(src, tmp_path)
    path = tmp_path / "backup"
    manifest = _backup(src, path)
    assert manifest["source_dialect"] == src_backend
    dst = _deployment(dst_backend, tmp_path, "ops_xdst", migrate=False)
    result = _cli(dst, "restore", str(path))
    assert result.exit_code == 0, result.output
    _assert_same_deployment(src, dst, manifest)
    for app in (src, dst):
        with app.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------- consistency
def test_backup_reads_one_snapshot(backend, source, tmp_path, monkeypatch):
    """A row committed by another process while the backup runs is not half in it: the dump
    reads every table from the snapshot taken when it started."""
    from panel.core.models import OutboxMail

    before = _counts(source)["outbox_mail"]
    real = ops_backup._encoder
    state = {"written": False}

    def encoder_that_races(column):
        if not state["written"]:
            state["written"] = True
            with source.app_context(), db.engine.begin() as conn:  # another writer, committed
                conn.execute(
                    insert(OutboxMail.__table__).values(
                        to_addr="late@nhs.example.org",
                        subject="late",
                        body="late",
                        attempts=0,
                        created_at=utcnow(),
                        next_attempt_at=utcnow(),
                    )
                )
        return real(column)

    monkeypatch.setattr(ops_backup, "_encoder", encoder_that_races)
    manifest = _backup(source, tmp_path / "backup")
    assert state["written"]
    assert _counts(source)["outbox_mail"] == before + 1
    assert manifest["tables"]["outbox_mail"]["rows"] == before


def test_backup_refuses_a_folder_that_is_not_empty(shared, tmp_path):
    """Is an existing backup never overwritten?"""
    source = shared[0]
    path = tmp_path / "backup"
    path.mkdir()
    (path / "something").write_text("x")
    result = _cli(source, "backup", str(path))
    assert result.exit_code != 0 and "not an empty folder" in result.output
    assert (path / "something").read_text() == "x"


def test_backup_fails_cleanly_when_a_referenced_file_is_missing(source, tmp_path):
    """A stored file the database refers to is gone: the backup says so, exits non-zero and
    leaves no half backup (no manifest)."""
    storage = Path(source.config["STORAGE_DIR"])
    victim = next(p for p in (storage / "objects").rglob("*") if p.is_file())
    victim.unlink()
    path = tmp_path / "backup"
    result = _cli(source, "backup", str(path))
    assert result.exit_code != 0 and "missing" in result.output
    assert not (path / "manifest.json").exists() and not any(path.iterdir())


# --------------------------------------------------------------------------- refusals
def _is_untouched(app) -> bool:
    """No schema, or a schema without rows (beyond the genesis head row)."""
    with app.app_context():
        with db.engine.connect() as conn:
            if not inspect(conn).get_table_names():
                return True
            return not ops_backup._non_empty(conn)


@pytest.mark.parametrize(
    "tamper", ["table-row", "stored-file", "missing-file", "row-count", "outside-path"]
)
def test_a_changed_backup_is_refused_before_anything_is_written(
    backend, backup_dir, tmp_path, tamper
):
    """Is a backup whose table files or stored files do not match the manifest refused, with
    nothing written to the target?"""
    manifest_path = backup_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if tamper == "table-row":
        path = backup_dir / manifest["tables"]["audit_entries"]["file"]
        path.write_text(path.read_text().replace('"case.submitted"', '"case.withdrawn"', 1))
    elif tamper == "stored-file":
        path = backup_dir / "files" / manifest["files"][0]["path"]
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    elif tamper == "missing-file":
        (backup_dir / "files" / manifest["files"][0]["path"]).unlink()
    elif tamper == "row-count":
        manifest["tables"]["users"]["rows"] += 1
        manifest_path.write_text(json.dumps(manifest))
    else:
        manifest["tables"]["users"]["file"] = "../../etc/passwd"
        manifest_path.write_text(json.dumps(manifest))
    target = _deployment(backend, tmp_path, "ops_dst3", migrate=False)
    result = _cli(target, "restore", str(backup_dir))
    assert result.exit_code != 0
    assert "fails its checks, nothing was restored" in result.output
    assert _is_untouched(target)
    assert not list((Path(target.config["STORAGE_DIR"]) / "objects").rglob("*"))
    with target.app_context():
        db.engine.dispose()


def test_a_non_empty_database_is_refused(backend, backup_dir, tmp_path):
    """Restoring onto a database with data (even just reference data) is refused, unchanged."""
    target = _deployment(backend, tmp_path, "ops_dst4")  # migrated and seeded with centres/panels
    before = _counts(target)
    result = _cli(target, "restore", str(backup_dir))
    assert result.exit_code != 0
    assert "not empty" in result.output and "centres" in result.output
    assert _counts(target) == before
    assert not list((Path(target.config["STORAGE_DIR"]) / "objects").rglob("*"))
    with target.app_context():
        db.engine.dispose()


def test_other_schema_revisions_and_unfinished_backups_are_refused(backend, backup_dir, tmp_path):
    """A backup from another schema revision, or one without a manifest, is refused."""
    target = _deployment(backend, tmp_path, "ops_dst5", migrate=False)
    manifest_path = backup_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["alembic_revision"] = "0003"
    manifest_path.write_text(json.dumps(manifest))
    result = _cli(target, "restore", str(backup_dir))
    assert result.exit_code != 0 and "schema revision 0003" in result.output
    manifest_path.unlink()
    result = _cli(target, "restore", str(backup_dir))
    assert result.exit_code != 0 and "no manifest.json" in result.output
    assert _is_untouched(target)
    with target.app_context():
        db.engine.dispose()


def test_backup_output_carries_no_row_contents(shared, tmp_path):
    """The commands print counts and checksums, never what the rows hold."""
    source = shared[0]
    result = _cli(source, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 0
    for secret in ("ref@nhs.example.org", "Dr Ops Referrer", "NB-"):
        assert secret not in result.output
