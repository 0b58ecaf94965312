"""``flask --app panel create-token EMAIL [--name NAME]``: a personal API token for a user."""

from __future__ import annotations

import click

from panel.accounts.models import User
from panel.api import tokens
from panel.core.db import db


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
def create_token_command(email: str, name: str) -> None:
    """Make a personal API token for EMAIL and print it (once: only its hash is kept)."""
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(f"No account has the e-mail {email!r}.")
    try:
        new = tokens.create_token(user, name, by=None)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"API token {new.token.name!r} for {user.email} (shown once; store it safely):", err=True
    )
    click.echo(new.secret)
