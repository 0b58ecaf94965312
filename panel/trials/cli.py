"""``flask --app panel load-trials [FILE]`` and ``flask --app panel match FILE.json ...``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from panel.core.db import db
from panel.trials import engine


@click.command("load-trials")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--new-only",
    is_flag=True,
    help="Only add trials that are not in the registry yet; leave existing ones as they are "
    "(so coordinators' edits survive).",
)
@with_appcontext
def load_trials_command(file: str | None, new_only: bool) -> None:
    """Load or update the trial registry from FILE (default: the trials.json shipped with
    Panel), by trial code. Every trial is validated first; one invalid trial refuses the file."""
    from panel.trials.registry import TrialError, load_registry

    try:
        summary = load_registry(file, new_only=new_only)
    except FileNotFoundError as exc:
        raise click.ClickException(f"{file}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{file}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except TrialError as exc:
        db.session.rollback()
        click.echo(f"{file or 'trials.json'}: refused, nothing was loaded:", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(str(summary))


@click.command("sync-trials")
@click.option(
    "--from",
    "from_path",
    type=click.Path(exists=False),
    help="Read saved registry responses (a file or a folder: ClinicalTrials.gov v2 study JSON "
    'or a {"studies": [...]} page; ISRCTN XML) instead of fetching them.',
)
@click.option("--trial", "codes", multiple=True, help="Only this trial code (repeatable).")
@with_appcontext
def sync_trials_command(from_path: str | None, codes: tuple[str, ...]) -> None:
    """Fetch every trial's status from ClinicalTrials.gov (NCT ids) and ISRCTN (ISRCTN ids):
    overall status, UK sites mapped to Panel's centres, the registry's last update. A trial
    that fails is reported and keeps its last status; the others go on. Exits 1 when any
    trial failed."""
    from flask import current_app

    from panel.trials import sync
    from panel.trials.matching import clear_cache

    if from_path:
        try:
            source: Any = sync.FileSource(from_path, today=sync.utcnow().date())
        except FileNotFoundError:
            _fail(f"{from_path}: no such file or folder")
    else:
        source = sync.source_from_config(current_app.config)
    summary = sync.sync_trials(source, codes=codes or None)
    db.session.commit()
    clear_cache()
    for line in summary.lines():
        click.echo(line)
    if summary.failed:
        sys.exit(1)


def _read_case(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"{path}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: cannot be read ({exc.__class__.__name__})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _db_centres() -> list[dict[str, Any]]:
    from panel.trials.matching import centre_rows

    try:
        return centre_rows()
    except SQLAlchemyError:
        db.session.rollback()
        return []


def _trials_from_db() -> list[engine.CompiledTrial] | None:
    from panel.trials.matching import current_registry

    try:
        reg = current_registry()
    except SQLAlchemyError:
        db.session.rollback()
        return None
    return list(reg.compiled) if len(reg) else None


@click.command("match")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--trials",
    "trials_file",
    type=click.Path(dir_okay=False),
    help="A trials.json-format file to use instead of the registry in the database.",
)
@with_appcontext
def match_command(files: tuple[str, ...], trials_file: str | None) -> None:
    """Match panel-case/1 FILES against the open trials and print JSON: an object for one
    file, an array (in the order given) for several. Studies are not listed."""
    centres = _db_centres() or engine.load_centres()
    index = engine.CentreIndex(centres)
    if trials_file:
        try:
            records = engine.load_trials(trials_file, centres=index)
        except FileNotFoundError:
            _fail(f"{trials_file}: no such file")
        except json.JSONDecodeError as exc:
            _fail(
                f"{trials_file}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            )
        except engine.TrialDefinitionError as exc:
            click.echo(f"Error: {trials_file}: invalid trials:", err=True)
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            sys.exit(1)
        compiled = engine.compile_trials(records, index.codes)
    else:
        from_db = _trials_from_db()
        if from_db is None:
            click.echo(
                "Note: the trial registry in the database is empty (run `flask --app panel "
                "load-trials`); matching against the trials.json shipped with Panel.",
                err=True,
            )
            compiled = engine.compile_trials(engine.load_trials(centres=index), index.codes)
        else:
            compiled = from_db
    trials = [t for t in compiled if not t.is_study]

    from panel.trials.matching import payload

    cases = [(name, _read_case(name)) for name in files]
    out = [payload(name, engine.match_case(doc, trials, index)) for name, doc in cases]
    click.echo(json.dumps(out[0] if len(out) == 1 else out, indent=2, ensure_ascii=False))
