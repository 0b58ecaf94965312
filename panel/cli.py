"""``flask --app panel <command>``: the command-line interface other tools rely on."""

from __future__ import annotations

import click
import pyotp
from flask import Flask, current_app
from flask.cli import with_appcontext

from panel.core.db import db


def init_app(app: Flask) -> None:
    """Register the application-wide commands (the domains register their own in their
    ``init_app``)."""
    app.cli.add_command(demo_data_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(demo_totp_command)


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
