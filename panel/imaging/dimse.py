"""Panel's DICOM node: a Storage SCP (pynetdicom) that receives studies from hospital systems.

``flask --app panel dicom-listen`` runs it (:mod:`panel.imaging.netcli`). Each association:

* **is accepted only from a recorded sender** (:func:`panel.imaging.routing.sender_for_association`:
  its calling AE title, from its network when one is recorded); any other is rejected with
  "calling AE title not recognised" and the reason logged (AE titles and addresses only);
* **verification** (C-ECHO) answers success to a recorded sender;
* **C-STORE**: every storage SOP class is negotiated in every transfer syntax, so that a
  non-image object gets a clear refusal with its reason instead of a failed negotiation; each
  instance goes to its study's quarantine through an :class:`~panel.imaging.routing.Inbox`;
* **released**: each study is routed (to its case's upload pipeline, or left in quarantine);
* **aborted**, or the connection lost before a release: nothing of it is kept.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from pydicom.uid import UID
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from panel.core.db import db
from panel.imaging import routing

log = logging.getLogger("panel.imaging.dicom")
# pynetdicom logs every request and PDU at INFO (one line per image of a 500-image study): its
# warnings and errors stay; Panel logs each association and study itself.
logging.getLogger("pynetdicom").setLevel(logging.WARNING)

#: C-STORE statuses (PS3.4 B.2.3, PS3.7 C): success; refused for lack of resources (the study
#: is larger than Panel accepts, or storage failed); data set not matching its SOP class;
#: cannot understand (not a readable data set, or incomplete pixel data).
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
NOT_MATCHING = 0xA900
CANNOT_UNDERSTAND = 0xC000
#: Refused: SOP class not supported (PS3.7 C, a general status): a non-image object (a
#: structured report, an encapsulated PDF ...) that Panel does not store.
SOP_CLASS_NOT_SUPPORTED = 0x0122
#: Failure: duplicate SOP instance (PS3.7 C): the instance was already received in this
#: association; the first copy is kept, so the sender loses nothing.
DUPLICATE_INSTANCE = 0x0111
#: Processing failure (Panel's own fault).
PROCESSING_FAILURE = 0x0110

#: What an association rejects with: permanent, by the service user, calling AE title not
#: recognised (PS3.8 9.3.4) ...
REJECT_CALLING_AE = (0x01, 0x01, 0x03)
#: ... or called AE title not recognised (the sender addressed another node).
REJECT_CALLED_AE = (0x01, 0x01, 0x07)

#: Why a study is refused when its connection closed without a release or an abort.
LOST = "the connection was lost before the study was complete; nothing was kept"

#: ... or when the sender fell silent (this node aborted it) ...
TIMED_OUT = "the sender was silent for more than {seconds} seconds; nothing of the study was kept"
#: ... or when the node was stopped while it was open.
STOPPED = "Panel's DICOM node stopped before the study was complete; nothing was kept"

#: Transfer syntaxes whose pixel data is native (not encapsulated): its length is known.
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


class Node:
    """One DICOM node serving one Flask app: its AE and the inbox of each association."""

    def __init__(self, app: Flask, ae_title: str | None = None) -> None:
        self.app = app
        self.ae_title = (ae_title or app.config.get("DICOM_AE_TITLE") or "PANEL")[:16]
        self.ae = AE(ae_title=self.ae_title)
        # An association addressed to another AE title is rejected (on_requested says why first).
        self.ae.require_called_aet = True
        # Every storage class in every transfer syntax: what Panel cannot use is refused per
        # instance with its reason (a failed negotiation would tell the sender nothing).
        for context in AllStoragePresentationContexts:
            self.ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        self.ae.add_supported_context(Verification)
        self.ae.maximum_pdu_size = 0  # no limit on what the peer sends
        self.ae.network_timeout = float(app.config.get("DICOM_NETWORK_TIMEOUT", 60))
        self.ae.acse_timeout = 30
        self.ae.dimse_timeout = float(app.config.get("DICOM_NETWORK_TIMEOUT", 60))
        self._inboxes: dict[int, routing.Inbox] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self.server = None

    @property
    def handlers(self) -> list[tuple[Any, Any]]:
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_C_STORE, self.on_store),
            (evt.EVT_RELEASED, self.on_released),
            (evt.EVT_ABORTED, self.on_aborted),
            (evt.EVT_CONN_CLOSE, self.on_closed),
        ]

    def start(self, host: str, port: int, *, block: bool = True):
        """Serve on ``(host, port)``; with ``block=False`` return the running server, else
        serve until interrupted (KeyboardInterrupt: Ctrl-C, or SIGTERM as the command maps
        it), then :meth:`stop`."""
        self.server = self.ae.start_server((host, port), block=False, evt_handlers=self.handlers)
        log.info("DICOM node %s listening on %s:%s", self.ae_title, host, port)
        if not block:
            return self.server
        self.wait()
        return None

    def wait(self) -> None:
        """Serve until interrupted (KeyboardInterrupt), then :meth:`stop`."""
        try:
            # In short waits: a signal the kernel hands to another thread (an association's, a
            # job's) only sets a flag, which the main thread reads when it runs again; blocked
            # in one endless wait it never would, and Ctrl-C or SIGTERM would not stop the node.
            idle = threading.Event()
            while not idle.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self, wait: float = 10.0) -> None:
        """Stop listening; abort the associations still open (nothing of their studies is
        kept: their senders were told, by the abort, to send them again)."""
        self._stopping = True
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        active = list(self.ae.active_associations)
        for assoc in active:
            assoc.abort()
        for assoc in active:
            assoc.join(wait)
        with self._lock:
            left = list(self._inboxes.values())
            self._inboxes.clear()
        for inbox in left:
            with self.app.app_context():
                try:
                    inbox.abort(STOPPED)
                finally:
                    db.session.remove()
        log.info("DICOM node %s stopped", self.ae_title)

    # ------------------------------------------------------------------ events
    def on_requested(self, event: Any) -> None:
        """Reject an association from anyone not recorded as a sender (reason logged)."""
        assoc = event.assoc
        # The requestor's AE title is set later, by the negotiation: read the request's own.
        calling = str(getattr(assoc.requestor.primitive, "calling_ae_title", "") or "").strip()
        called = str(getattr(assoc.requestor.primitive, "called_ae_title", "") or "").strip()
        address = assoc.requestor.address
        if called != self.ae_title.strip():
            log.warning(
                "DICOM association from AE %r at %s rejected: called AE title %r is not this"
                " node's (%s)",
                calling,
                address,
                called,
                self.ae_title,
            )
            assoc.acse.send_reject(*REJECT_CALLED_AE)
            assoc.kill()
            return
        with self.app.app_context():
            try:
                sender, why = routing.sender_for_association(calling, address)
                if sender is not None:
                    inbox = routing.Inbox(sender, "c-store")
            finally:
                db.session.remove()
        if sender is None:
            log.warning("DICOM association from AE %r at %s rejected: %s", calling, address, why)
            # As pynetdicom's own negotiation rejects: the A-ASSOCIATE-RJ, then stop the
            # association once its transport has sent it (kill waits for the DUL to be idle).
            assoc.acse.send_reject(*REJECT_CALLING_AE)
            assoc.kill()
            return
        with self._lock:
            self._inboxes[id(assoc)] = inbox
        log.info("DICOM association from AE %r at %s (sender %s)", calling, address, sender.id)

    def _inbox(self, event: Any) -> routing.Inbox | None:
        with self._lock:
            return self._inboxes.get(id(event.assoc))

    def _pop(self, event: Any) -> routing.Inbox | None:
        with self._lock:
            return self._inboxes.pop(id(event.assoc), None)

    def on_store(self, event: Any) -> Any:
        """One instance: into its study's quarantine, or refused with its reason."""
        inbox = self._inbox(event)
        if inbox is None:  # cannot happen: the association was accepted with one
            return PROCESSING_FAILURE
        try:
            ds = event.dataset
            study_uid = str(ds.StudyInstanceUID)
            sop_uid = str(ds.SOPInstanceUID)
            accession = ds.get("AccessionNumber")
            patient_id = ds.get("PatientID")
            if not study_uid.strip() or not sop_uid.strip():
                raise ValueError("no Study or SOP Instance UID")
        except Exception:  # noqa: BLE001 - any failure to read it: a corrupt data set
            log.warning("DICOM instance from sender %s refused: not readable", inbox.sender_id)
            with self.app.app_context():
                try:
                    inbox.refuse(None, "not a readable DICOM data set")
                finally:
                    db.session.remove()
            return _status(CANNOT_UNDERSTAND, "not a readable DICOM data set")
        incomplete = _incomplete(ds, str(event.context.transfer_syntax))
        if incomplete:
            log.warning("DICOM instance from sender %s refused: %s", inbox.sender_id, incomplete)
            with self.app.app_context():
                try:
                    inbox.refuse(study_uid, incomplete, accession, patient_id)
                finally:
                    db.session.remove()
            return _status(CANNOT_UNDERSTAND, incomplete)
        sop_class = str(event.request.AffectedSOPClassUID or ds.get("SOPClassUID", ""))
        if str(ds.get("SOPClassUID", sop_class)) != sop_class:
            reason = "the data set's SOP class is not the one it was sent as"
            with self.app.app_context():
                try:
                    inbox.refuse(study_uid, reason, accession, patient_id)
                finally:
                    db.session.remove()
            return _status(NOT_MATCHING, reason)
        encoded = event.encoded_dataset(include_meta=True)
        with self.app.app_context():
            try:
                why = inbox.accept(
                    study_uid=study_uid,
                    sop_instance_uid=sop_uid,
                    sop_class_uid=sop_class,
                    accession=accession,
                    patient_id=patient_id,
                    size=len(encoded),
                    write=lambda path: path.write_bytes(encoded),
                )
            except OSError:
                log.exception("DICOM instance from sender %s: storage failed", inbox.sender_id)
                return _status(OUT_OF_RESOURCES, "Panel could not store the instance")
            except Exception:  # noqa: BLE001 - the database, say: the sender may try again
                db.session.rollback()
                log.exception("DICOM instance from sender %s: not stored", inbox.sender_id)
                return _status(PROCESSING_FAILURE, "Panel could not take the instance; send again")
            finally:
                db.session.remove()
        if why is None:
            return SUCCESS
        log.info("DICOM instance from sender %s refused: %s", inbox.sender_id, why)
        if why == routing.DUPLICATE:
            return _status(DUPLICATE_INSTANCE, why)
        if why.startswith("not an image"):
            return _status(SOP_CLASS_NOT_SUPPORTED, why)
        return _status(OUT_OF_RESOURCES, why)

    def on_released(self, event: Any) -> None:
        """The sender released the association: route each of its studies."""
        inbox = self._pop(event)
        if inbox is None:
            return
        with self.app.app_context():
            try:
                inbox.close()
            except Exception:  # noqa: BLE001 - keep nothing half-routed
                log.exception("DICOM studies from sender %s could not be routed", inbox.sender_id)
                db.session.rollback()
                inbox.abort("Panel could not route the study; nothing of it was kept")
            finally:
                db.session.remove()

    def on_aborted(self, event: Any) -> None:
        """Aborted mid-study (by the sender, or by this node when the sender fell silent for
        longer than its network timeout): nothing of it is kept."""
        if getattr(event.assoc, "_sent_abort", False) and not self._stopping:
            seconds = f"{self.ae.network_timeout:g}"
            self._abort(event, TIMED_OUT.format(seconds=seconds))
        else:
            self._abort(event, routing.ABORTED)

    def on_closed(self, event: Any) -> None:
        """The connection closed without a release: the peer aborted (its A-ABORT is closed on
        before the association's own thread reports it), or it died, or the network failed."""
        self._abort(event, routing.ABORTED if _peer_aborted(event.assoc) else LOST)

    def _abort(self, event: Any, reason: str) -> None:
        inbox = self._pop(event)
        if inbox is None:
            return
        with self.app.app_context():
            try:
                inbox.abort(STOPPED if self._stopping else reason)
            finally:
                db.session.remove()


def _peer_aborted(assoc: Any) -> bool:
    """Did the peer send an A-ABORT (rather than vanish)? Its indication is queued for the
    association's thread when the transport closes."""
    from pynetdicom.pdu_primitives import A_ABORT

    if getattr(assoc, "is_aborted", False):
        return True
    queued = getattr(getattr(assoc.dul, "to_user_queue", None), "queue", ())
    return any(type(p) is A_ABORT for p in list(queued))


def _incomplete(ds: Any, transfer_syntax: str) -> str | None:
    """Why an image's data set cannot be whole (a truncated transfer), or None. Native pixel
    data must be as long as its rows, columns, samples, bits and frames say."""
    try:
        if "PixelData" not in ds:
            return None
        if transfer_syntax not in NATIVE:
            return None  # encapsulated: the de-identification step reads its frames
        frames = int(ds.get("NumberOfFrames") or 1)
        expected = (
            int(ds.Rows)
            * int(ds.Columns)
            * int(ds.get("SamplesPerPixel") or 1)
            * frames
            * int(ds.BitsAllocated)
            + 7
        ) // 8
        if len(ds.PixelData) < expected:
            return "incomplete pixel data (the data set was cut short)"
    except Exception:  # noqa: BLE001 - unreadable image attributes: corrupt
        return "the image attributes are not readable"
    return None


def _status(code: int, comment: str) -> Any:
    """A C-STORE response status with an Error Comment (at most 64 characters)."""
    from pydicom.dataset import Dataset

    status = Dataset()
    status.Status = code
    status.ErrorComment = comment[:64]
    return status


def sop_class_name(uid: str) -> str:
    return UID(uid).name
