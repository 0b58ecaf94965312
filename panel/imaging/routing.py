"""Studies from hospital networks, routed to cases without storing identifiers (issue 19).

Both ways in, a DICOM node (C-STORE, :mod:`panel.imaging.dimse`) and DICOMweb STOW-RS
(:mod:`panel.imaging.dicomweb`), receive through an :class:`Inbox`:

1. **Who sends.** A sender is a :class:`~panel.imaging.netmodels.DicomSender` of a centre: its
   calling AE title (from its network, when one is recorded) or its DICOMweb token
   (:func:`sender_for_association`, :func:`sender_for_token`).
2. **Where it goes.** The referrer adds an image route to their case: the study's Accession
   Number or the hospital's patient ID, as their PACS will send it (:func:`add_route`). Panel
   keeps only ``HMAC(key, kind | centre | value)`` (:func:`route_hmac`); the key is derived
   from the app's secret key, the centre is in the message so a value never links two centres'
   records, and a study's values are compared the same way as they arrive.
3. **Quarantine.** Each instance is written as it arrives to ``quarantine/study-<id>/<n>`` in
   the storage (the only place an identified original is ever written), with its
   :class:`~panel.imaging.netmodels.IncomingStudy` row (HMACs and counts, no values).
4. **Release.** When the association is released (or the STOW-RS request is read), a study
   whose HMAC matches an active route of the sending centre is handed to the upload pipeline
   (:func:`release`: an :class:`~panel.imaging.models.Upload` whose spool gets the files, one
   ``imaging.ingest`` job per file, as for uploads from a browser): the same de-identification,
   pixel text step, duplicate check and progress. The quarantined files move into the upload's
   spool and each is deleted as soon as its job has stored the de-identified result.
   A study that matches no route waits in quarantine until a route is added
   (:func:`release_waiting`) or for ``DICOM_QUARANTINE_HOURS``, after which the hourly
   ``imaging.quarantine_purge`` job deletes it with an audit entry holding no identifiers.
5. **Refusals.** An aborted association keeps nothing (:meth:`Inbox.abort`); a study larger than
   ``DICOM_MAX_STUDY_BYTES`` is refused whole; single instances (not an image, corrupt, a
   duplicate SOP instance) are refused with their reason and counted on the study.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from panel.core import jobs
from panel.core.audit import record
from panel.core.db import db, utcnow
from panel.core.errors import NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.storage import LocalStorage, get_storage
from panel.core.web import path_for
from panel.imaging.models import Upload
from panel.imaging.netmodels import ROUTE_KINDS, DicomSender, ImageRoute, IncomingStudy

log = logging.getLogger("panel.imaging.network")

QUARANTINE_PURGE = "imaging.quarantine_purge"
QUARANTINE_PURGE_EVERY = timedelta(hours=1)

#: Longest values DICOM allows: Accession Number is SH (16 characters), Patient ID LO (64).
MAX_LENGTH = {"accession_number": 16, "patient_id": 64}

NO_ROUTE = "no image route of the sending centre matches its Accession Number or patient ID"
TOO_LARGE = "the study is larger than Panel accepts ({limit}); nothing of it was kept"
ABORTED = "the association was aborted before the study was complete; nothing of it was kept"
DUPLICATE = "a duplicate SOP instance (already received in this study)"


# --------------------------------------------------------------------------- keys
def route_key() -> bytes:
    """The deployment's routing key, derived from its secret key (never stored)."""
    return hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"panel/dicom-route/v1", hashlib.sha256
    ).digest()


def normalise(value: Any) -> str:
    """A routing value as compared: DICOM pads with spaces (and NULs); people type either case."""
    return str(value or "").replace("\x00", "").strip().upper()


def route_hmac(centre_id: int, kind: str, value: Any, *, key: bytes | None = None) -> str | None:
    """The HMAC of one routing value of one centre (None for an empty value)."""
    text = normalise(value)
    if not text:
        return None
    message = f"{kind}\x1f{int(centre_id)}\x1f{text}".encode()
    return hmac.new(key or route_key(), message, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- routes
class RouteRefused(Refused):
    """A route that cannot be added: the message says why, for the form or the API."""


def case_routes(case: Any) -> list[ImageRoute]:
    """A case's routes, newest first (active and expired: the page shows both)."""
    return list(
        db.session.scalars(
            select(ImageRoute)
            .where(ImageRoute.case_id == case.id)
            .order_by(ImageRoute.created_at.desc(), ImageRoute.id.desc())
        )
    )


def add_route(case: Any, user: Any, kind: str, value: Any) -> ImageRoute:
    """Add an image route to ``case`` (flushed, not committed); releases any quarantined study
    of the centre it matches. Raises :class:`NotAllowed` or :class:`RouteRefused`."""
    if not case.can_manage_image_routes(user):
        raise NotAllowed("You cannot add image routes to this case.")
    if kind not in ROUTE_KINDS:
        raise RouteRefused("Choose the Accession Number or the hospital patient ID.")
    text = normalise(value)
    label = ROUTE_KINDS[kind]
    if not text:
        raise RouteRefused(f"Enter the {label} as your PACS will send it.")
    if len(text) > MAX_LENGTH[kind]:
        raise RouteRefused(f"A DICOM {label} has at most {MAX_LENGTH[kind]} characters.")
    if any(ord(c) < 32 or c == "\\" for c in text):
        raise RouteRefused(f"The {label} has characters DICOM does not allow.")
    if case.referring_centre_id is None:
        raise RouteRefused(
            "The case has no referring centre, so Panel cannot tell whose systems may send to it."
        )
    key = route_hmac(case.referring_centre_id, kind, text)
    taken = db.session.scalars(
        select(ImageRoute).where(
            ImageRoute.centre_id == case.referring_centre_id,
            ImageRoute.kind == kind,
            ImageRoute.key_hmac == key,
            ImageRoute.expired_at.is_(None),
        )
    ).all()
    for other in taken:
        if other.case_id == case.id:
            raise RouteRefused(f"This case already has a route with this {label}.")
        if other.is_active():
            raise RouteRefused(
                f"This {label} already routes images to another open case of your centre."
            )
    route = ImageRoute(
        case_id=case.id,
        centre_id=case.referring_centre_id,
        kind=kind,
        key_hmac=key,
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(route)
    db.session.flush()
    record(
        "imaging.route_added",
        obj=case,
        object_type="case",
        actor=user,
        details={"route_id": route.id, "kind": kind},
    )
    release_waiting(route, case)
    return route


def remove_route(case: Any, user: Any, route: ImageRoute) -> None:
    """Stop a route (kept, as expired, so the page and the audit trail still show it)."""
    if route.case_id != case.id or not case.can_manage_image_routes(user):
        raise NotAllowed("You cannot change this case's image routes.")
    if route.expired_at is not None:
        return
    route.expired_at = utcnow()
    route.expired_reason = "removed"
    record(
        "imaging.route_removed",
        obj=case,
        object_type="case",
        actor=user,
        details={"route_id": route.id, "kind": route.kind},
    )


def expire_routes(case: Any, reason: str) -> int:
    """Mark a case's active routes expired (e.g. ``feedback sent``); they already stopped
    routing by :meth:`ImageRoute.is_active`, this records when and why."""
    now = utcnow()
    n = 0
    for route in db.session.scalars(
        select(ImageRoute).where(ImageRoute.case_id == case.id, ImageRoute.expired_at.is_(None))
    ):
        route.expired_at = now
        route.expired_reason = reason[:120]
        n += 1
    return n


def on_feedback_sent(_app: Any, *, case: Any, **_: Any) -> None:
    """The receiver of :data:`panel.core.signals.feedback_was_sent`: the case's routes expire."""
    expire_routes(case, "feedback sent")


def find_route(centre_id: int, accession_hmac: str | None, patient_hmac: str | None):
    """The active route of ``centre_id`` an incoming study's HMACs match, with its case, or
    (None, None). An Accession Number route wins over a patient ID route (it names the study)."""
    from panel.cases.models import Case

    wanted = []
    if accession_hmac:
        wanted.append(("accession_number", accession_hmac))
    if patient_hmac:
        wanted.append(("patient_id", patient_hmac))
    for kind, key in wanted:
        rows = db.session.execute(
            select(ImageRoute, Case)
            .join(Case, Case.id == ImageRoute.case_id)
            .where(
                ImageRoute.centre_id == centre_id,
                ImageRoute.kind == kind,
                ImageRoute.key_hmac == key,
                ImageRoute.expired_at.is_(None),
            )
            .order_by(ImageRoute.id.desc())
        ).all()
        for route, case in rows:
            if route.is_active(case):
                return route, case
    return None, None


# --------------------------------------------------------------------------- senders
def sender_for_association(ae_title: str, address: str | None):
    """The sender an association comes from, or (None, reason) for one to reject. The reason
    names no identifier (AE titles and addresses are the hospital system's)."""
    ae = (ae_title or "").strip()
    rows = db.session.scalars(
        select(DicomSender).where(DicomSender.ae_title == ae, DicomSender.revoked_at.is_(None))
    ).all()
    if not rows:
        return None, "the calling AE title is not recorded for any centre"
    allowed = [r for r in rows if r.allows_address(address)]
    if not allowed:
        return None, "the calling AE title is recorded, but not for this network address"
    if len({r.centre_id for r in allowed}) > 1:
        narrow = [r for r in allowed if r.network]
        if len({r.centre_id for r in narrow}) == 1:
            return narrow[0], None
        return None, "the calling AE title is recorded for more than one centre"
    return allowed[0], None


TOKEN_PREFIX = "pdw_"  # noqa: S105 - a prefix, not a secret


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(sender: DicomSender) -> str:
    """Give ``sender`` a new DICOMweb token (replacing any old one); returned once, only its
    hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    sender.token_hash = token_hash(secret)
    sender.token_prefix = secret[:10]
    return secret


def sender_for_token(secret: str | None) -> DicomSender | None:
    """The active sender holding this DICOMweb token, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    sender = db.session.scalar(
        select(DicomSender).where(DicomSender.token_hash == token_hash(secret))
    )
    return sender if sender is not None and sender.active else None


# --------------------------------------------------------------------------- receiving
def quarantine_dir(storage: LocalStorage, incoming_id: int) -> Path:
    return storage.root / "quarantine" / f"study-{int(incoming_id)}"


def is_image_storage(sop_class_uid: str) -> bool:
    """Is it a storage SOP class of images Panel can de-identify and show (CT, MR, PET, NM,
    X-ray, ultrasound, secondary capture ...)? Structured reports, presentation states,
    waveforms, encapsulated documents and raw data are not."""
    from pydicom.uid import UID

    name = UID(str(sop_class_uid or "")).name
    return "Image Storage" in name and "Raw Data" not in name


class Inbox:
    """The studies one sender sends in one association (or one STOW-RS request).

    ``accept`` takes each instance as it arrives (the SCP's C-STORE handler, the STOW-RS
    parts): it writes it to its study's quarantine folder and returns None, or returns why it
    was refused. ``close`` routes each study (a released association, a read request);
    ``abort`` keeps nothing. Run inside an app context; it commits its own rows."""

    def __init__(
        self,
        sender: DicomSender,
        source: str,
        *,
        storage: LocalStorage | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.sender_id = sender.id
        self.centre_id = sender.centre_id
        self.sender_label = sender.label
        self.calling_ae = sender.ae_title if source == "c-store" else None
        self.source = source
        self.storage = storage or get_storage()
        config = config if config is not None else current_app.config
        self.max_bytes = int(config.get("DICOM_MAX_STUDY_BYTES", 4 * 1024**3))
        self.key = route_key()
        #: study HMAC -> {"id", "count", "bytes", "seen": set of SOP HMACs, "refused": Counter,
        #: "too_large": bool}
        self.studies: dict[str, dict[str, Any]] = {}

    def _hmac(self, kind: str, value: Any) -> str | None:
        return route_hmac(self.centre_id, kind, value, key=self.key)

    def _study(self, study_uid: str, accession: Any, patient_id: Any) -> dict[str, Any]:
        key = self._hmac("study", study_uid) or self._hmac("study", "(none)")
        study = self.studies.get(key)
        if study is None:
            row = IncomingStudy(
                source=self.source,
                sender_id=self.sender_id,
                centre_id=self.centre_id,
                calling_ae=self.calling_ae,
                study_hmac=key,
                accession_hmac=self._hmac("accession_number", accession),
                patient_hmac=self._hmac("patient_id", patient_id),
                state="receiving",
            )
            route, case = find_route(self.centre_id, row.accession_hmac, row.patient_hmac)
            if case is not None:
                row.case_id = case.id  # shown on the case page as it arrives
            db.session.add(row)
            db.session.commit()
            folder = quarantine_dir(self.storage, row.id)
            shutil.rmtree(folder, ignore_errors=True)  # a leftover of a reused id
            folder.mkdir(parents=True)
            study = {
                "id": row.id,
                "count": 0,
                "bytes": 0,
                "seen": set(),
                "refused": Counter(),
                "too_large": False,
                "folder": folder,
            }
            self.studies[key] = study
        return study

    def accept(
        self,
        *,
        study_uid: str,
        sop_instance_uid: str,
        sop_class_uid: str,
        accession: Any,
        patient_id: Any,
        size: int,
        write: Callable[[Path], None],
    ) -> str | None:
        """Take one instance: None when written to quarantine, else the reason it was refused.
        ``write(path)`` writes the instance's bytes (``size`` of them) to ``path``."""
        study = self._study(study_uid, accession, patient_id)
        if study["too_large"]:
            return TOO_LARGE.format(limit=_size(self.max_bytes))
        if not is_image_storage(sop_class_uid):
            study["refused"]["not an image"] += 1
            return "not an image: Panel stores images only (this SOP class is not one)"
        sop = self._hmac("sop", sop_instance_uid)
        if sop in study["seen"]:
            study["refused"]["duplicate SOP instance"] += 1
            return DUPLICATE
        if study["bytes"] + size > self.max_bytes:
            study["too_large"] = True
            shutil.rmtree(study["folder"], ignore_errors=True)
            return TOO_LARGE.format(limit=_size(self.max_bytes))
        n = study["count"] + 1
        path = study["folder"] / str(n)
        try:
            write(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        study["seen"].add(sop)
        study["count"] = n
        study["bytes"] += size
        return None

    def refuse(self, study_uid: str | None, reason: str, accession=None, patient_id=None) -> None:
        """Count an instance refused before it could be read (corrupt) on its study, if known."""
        if study_uid:
            self._study(study_uid, accession, patient_id)["refused"][reason] += 1
        else:
            log.warning("DICOM instance refused from sender %s: %s", self.sender_id, reason)

    def close(self) -> list[IncomingStudy]:
        """Route each study: released to its case's upload pipeline, or left in quarantine."""
        done = []
        for study in self.studies.values():
            row = db.session.get(IncomingStudy, study["id"])
            if row is None:
                continue
            _counts(row, study)
            if study["too_large"]:
                _refuse(row, TOO_LARGE.format(limit=_size(self.max_bytes)), self.storage)
            elif study["count"] == 0:
                _refuse(row, "no instance of the study could be kept", self.storage)
            else:
                route, case = find_route(row.centre_id, row.accession_hmac, row.patient_hmac)
                if case is not None:
                    release(row, case, storage=self.storage)
                else:
                    row.state = "quarantined"
                    row.case_id = None
                    row.reason = NO_ROUTE
                    record(
                        "imaging.study_quarantined",
                        obj=row,
                        actor_label=_actor(self.sender_label),
                        details=_details(row),
                    )
            db.session.commit()
            done.append(row)
            log.info(
                "DICOM study %s from sender %s: %s (%s instances, %s refused)",
                row.id,
                self.sender_id,
                row.state,
                row.instance_count,
                row.refused_count,
            )
        self.studies.clear()
        return done

    def abort(self, reason: str = ABORTED) -> None:
        """Keep nothing of this association's studies: their files go, their rows say why."""
        for study in self.studies.values():
            row = db.session.get(IncomingStudy, study["id"])
            shutil.rmtree(study["folder"], ignore_errors=True)
            if row is not None:
                _counts(row, study)
                _refuse(row, reason, self.storage)
                db.session.commit()
            log.warning(
                "DICOM study %s from sender %s refused: %s", study["id"], self.sender_id, reason
            )
        self.studies.clear()


def _counts(row: IncomingStudy, study: dict[str, Any]) -> None:
    row.instance_count = study["count"]
    row.byte_count = study["bytes"]
    row.refused_count = sum(study["refused"].values())
    row.closed_at = utcnow()
    if study["refused"]:
        row.reason = "; ".join(f"{n} {why}" for why, n in sorted(study["refused"].items()))[:300]


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _actor(label: str | None) -> str:
    return f"DICOM sender: {label or 'removed'}"[:255]


def _details(row: IncomingStudy) -> dict[str, Any]:
    """An incoming study in the audit trail: counts, source and sender, never a value."""
    return {
        "incoming_id": row.id,
        "source": row.source,
        "sender_id": row.sender_id,
        "centre_id": row.centre_id,
        "instances": row.instance_count,
        "refused": row.refused_count,
        "state": row.state,
        "reason": row.reason,
    }


def _refuse(row: IncomingStudy, reason: str, storage: LocalStorage) -> None:
    shutil.rmtree(quarantine_dir(storage, row.id), ignore_errors=True)
    row.state = "refused"
    row.reason = reason[:300]
    record(
        "imaging.study_refused",
        obj=row,
        actor_label=_actor(row.sender.label if row.sender else None),
        details=_details(row),
    )


def release(row: IncomingStudy, case: Any, *, storage: LocalStorage | None = None) -> Upload:
    """Hand a received study to ``case``'s upload pipeline (flushed, not committed): an upload
    whose spool gets the quarantined files, one ``imaging.ingest`` job per file. The referrers
    are told images arrived."""
    from panel.imaging.ingest import enqueue_files, spool_dir

    storage = storage or get_storage()
    sender_label = row.sender.label if row.sender else "a DICOM sender"
    way = "DICOM" if row.source == "c-store" else "DICOMweb"
    upload = Upload(case_id=case.id, label=f"{sender_label} ({way})"[:120], uploaded_by_id=None)
    db.session.add(upload)
    db.session.flush()
    source = quarantine_dir(storage, row.id)
    spool = spool_dir(storage, upload.id)
    shutil.rmtree(spool, ignore_errors=True)
    spool.parent.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in source.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    spool.mkdir()
    items = []
    for n, path in enumerate(files, 1):
        path.rename(spool / str(n))
        items.append({"name": f"instance-{n}.dcm"})
    shutil.rmtree(source, ignore_errors=True)
    row.state = "released"
    row.case_id = case.id
    row.upload_id = upload.id
    row.released_at = utcnow()
    actor = _actor(sender_label)
    enqueue_files(upload, case, items, user_id=None, actor_label=actor)
    record(
        "imaging.study_received",
        obj=case,
        object_type="case",
        actor_label=actor,
        details=_details(row) | {"upload_id": upload.id},
        clinical=True,
    )
    notify(
        case_referrers(case),
        panel_id=case.panel_id if case.submitted_at else None,
        kind="imaging.study_received",
        text=f"{len(items)} images arrived for case {case.reference} from {sender_label}.",
        link=path_for("cases.show", ref=case.reference, _anchor="images"),
        case_ref=case.reference,
    )
    db.session.flush()
    return upload


def release_waiting(route: ImageRoute, case: Any) -> int:
    """Release the quarantined studies of the route's centre that it matches (a route added
    after the PACS sent)."""
    column = (
        IncomingStudy.accession_hmac
        if route.kind == "accession_number"
        else IncomingStudy.patient_hmac
    )
    rows = db.session.scalars(
        select(IncomingStudy).where(
            IncomingStudy.centre_id == route.centre_id,
            IncomingStudy.state == "quarantined",
            column == route.key_hmac,
        )
    ).all()
    for row in rows:
        release(row, case)
    return len(rows)


def incoming_for_case(case: Any, limit: int = 50) -> list[IncomingStudy]:
    """The studies that arrived (or are arriving) for a case, newest first."""
    return list(
        db.session.scalars(
            select(IncomingStudy)
            .where(IncomingStudy.case_id == case.id)
            .order_by(IncomingStudy.received_at.desc(), IncomingStudy.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- purging
def quarantine_age() -> timedelta:
    return timedelta(hours=float(current_app.config.get("DICOM_QUARANTINE_HOURS", 24)))


def purge_quarantine(now=None) -> int:
    """Delete studies that waited longer than ``DICOM_QUARANTINE_HOURS`` for a route (and those
    left receiving by a process that died), each with an audit entry holding no identifiers;
    and quarantine folders whose row never committed. Flushes, never commits."""
    now = now or utcnow()
    cutoff = now - quarantine_age()
    storage = get_storage()
    removed = 0
    rows = db.session.scalars(
        select(IncomingStudy).where(
            or_(IncomingStudy.state == "quarantined", IncomingStudy.state == "receiving"),
            IncomingStudy.received_at < cutoff,
        )
    ).all()
    for row in rows:
        shutil.rmtree(quarantine_dir(storage, row.id), ignore_errors=True)
        hours = quarantine_age().total_seconds() / 3600
        row.reason = (
            f"no image route matched within {hours:g} hours: deleted unread"
            if row.state == "quarantined"
            else "never finished arriving: deleted unread"
        )
        row.state = "purged"
        record(
            "imaging.study_purged",
            obj=row,
            actor_label="system",
            details=_details(row),
        )
        removed += 1
    root = storage.root / "quarantine"
    if root.is_dir():
        for folder in root.glob("study-*"):
            try:
                row_id = int(folder.name.split("-", 1)[1])
            except ValueError:
                continue
            row = db.session.get(IncomingStudy, row_id)
            if row is None or row.state in ("released", "refused", "purged"):
                if folder.stat().st_mtime < cutoff.timestamp():
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
    db.session.flush()
    return removed


@jobs.handler(QUARANTINE_PURGE)
def quarantine_purge_job(job) -> dict[str, Any]:
    return {"removed": purge_quarantine()}


jobs.every(QUARANTINE_PURGE, QUARANTINE_PURGE_EVERY)
