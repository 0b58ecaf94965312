"""``flask --app panel deidentify SRC DST``: de-identify a DICOM file or folder tree as one case."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from panel.imaging.uploads import (  # one text for the CLI and the upload page
    NAME_REFUSED,
    deid_secret,
)


def _identifying(rel: str) -> bool:
    from panel.privacy import scan_filename

    return any(f.severity == "hard" for part in rel.split("/") for f in scan_filename(part))


def _masked(rel: str) -> str:
    """The path with every identifying stretch replaced, so the report repeats no identifier."""
    from panel.privacy import scan_filename

    parts = []
    for part in rel.split("/"):
        for f in sorted(scan_filename(part), key=lambda f: -f.start):
            if f.severity == "hard":
                part = part[: f.start] + "*" * (f.end - f.start) + part[f.end :]
        parts.append(part)
    return "/".join(parts)


def _refuse_identifying_names(rel, result, dst_root, held_root):
    """Outputs keep their relative paths, so a path that names the patient is not written."""
    from panel.imaging.deid import DeidResult

    if not _identifying(rel):
        return rel, result
    root = held_root if result.status == "held_back" else dst_root
    if result.written and root is not None:
        (root / rel).unlink(missing_ok=True)
    return _masked(rel), DeidResult.refused(NAME_REFUSED)


def _held_folder(dst: Path, held: Path | None) -> Path:
    """Where held-back files go: ``--held``, else ``<DST>.held`` beside DST; never inside DST
    (whoever shares DST would share them)."""
    if held is None:
        resolved = dst.resolve()
        if not resolved.name:
            raise click.ClickException("give --held DIR: DST has no name to put '.held' after.")
        held = resolved.with_name(resolved.name + ".held")
    if held.resolve().is_relative_to(dst.resolve()) or dst.resolve().is_relative_to(held.resolve()):
        raise click.ClickException(
            "--held must be a folder outside DST: held-back files must not be shared with the clean ones."
        )
    if held.exists() and not held.is_dir():
        raise click.ClickException(f"{held} is a file; --held needs a folder.")
    return held


@click.command("deidentify")
@with_appcontext
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--case",
    "case_reference",
    help="Case reference to write as Patient Name/ID (default: a new random one).",
)
@click.option(
    "--held",
    "held_dir",
    type=click.Path(path_type=Path),
    help="Folder for files held back for review (default: <DST>.held beside DST; never inside DST).",
)
def deidentify_command(src: Path, dst: Path, case_reference: str | None, held_dir: Path | None):
    """De-identify SRC (a DICOM file or a folder tree, as one case) into DST.

    Each result goes to the same relative path under DST; files held back for review (text in
    the pixels the pixel text step is unsure of) go to the same relative path under the --held
    folder instead, so DST holds only files that may be shared. One line is printed per file:
    stored, stored with its burned-in text masked (and how many boxes), stored with kept text
    emptied, held back for review or refused, with the reason; the summary counts them and
    names the held-back folder. Exit 0 when every file was written or reported.
    """
    from panel.imaging.deid import DeidConfig, DeidResult, deidentify_file, deidentify_tree
    from panel.imaging.pixelstep import PixelStep

    step = PixelStep()  # one per run: frames of a series reuse what was read

    reference = case_reference or f"DEID-{secrets.token_hex(4).upper()}"
    try:
        config = DeidConfig.for_case(deid_secret(), reference)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise click.ClickException(f"{dst} is a file; give a folder for a folder of scans.")
        held = _held_folder(dst, held_dir)
        dst.mkdir(parents=True, exist_ok=True)
        results = deidentify_tree(src, dst, config, held_dir=held, pixel_step=step)
    else:
        target = dst / src.name if dst.is_dir() else dst
        held = _held_folder(target if target is dst else dst, held_dir)
        held_target = held / target.name
        target.parent.mkdir(parents=True, exist_ok=True)
        result = deidentify_file(src, target, config, held_path=held_target, pixel_step=step)
        if target.name == src.name and _identifying(src.name) and result.written:
            (held_target if result.status == "held_back" else target).unlink(missing_ok=True)
            result = DeidResult.refused(NAME_REFUSED)
        results = [(src.name, result)]
    results = [
        _refuse_identifying_names(
            rel, result, dst if src.is_dir() else None, held if src.is_dir() else None
        )
        for rel, result in results
    ]
    counts = {"stored": 0, "held_back": 0, "refused": 0}
    masked = 0
    for rel, result in results:
        counts[result.status] += 1
        if result.status == "refused":
            click.echo(f"refused: {rel}: {result.reason}")
        elif result.status == "held_back":
            click.echo(f"held back for review: {rel}: {result.reason}")
        elif result.pixel_text == "masked":
            masked += 1
            n = len(result.boxes)
            click.echo(
                f"stored, {n} box{'es' if n != 1 else ''} of text masked: {rel}: {result.reason}"
            )
        elif result.blanked:
            click.echo(f"stored with text emptied: {rel}: {result.reason}")
        else:
            click.echo(f"stored: {rel}")
    click.echo(
        f"{counts['stored']} stored ({masked} with text masked in the image), "
        f"{counts['held_back']} held back (in {held}), "
        f"{counts['refused']} refused (case {reference}).",
        err=True,
    )
    sys.stdout.flush()
