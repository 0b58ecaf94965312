"""``import-case`` and ``export-case``: the ``panel-case/1`` exchange on the command line."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from panel.accounts.models import User
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
    """Create a draft case from a panel-case/1 JSON FILE ("-" for standard input)."""
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
def export_case_command(reference):
    """Print a case as panel-case/1 JSON."""
    from sqlalchemy import select

    from panel.cases.models import Case

    case = db.session.scalar(select(Case).where(Case.reference == reference.upper()))
    if case is None:
        raise click.ClickException(f"No case {reference!r}.")
    json.dump(operations.to_document(case), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
