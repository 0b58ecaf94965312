"""Minutes while the meeting runs (with autosave and conflict handling), outcomes, amendments
after the meeting is closed, the presentation mode for screen-sharing, and the minutes card on
the case page.

Who may use what:
* minutes editor, mark as discussed / reopen, amend: the coordinators of the meeting's panel
  (others on the panel: 403; anyone else: 404);
* presentation: anyone holding a role on the meeting's panel (anyone else, referrers and admins
  included: 404);
* the case page's minutes card: people holding a role on the meeting's panel; never referrers
  in that capacity, never admins.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, lazyload, selectinload

from panel.caseformat.convert import V1_TO_V2
from panel.caseformat.schema import get_path
from panel.cases.display import case_sections
from panel.cases.operations import to_document
from panel.core.audit import record_read
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import IdentifiersFound, Refused
from panel.core.uktime import uk_label
from panel.core.web import int_arg, safe_next
from panel.meetings import bp, minutes
from panel.meetings.access import load_meeting_or_404, on_panel
from panel.meetings.models import AgendaItem, ItemOutcome, Meeting, MeetingStatus, MinutesAmendment
from panel.privacy.guard import identifiers_message

ITEM = "/meetings/<int:meeting_id>/items/<int:item_id>"


_user = signed_in_user


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _load(meeting_id: int, item_id: int, *, check: str = "can_view") -> tuple[Meeting, AgendaItem]:
    """The meeting and one of its items: 404 unless the user is on the meeting's panel (and may
    see the case); 403 when the meeting's rule ``check`` (e.g. "can_manage") refuses."""
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user)
    item = next((i for i in meeting.items if i.id == item_id), None)
    if item is None or not item.case.can_view(user):
        abort(404)
    if not getattr(meeting, check)(user):
        abort(403)
    return meeting, item


def _error_text(exc: Refused) -> str:
    if isinstance(exc, IdentifiersFound):
        return identifiers_message(
            exc.findings, where=str, again="Remove it and save again; your text is kept below."
        )
    return exc.message


def meeting_url(meeting: Meeting) -> str | None:
    """The meeting's own page, when that page exists in this build."""
    if "meetings.show" in current_app.view_functions:
        return url_for("meetings.show", meeting_id=meeting.id)
    return None


def _safe_next(default: str) -> str:
    return safe_next(request.form.get("next")) or default


# --------------------------------------------------------------------------- the minutes editor
def _neighbours(
    meeting: Meeting, item: AgendaItem
) -> tuple[int | None, AgendaItem | None, AgendaItem | None, int]:
    items = meeting.active_items
    if item not in items:
        return None, None, None, len(items)
    i = items.index(item)
    return (
        i + 1,
        (items[i - 1] if i > 0 else None),
        (items[i + 1] if i + 1 < len(items) else None),
        len(items),
    )


def _editor(
    meeting: Meeting,
    item: AgendaItem,
    *,
    discussion: str | None = None,
    outcome: str | None = None,
    version: int | None = None,
    conflict: minutes.CurrentMinutes | None = None,
    error: str | None = None,
    status: int = 200,
):
    position, prev_item, next_item, total = _neighbours(meeting, item)
    return render_template(
        "meetings/minutes.html",
        meeting=meeting,
        item=item,
        case=item.case,
        discussion=item.discussion if discussion is None else discussion,
        outcome=item.outcome if outcome is None else outcome,
        version=item.minutes_version if version is None else version,
        conflict=conflict,
        error=error,
        position=position,
        total=total,
        prev_item=prev_item,
        next_item=next_item,
        meeting_url=meeting_url(meeting),
        uk_label=uk_label,
        editable=not meeting.is_closed
        and meeting.status != MeetingStatus.CANCELLED
        and item.outcome_status in (ItemOutcome.PENDING, ItemOutcome.DISCUSSED),
    ), status


@bp.route(ITEM + "/minutes", methods=["GET", "POST"], endpoint="minutes")
@login_required
def minutes_editor(meeting_id: int, item_id: int):
    """The coordinator types the discussion and outcome of one case; the page autosaves (JSON)
    and works as a plain form without JavaScript."""
    meeting, item = _load(meeting_id, item_id, check="can_manage")
    if request.method == "GET":
        return _editor(meeting, item)

    discussion = request.form.get("discussion", "")
    outcome = request.form.get("outcome", "")
    expected = int_arg(request.form, "version")
    if expected is None:
        abort(400)
    action = request.form.get("action", "save")
    json_wanted = _wants_json()
    user = _user()
    try:
        minutes.save_minutes(
            item, discussion=discussion, outcome=outcome, expected_version=expected, by=user
        )
    except minutes.MinutesConflict as exc:
        db.session.rollback()
        if json_wanted:
            return jsonify(
                {
                    "conflict": True,
                    "error": exc.message,
                    "current": exc.current.to_dict(),
                    "yours": {"discussion": discussion, "outcome": outcome},
                }
            ), 409
        return _editor(
            meeting,
            item,
            discussion=discussion,
            outcome=outcome,
            version=exc.current.version,
            conflict=exc.current,
            error=exc.message,
            status=409,
        )
    except Refused as exc:
        db.session.rollback()
        if json_wanted:
            return jsonify({"error": _error_text(exc), "field": exc.field}), exc.status
        return _editor(
            meeting,
            item,
            discussion=discussion,
            outcome=outcome,
            version=expected,
            error=_error_text(exc),
            status=exc.status,
        )
    refused: Refused | None = None
    if action == "discussed":
        try:
            with db.session.begin_nested():  # the text stays saved even if marking is refused
                minutes.record_outcome(item, by=user)
        except Refused as exc:
            refused = exc
    db.session.commit()
    if json_wanted:
        body = {
            "version": item.minutes_version,
            "saved_at": item.minutes_updated_at.isoformat() if item.minutes_updated_at else None,
            "saved_at_uk": minutes.uk_hm(item.minutes_updated_at),
            "by": item.minutes_updated_by.name if item.minutes_updated_by else "",
        }
        if refused is not None:
            return jsonify({**body, "error": _error_text(refused)}), refused.status
        return jsonify(body)
    if refused is not None:
        flash(f"Minutes saved, but not marked as discussed: {_error_text(refused)}", "danger")
        return redirect(url_for("meetings.minutes", meeting_id=meeting.id, item_id=item.id))
    if action == "discussed":
        flash(f"Minutes saved and {item.case.reference} marked as discussed.", "success")
    else:
        flash("Minutes saved.", "success")
    return redirect(url_for("meetings.minutes", meeting_id=meeting.id, item_id=item.id))


def _item_action(meeting_id: int, item_id: int, operation, success: str):
    meeting, item = _load(meeting_id, item_id, check="can_manage")
    try:
        operation(item, by=_user())
    except Refused as exc:
        db.session.rollback()
        flash(_error_text(exc), "danger")
    else:
        db.session.commit()
        flash(success.format(ref=item.case.reference), "success")
    return redirect(_safe_next(url_for("meetings.minutes", meeting_id=meeting.id, item_id=item.id)))


@bp.route(ITEM + "/discussed", methods=["POST"])
@login_required
def record_outcome(meeting_id: int, item_id: int):
    """Mark as discussed (needs the quorum and a written outcome)."""
    return _item_action(meeting_id, item_id, minutes.record_outcome, "{ref} marked as discussed.")


@bp.route(ITEM + "/reopen", methods=["POST"])
@login_required
def reopen_outcome(meeting_id: int, item_id: int):
    """Undo "Mark as discussed" while the meeting is open."""
    return _item_action(meeting_id, item_id, minutes.reopen_outcome, "{ref} is back to pending.")


# --------------------------------------------------------------------------- amendments
def _amend_page(meeting, item, *, discussion=None, outcome=None, reason="", error=None, status=200):
    return render_template(
        "meetings/amend.html",
        meeting=meeting,
        item=item,
        case=item.case,
        discussion=item.discussion if discussion is None else discussion,
        outcome=item.outcome if outcome is None else outcome,
        reason=reason,
        error=error,
        amendments=item.amendments,
        meeting_url=meeting_url(meeting),
        uk_label=uk_label,
    ), status


@bp.route(ITEM + "/amend", methods=["GET", "POST"])
@login_required
def amend(meeting_id: int, item_id: int):
    """Amend the locked minutes of a closed meeting (reason required); shows the history."""
    meeting, item = _load(meeting_id, item_id, check="can_manage")
    if request.method == "GET":
        return _amend_page(meeting, item)
    discussion = request.form.get("discussion", "")
    outcome = request.form.get("outcome", "")
    reason = request.form.get("reason", "")
    try:
        amendment = minutes.amend_minutes(
            item, discussion=discussion, outcome=outcome, reason=reason, by=_user()
        )
    except Refused as exc:
        db.session.rollback()
        return _amend_page(
            meeting,
            item,
            discussion=discussion,
            outcome=outcome,
            reason=reason,
            error=_error_text(exc),
            status=exc.status,
        )
    db.session.commit()
    flash(f"Amendment {amendment.number} recorded.", "success")
    return redirect(url_for("meetings.amend", meeting_id=meeting.id, item_id=item.id))


# --------------------------------------------------------------------------- presentation mode
def short_age(months: Any) -> str:
    """``50`` -> ``4 y 2 m``; ``7`` -> ``7 m``."""
    if not isinstance(months, int) or isinstance(months, bool):
        return "—"
    years, rest = divmod(months, 12)
    if not years:
        return f"{rest} m"
    return f"{years} y {rest} m" if rest else f"{years} y"


def alteration_text(item: Any) -> str:
    """``ALK fusion (EML4)``, ``TP53 p.Arg175His``, or the alteration as written."""
    if not isinstance(item, dict):
        return ""
    gene = item.get("gene") or ""
    kind = {"snv_indel": "", "fusion": "fusion", "amplification": "amplification"}.get(
        item.get("type") or "", (item.get("type") or "").replace("_", " ")
    )
    bits = [gene, kind, item.get("protein_change") or ""]
    if item.get("partner"):
        bits.append(f"({item['partner']})")
    text = " ".join(b for b in bits if b)
    description = item.get("description") or ""
    if not description:
        return text
    return f"{text} {description}".strip() if text == gene else f"{text}: {description}"


def present_summary(case) -> dict[str, Any]:
    """What the presentation shows of a case, with the form's labels."""
    doc = to_document(case)
    rows = {r.path: r for s in case_sections(doc) for r in s.rows}

    # Paths are written as panel-case/1 named them: a module's land under modules.<name>.
    def val(path: str) -> str | None:
        r = rows.get(V1_TO_V2.get(path, path))
        return r.value if r is not None else None

    def items(path: str) -> list[dict[str, str]]:
        r = rows.get(V1_TO_V2.get(path, path))
        return r.items if r is not None else []

    nb_biology = get_path(doc, "modules.neuroblastoma.biology") or {}

    patient = doc.get("patient") or {}
    status_bits = [val("status.category")]
    if val("status.relapse_pattern"):
        status_bits.append(f"{val('status.relapse_pattern').lower()} pattern")
    episode = (doc.get("status") or {}).get("episode")
    if isinstance(episode, int) and (doc.get("status") or {}).get("category") in (
        "relapsed",
        "progressive",
    ):
        status_bits.append(f"episode {episode}")
    status = doc.get("status") or {}
    timing = []
    for key, text in (
        ("months_diagnosis_to_event", "from diagnosis"),
        ("months_since_last_treatment", "since last treatment"),
    ):
        n = status.get(key)
        if isinstance(n, int) and not isinstance(n, bool):
            timing.append(f"{n} month{'s' if n != 1 else ''} {text}")

    variants = [v.get("Protein change", "") for v in items("biology.alk.variants")]
    alk = val("biology.alk.status")
    if alk and variants:
        alk = f"{alk}: {', '.join(v for v in variants if v)}"
    elif alk and val("biology.alk.copy_number"):
        alk = f"{alk} (copy number {val('biology.alk.copy_number')})"
    segmental = [
        (label, val(path), get_path(doc, V1_TO_V2[path]) == "present")
        for label, path in (
            ("1p36 del", "biology.segmental.del_1p36"),
            ("11q del", "biology.segmental.del_11q"),
            ("17q gain", "biology.segmental.gain_17q"),
        )
        if val(path)
    ]
    others = [alteration_text(a) for a in get_path(doc, "molecular.alterations") or []]
    response = [
        (label, val(path))
        for label, path in (
            ("End of induction", "response.end_induction.overall"),
            ("Now", "response.current.overall"),
        )
        if val(path)
    ]
    mibg = [
        (label, val(path) + suffix)
        for label, path, suffix in (
            ("mIBG", "disease.mibg", ""),
            ("SIOPEN", "disease.siopen_score", ""),
            ("marrow", "disease.bone_marrow_pct", "%"),
        )
        if val(path)
    ]
    return {
        "question": doc.get("clinical_question") or "",
        "tumour": val("tumour.morphology"),
        "neuroblastoma": "neuroblastoma" in (doc.get("modules") or {}),
        "age": short_age(patient.get("age_now_months")),
        "age_at_diagnosis": short_age(patient.get("age_at_diagnosis_months")),
        "sex": val("patient.sex"),
        "diagnosis": [
            v
            for v in (
                val("diagnosis.inrg_stage"),
                val("diagnosis.risk_group"),
                val("diagnosis.primary_site"),
            )
            if v
        ],
        "status": ", ".join(b for b in status_bits if b),
        "timing": timing,
        "sites": val("disease.sites"),
        "disease": mibg,
        "lines": items("treatment.lines"),
        "prior": [
            (label, val(path))
            for label, path in (
                ("HDC", "treatment.prior_hdc"),
                ("Anti-GD2", "treatment.prior_anti_gd2"),
                ("ALK inhibitor", "treatment.prior_alk_inhibitor"),
                ("mIBG therapy", "treatment.prior_mibg_therapy"),
            )
            if val(path) and val(path) not in ("None", "No")
        ],
        "response": response,
        "mycn": val("biology.mycn"),
        "mycn_amplified": nb_biology.get("mycn") == "amplified",
        "alk": alk,
        "alk_altered": (nb_biology.get("alk") or {}).get("status") in ("mutation", "amplification"),
        "segmental": segmental,
        "other_alterations": [o for o in others if o],
        "fitness": val("fitness.performance_score"),
        "travel_km": val("family.max_travel_km"),
    }


def _present_matches(case) -> list[dict[str, Any]]:
    """Eligible and possible open trials, with the nearest site and its distance."""
    from panel.trials.engine import ELIGIBLE, POSSIBLE
    from panel.trials.matching import matches_for_case
    from panel.trials.models import status_note

    out = []
    for m in matches_for_case(case):
        if m.verdict not in (ELIGIBLE, POSSIBLE):
            continue
        d = m.to_display_dict()
        out.append(
            {
                "trial": d["trial"],
                "title": d["title"],
                "phase": d.get("phase"),
                "verdict": d["verdict"],
                # The one site and km of every surface (panel.trials.matching.site_of).
                "site": d["site"]["name"] if d["site"] else None,
                "site_label": d["site"]["label"] if d["site"] else "",
                "km": d["distance_km"],
                "beyond": d["beyond_travel_limit"],
                "missing": len(d["missing"]),
                "status_note": status_note(d),  # "Status not checked since DATE" or None
            }
        )
    return out


def _present_images(case, user) -> list[dict[str, Any]]:
    from panel.imaging.models import FileKind, case_files, group_series, series_frames

    files = [f for f in case_files(case) if f.kind == FileKind.DICOM and f.can_view(user, case)]
    out = []
    for s in group_series(files):
        shown = [f for f in s.files if f.decodable]
        if not shown:
            continue
        out.append(
            {
                "uid": s.series_uid,
                "modality": s.modality,
                "labels": s.labels,
                "count": len(series_frames(shown)),
                "first": shown[0],
            }
        )
    return out


def _slot(meeting: Meeting, items: list[AgendaItem], index: int):
    start = meeting.starts_at + timedelta(
        minutes=sum(i.minutes_allotted or 0 for i in items[:index])
    )
    end = start + timedelta(minutes=items[index].minutes_allotted or 0)
    return start, end


@bp.route("/meetings/<int:meeting_id>/present")
@login_required
def present(meeting_id: int):
    """Presentation mode: the first case of the agenda (or a note that there is none)."""
    meeting = load_meeting_or_404(meeting_id, _user())
    if not meeting.active_items:
        return render_template(
            "meetings/present.html",
            meeting=meeting,
            item=None,
            total=0,
            meeting_url=meeting_url(meeting),
            uk_label=uk_label,
        )
    return present_item(meeting_id, 1)


@bp.route("/meetings/<int:meeting_id>/present/<int:position>")
@login_required
def present_item(meeting_id: int, position: int):
    """One case, full screen, for the meeting's screen share (1-based over the listed agenda)."""
    user = _user()
    meeting = load_meeting_or_404(meeting_id, user)
    items = meeting.active_items
    if not 1 <= position <= len(items):
        abort(404)
    item = items[position - 1]
    case = item.case
    start, end = _slot(meeting, items, position - 1)
    # A case referred on to another panel keeps its place on the old agenda: its reference
    # alone, nothing the viewer may no longer see (the template asks ``can_view`` too).
    visible = case.can_view(user)
    if visible:
        record_read(
            "case.viewed", obj=case, details={"via": "presentation", "meeting_id": meeting.id}
        )
    return render_template(
        "meetings/present.html",
        meeting=meeting,
        item=item,
        case=case,
        position=position,
        total=len(items),
        viewer=user,
        summary=present_summary(case) if visible else None,
        matches=_present_matches(case) if visible else [],
        images=_present_images(case, user) if visible else [],
        slot_start=start,
        slot_end=end,
        uk_label=uk_label,
        coordinator=meeting.can_manage(user),
        meeting_url=meeting_url(meeting),
    )


# --------------------------------------------------------------------------- the case page
def case_minutes(case) -> list[AgendaItem]:
    """The case's minutes from every meeting whose panel the user is on (items with something
    written or decided), oldest meeting first; empty for everyone else (referrers, admins).
    Two queries: the items with their meetings and savers, then the amendments."""
    user = _user()
    if not getattr(user, "is_authenticated", False) or not user.panel_ids():
        return []
    rows = (
        db.session.scalars(
            select(AgendaItem)
            .join(AgendaItem.meeting)
            .where(
                AgendaItem.case_id == case.id,
                AgendaItem.outcome_status != ItemOutcome.REMOVED,
                Meeting.panel_id.in_(user.panel_ids()),
            )
            .options(
                contains_eager(AgendaItem.meeting).lazyload(Meeting.items),
                contains_eager(AgendaItem.meeting).lazyload(Meeting.attendance),
                contains_eager(AgendaItem.meeting).joinedload(Meeting.panel),
                lazyload(AgendaItem.case),
                joinedload(AgendaItem.minutes_updated_by),
                selectinload(AgendaItem.amendments).joinedload(MinutesAmendment.by),
            )
            .order_by(Meeting.starts_at, AgendaItem.id)
        )
        .unique()
        .all()
    )
    return [
        i
        for i in rows
        if on_panel(user, i.meeting.panel_id)
        and (
            i.discussion
            or i.outcome
            or i.outcome_status != ItemOutcome.PENDING
            or i.meeting.is_closed
        )
    ]


@bp.app_template_global("minutes_uk_label")
def minutes_uk_label(moment, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    return uk_label(moment, fmt)


@bp.app_template_global("minutes_meeting_url")
def minutes_meeting_url(meeting: Meeting) -> str | None:
    return meeting_url(meeting)


def minutes_panel(case, user, state) -> dict | None:
    """The case page's minutes card: the items (see :func:`case_minutes`), or None to show
    nothing. The card asks ``Meeting.can_manage`` for its edit and amend buttons."""
    items = case_minutes(case)
    return {"items": items} if items else None
