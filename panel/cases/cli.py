"""``import-case`` and ``export-case``: the case documents on the command line (``panel-case/2``,
and ``panel-case/1`` for neuroblastoma cases)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from panel.accounts.models import User
from panel.caseformat import convert
from panel.cases import operations
from panel.core.db import db
from panel.core.errors import IdentifiersFound, Refused


@click.command("import-case")
@with_appcontext
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--referrer", "email", required=True, help="E-mail of the referring doctor who owns the draft."
)
def import_case_command(file, email):
    """Create a draft case from a panel-case/2 or panel-case/1 JSON FILE ("-" for standard
    input); a panel-case/1 document is converted."""
    user = User.by_email(email)
    if user is None or not user.active or not user.is_referrer:
        raise click.ClickException(f"No active referring doctor has the e-mail {email!r}.")
    try:
        doc = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"Not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from exc
    try:
        result = operations.create_case(doc, by=user)
    except operations.InvalidCase as exc:
        lines = "\n".join(f"  {p.field or '(document)'}: {p.message}" for p in exc.problems)
        raise click.ClickException(f"The case was not imported:\n{lines}") from exc
    except IdentifiersFound as exc:
        lines = "\n".join(
            f"  {f.field}: {f.kind.replace('_', ' ')} at characters {f.start}-{f.end}"
            for f in exc.findings
        )
        raise click.ClickException(
            f"The case was not imported: free text contains patient identifiers:\n{lines}"
        ) from exc
    except Refused as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    for w in result.warnings:
        click.echo(
            f"warning: {w.field}: {w.kind.replace('_', ' ')} (check it is not identifying)",
            err=True,
        )
    click.echo(result.case.reference)


@click.command("export-case")
@with_appcontext
@click.argument("reference")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["panel-case/2", "panel-case/1"]),
    default="panel-case/2",
    show_default=True,
    help="panel-case/1 holds neuroblastoma cases only.",
)
def export_case_command(reference, fmt):
    """Print a case as panel-case/2 JSON (or panel-case/1 with --format)."""
    from sqlalchemy import select

    from panel.caseformat.convert import NotConvertible
    from panel.cases.models import Case

    case = db.session.scalar(select(Case).where(Case.reference == reference.upper()))
    if case is None:
        raise click.ClickException(f"No case {reference!r}.")
    if fmt == "panel-case/1":
        try:
            doc = operations.to_document_v1(case)
        except NotConvertible as exc:
            raise click.ClickException(str(exc)) from exc
        losses = convert.v1_losses(operations.to_document(case))
        if losses:
            click.echo(
                "warning: panel-case/1 has no place for: " + ", ".join(losses),
                err=True,
            )
    else:
        doc = operations.to_document(case)
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
