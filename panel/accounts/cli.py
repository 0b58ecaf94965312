"""``flask --app panel load-reference-data``, ``create-user`` and the demo commands
(``demo-data``, ``demo-logins``, ``demo-totp``): the commands of accounts (centres and panels
from panel/data/, real staff accounts, the local demo people and their cases from
:mod:`panel.demo` and :mod:`panel.volume`), registered by :func:`panel.accounts.init_app`."""

from __future__ import annotations

import click
import pyotp
from flask import current_app
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


# --------------------------------------------------------------------------- demo (local use only)
@click.command("demo-data")
@click.option(
    "--cases",
    "cases",
    type=click.IntRange(min=0),
    default=0,
    help="Also add this many synthetic cases (for benchmarks), every time it is run.",
)
@click.option("--seed", type=int, default=2026, help="Random seed for the synthetic cases.")
@with_appcontext
def demo_data_command(cases, seed):
    """Create demo people, cases and meetings (once); --cases N adds N synthetic cases. Refused in production."""
    import time

    from panel.demo import DemoDataRefused, load_demo_data

    try:
        created = load_demo_data()
    except DemoDataRefused as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if created:
        click.echo(f"Demo data loaded: {len(created)} people.")
    else:
        click.echo("Demo data already loaded; nothing to do.")
    if cases:
        from panel.volume import add_synthetic_cases

        started = time.perf_counter()
        counts = add_synthetic_cases(cases, seed=seed)
        db.session.commit()
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        click.echo(f"Added {summary} in {time.perf_counter() - started:.1f} s.")


@click.command("demo-logins")
@with_appcontext
def demo_logins_command():
    """Print the demo logins (local use only)."""
    from panel.demo import DEMO_PASSWORD, demo_logins

    logins = demo_logins()
    if not logins:
        click.echo("No demo data loaded.")
        return
    click.echo("")
    click.echo("Demo logins (for local use only). Password for all: " + DEMO_PASSWORD)
    width = max(len(e) for e, _, _ in logins)
    for email, description, totp in logins:
        mark = "  [2FA]" if totp else ""
        click.echo(f"  {email.ljust(width)}  {description}{mark}")
    click.echo("Accounts marked [2FA] ask for a code: in another terminal run")
    click.echo("  .venv/bin/flask --app panel demo-totp EMAIL")
    click.echo("")


@click.command("demo-totp")
@with_appcontext
@click.argument("email")
def demo_totp_command(email):
    """Print the current two-factor code of a *demo* account (never in production)."""
    from panel.accounts.models import User

    if not current_app.config.get("ALLOW_DEMO_DATA"):
        raise click.ClickException("Refused in a production configuration.")
    user = User.by_email(email)
    if user is None or not user.is_demo or not user.totp_secret:
        raise click.ClickException(
            "No demo account with two-factor authentication has that e-mail."
        )
    click.echo(pyotp.TOTP(user.totp_secret).now())
