"""Images from hospital networks (issue 19): who may send, where a study goes, what arrived.

* :class:`DicomSender`: a hospital system allowed to send a centre's studies to Panel, by its
  calling AE title (DICOM C-STORE, optionally only from a network) or by a token (DICOMweb
  STOW-RS). Only a token's hash is kept.
* :class:`ImageRoute`: the referrer's "send this study to my case" key: a keyed HMAC of the
  study's Accession Number or of the hospital's patient ID, as the PACS will send it. The value
  itself is never stored (:func:`panel.imaging.routing.route_hmac`).
* :class:`IncomingStudy`: one study as it arrived from one sender, in one association or one
  STOW-RS request: received, waiting in quarantine for a route, handed to the upload pipeline
  (``upload_id``), refused or purged, with the reason. It holds HMACs and counts only.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.accounts.models import Centre
from panel.core.db import UTCDateTime, db, utcnow

#: What an image route keys on, with the words people see.
ROUTE_KINDS = {"accession_number": "Accession Number", "patient_id": "hospital patient ID"}


class DicomSender(db.Model):
    """A hospital system allowed to send studies for a centre's cases."""

    __tablename__ = "dicom_senders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    #: What admins and the audit trail call it ("Alder Hey PACS").
    label: Mapped[str] = mapped_column(String(120))
    #: The calling AE title of a DICOM node (C-STORE); None for a DICOMweb-only sender.
    ae_title: Mapped[str | None] = mapped_column(String(16), index=True)
    #: Where associations from this AE title may come from (CIDR); None: anywhere.
    network: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 of the DICOMweb (STOW-RS) token, shown once when made; None: no token.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    centre: Mapped[Centre] = relationship()

    __table_args__ = (UniqueConstraint("ae_title", "network", name="uq_dicom_sender_ae_network"),)

    audit_type = "dicom_sender"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows_address(self, address: str | None) -> bool:
        """May an association come from ``address``? Any address when no network is recorded."""
        if not self.network:
            return True
        try:
            return ipaddress.ip_address(address or "") in ipaddress.ip_network(
                self.network, strict=False
            )
        except ValueError:
            return False


class ImageRoute(db.Model):
    """A referrer's key that sends incoming studies of their centre to their case."""

    __tablename__ = "image_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The centre whose senders' studies this route takes (the case's referring centre).
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: HMAC-SHA256 (hex) of the kind, centre and value: the value itself is never stored.
    key_hmac: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When it stopped routing (removed, or the case was sent feedback); None while active.
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_reason: Mapped[str | None] = mapped_column(String(120))

    audit_type = "image_route"

    @property
    def kind_label(self) -> str:
        return ROUTE_KINDS.get(self.kind, self.kind)

    def is_active(self, case=None) -> bool:
        """Does it still route? Not once removed, nor once its case was sent feedback (or was
        closed or withdrawn): :meth:`panel.cases.models.Case.takes_images_from_network`."""
        if self.expired_at is not None:
            return False
        if case is None:
            from panel.cases.models import Case

            case = db.session.get(Case, self.case_id)
        return case is not None and case.takes_images_from_network()


#: An incoming study's states (``state``), in order.
INCOMING_STATES = ("receiving", "quarantined", "released", "refused", "purged")


class IncomingStudy(db.Model):
    """One study as it arrived from one sender (one association or one STOW-RS request)."""

    __tablename__ = "incoming_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``c-store`` or ``stow-rs``.
    source: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("dicom_senders.id", ondelete="SET NULL"), index=True
    )
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    calling_ae: Mapped[str | None] = mapped_column(String(16))
    #: HMACs (as :func:`~panel.imaging.routing.route_hmac` makes them for this centre) of the
    #: study's Study Instance UID, Accession Number and patient ID: a route added later finds
    #: a quarantined study by them; the values are never stored.
    study_hmac: Mapped[str] = mapped_column(String(64), index=True)
    accession_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="receiving", index=True)
    #: Why it was refused or purged, or what it waits for (never an identifier).
    reason: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    #: The upload its files went into when released (the upload pipeline de-identifies them).
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    byte_count: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Instances refused as they arrived (non-image, corrupt, duplicate ...).
    refused_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sender: Mapped[DicomSender | None] = relationship()

    audit_type = "incoming_study"
