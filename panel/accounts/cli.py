"""``flask --app panel load-reference-data`` and ``create-user``: the commands of accounts
(centres and panels from panel/data/, real staff accounts), registered by
:func:`panel.accounts.init_app`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from panel.core.db import db


@click.command("load-reference-data")
@with_appcontext
def load_reference_command():
    """Load or update centres and panels from the data shipped with Panel."""
    from panel.accounts.reference import load_reference_data

    centres, panels = load_reference_data()
    db.session.commit()
    click.echo(f"{centres} centres and {panels} panels loaded.")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--centre", "centre_code", help="Centre code (required for referrers).")
@click.option("--referrer", is_flag=True, help="A referring doctor.")
@click.option("--admin", is_flag=True, help="An administrator.")
@click.option(
    "--role", "roles", multiple=True, help="PANEL:ROLE, e.g. NAP:coordinator (repeatable)."
)
@click.option(
    "--invite", is_flag=True, help="E-mail a link to set the password instead of asking for it."
)
def create_user_command(email, name, centre_code, referrer, admin, roles, invite):
    """Create a real staff account."""
    from panel.accounts import operations
    from panel.accounts.models import Centre, Panel, PanelRoleKind
    from panel.accounts.passwords import password_problems
    from panel.core.mail import send_queued_mail

    centre = None
    if centre_code:
        centre = db.session.scalar(select(Centre).where(Centre.code == centre_code.upper()))
        if centre is None:
            raise click.ClickException(f"Unknown centre code {centre_code!r}.")
    if referrer and centre is None:
        raise click.ClickException("A referrer needs --centre.")
    parsed = []
    for spec in roles:
        code, _, role = spec.partition(":")
        panel = db.session.scalar(select(Panel).where(Panel.code == code.upper()))
        if panel is None:
            raise click.ClickException(f"Unknown panel {code!r}.")
        try:
            parsed.append((panel, PanelRoleKind(role.lower())))
        except ValueError as exc:
            raise click.ClickException(
                f"Unknown role {role!r}: member, chair or coordinator."
            ) from exc
    password = None
    if not invite:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = password_problems(password, user_inputs=[email, *name.split()])
        if problems:
            raise click.ClickException(" ".join(problems))
    try:
        user = operations.create_user(
            email=email,
            name=name,
            centre_id=centre.id if centre else None,
            is_referrer=referrer,
            is_admin=admin,
            password=password,
        )
        for panel, role in parsed:
            operations.add_panel_role(user, panel, role, by=None)
    except operations.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if invite:
        operations.issue_reset_link(user, invitation=True)
    db.session.commit()
    if invite:
        send_queued_mail()
    click.echo(f"Created {user.email}" + (" (invitation e-mailed)" if invite else "") + ".")
