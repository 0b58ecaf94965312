"""Commands for images from hospital networks (issue 19).

* ``flask --app panel dicom-listen [--host H] [--port P] [--ae-title T]``: run the DICOM node.
* ``flask --app panel dicom-ae add CENTRE AE_TITLE [--network CIDR] [--label L]``: record a
  calling AE title allowed to send a centre's studies; ``list``; ``remove ID``.
* ``flask --app panel dicom-ae token CENTRE LABEL``: a DICOMweb (STOW-RS) sender and its token,
  shown once.
"""

from __future__ import annotations

import ipaddress
import signal

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from panel.accounts.models import Centre
from panel.core import jobs
from panel.core.audit import record
from panel.core.db import db, utcnow
from panel.imaging import routing
from panel.imaging.netmodels import DicomSender

AE_CHARS = set(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"
)


def valid_ae_title(value: str) -> str:
    """An AE title as DICOM allows it (1 to 16 characters, no backslash or control characters,
    not only spaces), stripped; raises ValueError with the reason."""
    text = (value or "").strip()
    if not text:
        raise ValueError("an AE title cannot be empty")
    if len(text) > 16:
        raise ValueError("an AE title has at most 16 characters")
    if any(c not in AE_CHARS for c in text):
        raise ValueError("an AE title has letters, digits, spaces and punctuation only (no \\)")
    return text


def valid_network(value: str | None) -> str | None:
    """A CIDR network (``10.1.0.0/16``, ``192.0.2.7``) normalised, or None; ValueError if bad."""
    if not value or not value.strip():
        return None
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (e.g. 10.1.0.0/16)") from None


def add_sender(
    centre: Centre, ae_title: str, *, network: str | None, label: str | None, by=None
) -> DicomSender:
    """Record a calling AE title for ``centre`` (flushed); ValueError with the reason if bad."""
    ae = valid_ae_title(ae_title)
    net = valid_network(network)
    clash = db.session.scalar(
        select(DicomSender).where(
            DicomSender.ae_title == ae,
            DicomSender.network.is_(None) if net is None else DicomSender.network == net,
            DicomSender.revoked_at.is_(None),
        )
    )
    if clash is not None:
        raise ValueError(f"AE title {ae} is already recorded for that network")
    if net is not None:
        # The same AE title and network recorded before and revoked: the table keeps one row
        # per pair, so it is reinstated (for its own centre only).
        old = db.session.scalar(
            select(DicomSender).where(DicomSender.ae_title == ae, DicomSender.network == net)
        )
        if old is not None:
            if old.centre_id != centre.id:
                raise ValueError(
                    f"AE title {ae} from {net} was recorded for another centre (sender"
                    f" {old.id}, revoked); use another AE title or network"
                )
            old.revoked_at = None
            old.label = (label or old.label).strip()[:120]
            record(
                "dicom.sender_added",
                obj=old,
                actor=by,
                details={"centre": centre.code, "ae_title": ae, "network": net, "reinstated": True},
            )
            db.session.flush()
            return old
    sender = DicomSender(
        centre_id=centre.id,
        label=(label or f"{centre.name} {ae}").strip()[:120],
        ae_title=ae,
        network=net,
        created_by_id=getattr(by, "id", None),
    )
    db.session.add(sender)
    db.session.flush()
    record(
        "dicom.sender_added",
        obj=sender,
        actor=by,
        details={"centre": centre.code, "ae_title": ae, "network": net, "label": sender.label},
    )
    return sender


def _centre(code: str) -> Centre:
    centre = db.session.scalar(select(Centre).where(Centre.code == code.strip().upper()))
    if centre is None:
        raise click.ClickException(f"No centre with code {code!r} (see the admin centres page).")
    return centre


@click.command("dicom-listen")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option("--port", type=int, default=None, help="Port (default PANEL_DICOM_PORT, 11112).")
@click.option("--ae-title", default=None, help="Panel's AE title (default PANEL_DICOM_AE_TITLE).")
@with_appcontext
def dicom_listen_command(host: str, port: int | None, ae_title: str | None) -> None:
    """Run Panel's DICOM node (a Storage SCP with C-ECHO) until interrupted."""
    from panel.imaging.dimse import Node

    app = current_app._get_current_object()
    try:
        title = valid_ae_title(ae_title or app.config.get("DICOM_AE_TITLE") or "PANEL")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ae-title") from None
    port = port if port is not None else int(app.config.get("DICOM_PORT", 11112))
    node = Node(app, title)
    # SIGTERM (systemd, docker stop) stops it as Ctrl-C does: open associations are aborted
    # and nothing of their studies kept; released studies' jobs are already queued.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            node.start(host, port, block=False)
        except OSError as exc:
            raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror}") from None
        click.echo(f"Panel DICOM node {title} listening on {host}:{port} (Ctrl-C to stop)")
        node.wait()
    except KeyboardInterrupt:  # before the node was up, or during its stop
        node.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        # In-process jobs mode: let the running job finish (the others stay queued, for any
        # worker's sweep).
        jobs.queue(app).stop()
    click.echo("Panel DICOM node stopped.")


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


@click.group("dicom-ae")
def dicom_ae_group() -> None:
    """The hospital systems allowed to send studies (calling AE titles, DICOMweb tokens)."""


@dicom_ae_group.command("add")
@click.argument("centre")
@click.argument("ae_title")
@click.option("--network", default=None, help="Only from this IP network (CIDR), e.g. 10.1.0.0/16.")
@click.option("--label", default=None, help="What people see, e.g. 'Alder Hey PACS'.")
@with_appcontext
def dicom_ae_add(centre: str, ae_title: str, network: str | None, label: str | None) -> None:
    """Allow AE_TITLE to send studies for CENTRE's cases."""
    try:
        sender = add_sender(_centre(centre), ae_title, network=network, label=label)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    where = f" from {sender.network}" if sender.network else " from any address"
    click.echo(f"Sender {sender.id}: AE title {sender.ae_title}{where} sends for {centre.upper()}")


@dicom_ae_group.command("list")
@with_appcontext
def dicom_ae_list() -> None:
    """List the recorded senders."""
    rows = db.session.scalars(select(DicomSender).order_by(DicomSender.id)).all()
    if not rows:
        click.echo("No senders recorded.")
    for s in rows:
        kind = f"AE {s.ae_title}" if s.ae_title else "DICOMweb"
        state = "revoked" if s.revoked_at else "active"
        net = s.network or "any address"
        token = f" token {s.token_prefix}..." if s.token_prefix else ""
        click.echo(f"{s.id}\t{s.centre.code}\t{kind}\t{net}{token}\t{s.label}\t{state}")


@dicom_ae_group.command("remove")
@click.argument("sender_id", type=int)
@with_appcontext
def dicom_ae_remove(sender_id: int) -> None:
    """Stop a sender (kept, revoked, for the record)."""
    sender = db.session.get(DicomSender, sender_id)
    if sender is None:
        raise click.ClickException(f"No sender {sender_id}.")
    if sender.revoked_at is None:
        sender.revoked_at = utcnow()
        record("dicom.sender_revoked", obj=sender, details={"label": sender.label})
        db.session.commit()
    click.echo(f"Sender {sender_id} revoked.")


@dicom_ae_group.command("token")
@click.argument("centre")
@click.argument("label")
@with_appcontext
def dicom_ae_token(centre: str, label: str) -> None:
    """A DICOMweb (STOW-RS) sender for CENTRE with a new token (shown once)."""
    c = _centre(centre)
    sender = DicomSender(centre_id=c.id, label=label.strip()[:120] or f"{c.name} DICOMweb")
    db.session.add(sender)
    secret = routing.issue_token(sender)
    db.session.flush()
    record("dicom.sender_added", obj=sender, details={"centre": c.code, "dicomweb": True})
    db.session.commit()
    click.echo(f"Sender {sender.id} for {c.code}. Its DICOMweb token (shown once):")
    click.echo(secret)
