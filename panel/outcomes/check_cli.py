"""``flask --app panel send-outcome-reminders [--now ISO]``: the follow-up reminders, for cron
until a job queue exists (docs/operations.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            "give an ISO date or date and time, e.g. 2027-03-01 or 2027-03-01T09:00"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.command("send-outcome-reminders")
@click.option("--now", "now_text", metavar="ISO", help="Act as if it were this moment (UTC).")
@with_appcontext
def send_outcome_reminders_command(now_text: str | None) -> None:
    """Remind the referrers of every due, unanswered follow-up outcome check (once each), and
    make the checks of cases sent before checks existed. Safe to run often and in parallel."""
    from panel.core.mail import send_queued_mail
    from panel.outcomes.checks import send_reminders

    run = send_reminders(_moment(now_text))
    click.echo(run.summary())
    if run.reminded:
        sent, failed = send_queued_mail(limit=1000)
        click.echo(f"E-mail: {sent} sent, {failed} failed (will be retried by send-mail).")
