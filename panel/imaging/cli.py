"""``flask --app panel deidentify SRC DST``: de-identify a DICOM file or folder tree as one case."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


def deid_secret() -> bytes:
    """The per-deployment de-identification key, derived from the app's secret key (so UID
    replacements and date shifts cannot be reversed without it)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"panel/deid/v1", hashlib.sha256).digest()


@click.command("deidentify")
@with_appcontext
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--case", "case_reference", help="Case reference to write as Patient Name/ID (default: a new random one).")
def deidentify_command(src: Path, dst: Path, case_reference: str | None):
    """De-identify SRC (a DICOM file or a folder tree, as one case) into DST.

    Each result goes to the same relative path under DST. One line is printed per file that was
    refused or held back for review, naming the file and the reason. Exit 0 when every file was
    written or reported.
    """
    from panel.imaging.deid import DeidConfig, deidentify_file, deidentify_tree

    reference = case_reference or f"DEID-{secrets.token_hex(4).upper()}"
    try:
        config = DeidConfig.for_case(deid_secret(), reference)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise click.ClickException(f"{dst} is a file; give a folder for a folder of scans.")
        dst.mkdir(parents=True, exist_ok=True)
        results = deidentify_tree(src, dst, config)
    else:
        target = dst / src.name if dst.is_dir() else dst
        target.parent.mkdir(parents=True, exist_ok=True)
        results = [(src.name, deidentify_file(src, target, config))]
    counts = {"stored": 0, "held_back": 0, "refused": 0}
    for rel, result in results:
        counts[result.status] += 1
        if result.status == "refused":
            click.echo(f"refused: {rel}: {result.reason}")
        elif result.status == "held_back":
            click.echo(f"held back for review: {rel}: {result.reason}")
    click.echo(
        f"{counts['stored']} stored, {counts['held_back']} held back, {counts['refused']} refused "
        f"(case {reference}).",
        err=True,
    )
    sys.stdout.flush()
