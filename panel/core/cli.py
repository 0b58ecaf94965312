"""``flask --app panel audit-verify`` and ``send-mail``: the commands of the shared mechanics
(the audit trail's hash chain, the mail outbox), registered by :func:`panel.core.init_app`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.command("audit-verify")
@with_appcontext
def audit_verify_command():
    """Walk the audit trail's hash chain; name the first row that does not fit."""
    from panel.core.audit import verify_chain

    checked, problem = verify_chain()
    if problem is None:
        click.echo(f"Audit trail intact: {checked} entries verified.")
        return
    click.echo(
        f"Audit trail BROKEN at entry {problem.entry_id}: {problem.reason} "
        f"({checked} entries verified before it)."
    )
    sys.exit(1)


@click.command("send-mail")
@with_appcontext
def send_mail_command():
    """Send (or retry) the e-mails waiting in the outbox."""
    from panel.core.mail import send_queued_mail

    sent, failed = send_queued_mail(limit=1000)
    click.echo(f"{sent} sent, {failed} failed (will be retried).")
