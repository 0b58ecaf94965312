"""Imaging: uploads of scans and documents, de-identification (pure, :mod:`panel.imaging.deid`),
previews, the slice viewer and the review queue for held-back files."""

from flask import Blueprint, Flask

bp = Blueprint("imaging", __name__)


def _images_panel(case, user, state) -> bool | None:
    """The images card (loaded by htmx) while the case is open."""
    return None if case.status.value in ("withdrawn", "closed") else True


def init_app(app: Flask) -> None:
    """Register the imaging pages, the ``deidentify`` command and the case page's images card."""
    from panel.core.casepage import register_panel
    from panel.core.signals import feedback_was_sent
    from panel.imaging.cli import deidentify_command
    from panel.imaging.netcli import dicom_ae_group, dicom_listen_command
    from panel.imaging.routing import on_feedback_sent

    app.register_blueprint(bp)
    app.cli.add_command(deidentify_command)
    app.cli.add_command(dicom_listen_command)
    app.cli.add_command(dicom_ae_group)
    # Image routes stop when the panel's feedback is sent (issue 19).
    feedback_was_sent.connect(on_feedback_sent, sender=app)
    register_panel(
        app, "imaging.images", "imaging/_case_slot.html", _images_panel, slot="main", order=40
    )


from panel.imaging import ingest, network_views, routing, views  # noqa: E402,F401
