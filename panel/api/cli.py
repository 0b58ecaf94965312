"""``flask --app panel create-token EMAIL [--name NAME] [--days N]``: a personal API token."""

from __future__ import annotations

import click

from panel.accounts.models import User
from panel.api import tokens
from panel.core.db import db


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
@click.option(
    "--days",
    type=int,
    default=None,
    help=f"Days until the token expires, 1 to {tokens.MAX_DAYS} (default: API_TOKEN_DAYS, 90).",
)
def create_token_command(email: str, name: str, days: int | None) -> None:
    """Make a personal API token for EMAIL and print it (once: only its hash is kept)."""
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(f"No account has the e-mail {email!r}.")
    try:
        new = tokens.create_token(user, name, by=None, days=days)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    expires = new.token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(
        f"API token {new.token.name!r} for {user.email}, expires {expires} "
        "(shown once; store it safely):",
        err=True,
    )
    click.echo(new.secret)
