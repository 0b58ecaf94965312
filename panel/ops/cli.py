"""``flask --app panel backup DIR`` and ``flask --app panel restore DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Back up the database and the stored files into the new folder DIRECTORY.

    The rows are read in one transaction (a consistent snapshot); DIRECTORY/manifest.json lists
    every table and file with its SHA-256. Keep backups as safe as the database: they hold the
    whole clinical record.
    """
    from panel.ops.backup import BackupError, make_backup

    try:
        make_backup(directory, echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(directory: Path) -> None:
    """Restore the backup in DIRECTORY onto this deployment's new, empty database.

    Every checksum is checked before anything is written; a database that already holds data
    is refused. Afterwards row counts, file checksums and the audit trail are verified.
    """
    from panel.ops.backup import BackupError, restore_backup

    try:
        result = restore_backup(directory, echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if not result.ok:
        for problem in result.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        click.echo("Restore finished WITH PROBLEMS (see above).", err=True)
        sys.exit(1)
    click.echo(
        f"Restore complete: {result.rows} rows in {result.tables} tables, {result.files} files; "
        f"row counts and checksums match; audit trail intact ({result.audit_entries} entries)."
    )
