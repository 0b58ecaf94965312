"""Trial registry pages (coordinators edit; coordinators and admins read), the criteria editor,
and the trial suggestions of a case (a partial for the case page, loaded with htmx)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from panel.accounts.forms import ConfirmForm
from panel.accounts.models import Centre, PanelRoleKind
from panel.cases import operations as case_operations
from panel.cases.models import Case
from panel.cases.queries import load_case_or_404
from panel.core.audit import record_read
from panel.core.auth import roles_required, signed_in_user
from panel.core.db import db, utcnow
from panel.core.errors import IdentifiersFound, Refused
from panel.core.readability_hint import hint_response
from panel.core.views import home_section
from panel.core.web import safe_next
from panel.trials import eligibility, registry
from panel.trials.forms import (
    CriterionForm,
    TrialForm,
    describe_condition,
    editor_metadata,
    is_simple,
)
from panel.trials.matching import case_matching
from panel.trials.models import (
    STATUS_LABELS,
    Trial,
    TrialChange,
    TrialNewMatch,
    status_max_age_days,
)
from panel.trials.sync import CHECK_STATUSES, mark_checked

bp = Blueprint("trials", __name__, url_prefix="/trials")

NEW_MATCHES_LIMIT = 50


_user = signed_in_user


def _trial_or_404(code: str) -> Trial:
    trial = db.session.scalar(select(Trial).where(Trial.code == code))
    if trial is None:
        abort(404)
    return trial


def _centre_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Centre.code, Centre.name, Centre.city).order_by(Centre.name)
    ).all()
    return [
        (r.code, r.name if r.city and r.city in r.name else f"{r.name} ({r.city})") for r in rows
    ]


def _centre_names() -> dict[str, str]:
    return {r.code: r.name for r in db.session.execute(select(Centre.code, Centre.name))}


def new_matches_for(
    user: Any, *, trial: Trial | None = None, limit: int = NEW_MATCHES_LIMIT
) -> list[TrialNewMatch]:
    """Waiting "newly matching" records of the open cases of the panels ``user`` coordinates."""
    if not getattr(user, "is_authenticated", False) or not user.is_coordinator:
        return []
    stmt = (
        select(TrialNewMatch)
        .join(TrialNewMatch.case)
        .where(
            TrialNewMatch.dismissed_at.is_(None),
            Case.panel_id.in_(user.panel_ids(PanelRoleKind.COORDINATOR)),
            Case.status.in_(registry.OPEN_CASE_STATUSES),
        )
        .options(joinedload(TrialNewMatch.case).joinedload(Case.panel))
        .order_by(TrialNewMatch.created_at.desc(), TrialNewMatch.id.desc())
        .limit(limit)
    )
    if trial is not None:
        stmt = stmt.where(TrialNewMatch.trial_id == trial.id)
    return list(db.session.scalars(stmt).unique())


#: New matches listed on a coordinator's home page (the registry page lists more).
HOME_NEW_MATCHES = 6


@home_section
def home_new_matches(user) -> dict:
    """The home page's "New matches" card, built with the page's other sections (before the
    template renders, which runs no query of its own): coordinators only."""
    if not getattr(user, "is_coordinator", False) or getattr(user, "is_admin", False):
        return {}
    return {"home_new_matches": new_matches_for(user, limit=HOME_NEW_MATCHES)}


def _plain_words_hint(trial: Trial, before: tuple[str | None, str | None] | None) -> None:
    """After a save that wrote the words for families: how easy they are to read (the
    Flesch-Kincaid grade; the sentences to shorten above grade 6). A hint, never a refusal."""
    from panel.core.readability import TARGET_GRADE

    now = (trial.plain_title, trial.plain_summary)
    if now == before or not any(now):
        return
    result = trial.plain_words_score()
    if result.grade is None:
        return
    target = f"{TARGET_GRADE:g}"
    if not result.above_target:
        flash(
            f"Words for families: reading grade {result.grade:g} (aim: {target} or below). "
            "Easy to read.",
            "info",
        )
        return
    hard = "; ".join(f"\u201c{s.text}\u201d ({s.words} words)" for s in result.to_shorten)
    flash(
        f"Words for families: reading grade {result.grade:g}; aim for {target} or below. "
        f"Shorter sentences and everyday words help"
        + (f": try shortening {hard}." if hard else "."),
        "warning",
    )


def _words_refused(form: TrialForm, exc: Any) -> None:
    """The identifier guard refused the words for families: say so on the fields."""
    message = "This looks like it holds a personal identifier; remove it (nothing was saved)."
    fields = {f.field for f in getattr(exc, "findings", [])} or {"plain_title", "plain_summary"}
    for name in ("plain_title", "plain_summary"):
        if name in fields and getattr(form, name, None) is not None:
            form[name].errors = [*form[name].errors, message]


def _flash_errors(exc: registry.TrialError) -> None:
    for message in exc.errors[:20]:
        flash(message, "danger")


# --------------------------------------------------------------------------- the registry
@bp.route("/")
@roles_required("is_coordinator", "is_admin")
def index():
    trials = db.session.scalars(select(Trial).options(joinedload(Trial.updated_by))).unique().all()
    order = {"open": 0, "unknown": 1, "not_yet_open": 2, "suspended": 3, "closed": 4}
    trials = sorted(trials, key=lambda t: (t.is_study, order.get(t.status.value, 3), t.code))
    today = utcnow().date()
    return render_template(
        "trials/index.html",
        trials=trials,
        today=today,
        overdue=sum(1 for t in trials if not t.is_study and t.verification_overdue(today)),
        max_age=status_max_age_days(),
        centre_names=_centre_names(),
        new_matches=new_matches_for(_user()),
        can_edit=Trial.can_edit(_user()),
        proposals=[(t, p) for t in trials if (p := t.eligibility_proposal()) is not None],
        confirm=ConfirmForm(),
    )


@bp.route("/<code>")
@roles_required("is_coordinator", "is_admin")
def show(code: str):
    trial = _trial_or_404(code)
    history = db.session.scalars(
        select(TrialChange)
        .where(TrialChange.trial_id == trial.id)
        .options(joinedload(TrialChange.by))
        .order_by(TrialChange.version.desc())
        .limit(30)
    ).all()
    return render_template(
        "trials/show.html",
        trial=trial,
        today=utcnow().date(),
        centre_names=_centre_names(),
        criteria=[(c, describe_condition(c)) for c in trial.criteria or []],
        status_choices=[(v, STATUS_LABELS[v]) for v in CHECK_STATUSES],
        history=history,
        new_matches=new_matches_for(_user(), trial=trial),
        can_edit=Trial.can_edit(_user()),
        proposal=trial.eligibility_proposal(),
        age_label=eligibility.age_label,
        describe=describe_condition,
        confirm=ConfirmForm(),
        plain_score=trial.plain_words_score() if trial.has_plain_words else None,
        packaged_words=_packaged_words(trial),
    )


def _packaged_words(trial: Trial) -> dict[str, Any] | None:
    """Where the trial's words for families come from while they are a registry file's (e.g.
    not yet checked by a clinician); None once someone has changed them."""
    return registry.packaged_plain_words(trial)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("is_coordinator")
def new():
    form = TrialForm(centres=_centre_choices(), creating=True)
    if request.method == "GET":
        form.status.data, form.sites_mode.data = "open", "any"
    if form.validate_on_submit():
        rec = {
            "id": form.code.data.strip(),
            "criteria": [],
            **form.changes(utcnow().date().isoformat()),
        }
        try:
            trial = registry.create_trial(rec, by=_user())
        except registry.TrialError as exc:
            db.session.rollback()
            return render_template(
                "trials/edit.html", form=form, trial=None, errors=exc.errors
            ), exc.status
        except IdentifiersFound as exc:
            db.session.rollback()
            _words_refused(form, exc)
            return render_template("trials/edit.html", form=form, trial=None, errors=[]), 422
        db.session.commit()
        flash(f"{trial.code} added to the registry. Now add its criteria.", "success")
        _plain_words_hint(trial, None)
        return redirect(url_for("trials.criteria", code=trial.code))
    status = 422 if form.errors else 200
    return render_template("trials/edit.html", form=form, trial=None, errors=[]), status


@bp.route("/<code>/edit", methods=["GET", "POST"])
@roles_required("is_coordinator")
def edit(code: str):
    trial = _trial_or_404(code)
    centres = _centre_choices()
    if request.method == "GET":
        form = TrialForm.from_trial(trial, centres)
        return render_template("trials/edit.html", form=form, trial=trial, errors=[])
    form = TrialForm(centres=centres, is_study=trial.is_study)
    if not form.validate_on_submit():
        return render_template("trials/edit.html", form=form, trial=trial, errors=[]), 422
    words_before = (trial.plain_title, trial.plain_summary)
    try:
        _, changed = registry.update_trial(
            trial,
            form.changes(utcnow().date().isoformat()),
            by=_user(),
            expected_version=form.expected_version,
        )
    except (registry.TrialError, StaleDataError) as exc:
        db.session.rollback()
        exc = exc if isinstance(exc, registry.TrialError) else _stale(code)
        return render_template(
            "trials/edit.html", form=form, trial=_trial_or_404(code), errors=exc.errors
        ), exc.status
    except IdentifiersFound as exc:
        db.session.rollback()
        _words_refused(form, exc)
        return render_template(
            "trials/edit.html", form=form, trial=_trial_or_404(code), errors=[]
        ), 422
    db.session.commit()
    flash(
        f"{trial.code} saved (version {trial.version})." if changed else "Nothing changed.",
        "success" if changed else "info",
    )
    _plain_words_hint(trial, words_before)
    return redirect(url_for("trials.show", code=trial.code))


@bp.route("/readability", methods=["POST"])
@roles_required("is_coordinator")
def readability():
    """How easy a trial's words for families read, as the coordinator types them (an htmx
    fragment; the same hint as the record's family texts). Changes nothing, audits nothing,
    logs no text; only those who edit the registry (coordinators) may ask."""
    return hint_response()


@bp.route("/<code>/check-status", methods=["POST"])
@roles_required("is_coordinator")
def check_status(code: str):
    """A coordinator marks the trial's status checked today (what they found, and where)."""
    trial = _trial_or_404(code)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    try:
        mark_checked(
            trial,
            status=request.form.get("status", ""),
            source=request.form.get("source", ""),
            by=_user(),
            expected_version=version,
        )
    except (registry.TrialError, StaleDataError, IdentifiersFound) as exc:
        db.session.rollback()
        if isinstance(exc, IdentifiersFound):
            flash(
                "The source looks like it holds a personal identifier; it was not saved.", "danger"
            )
        else:
            exc = exc if isinstance(exc, registry.TrialError) else _stale(code)
            for error in exc.errors:
                flash(error, "danger")
        return redirect(url_for("trials.show", code=code) + "#check-status")
    db.session.commit()
    flash(
        f"{trial.code}: status marked checked today ({STATUS_LABELS[trial.status.value]}).",
        "success",
    )
    return redirect(url_for("trials.show", code=code))


@bp.route("/<code>/eligibility-reviewed", methods=["POST"])
@roles_required("is_coordinator")
def eligibility_reviewed(code: str):
    """A coordinator reviewed the registry's eligibility text and age limits against the
    criteria: the baseline becomes what the registry says now (audited, in the history)."""
    trial = _trial_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    try:
        eligibility.mark_reviewed(trial, by=_user(), expected_version=version)
    except (registry.TrialError, StaleDataError) as exc:
        db.session.rollback()
        _flash_errors(exc if isinstance(exc, registry.TrialError) else _stale(code))
        return redirect(url_for("trials.show", code=code) + "#eligibility-proposal")
    db.session.commit()
    flash(
        f"{trial.code}: eligibility text and age limits marked reviewed; the criteria were "
        "not changed.",
        "success",
    )
    return redirect(url_for("trials.show", code=code))


def _stale(code: str) -> registry.TrialConflict:
    return registry.TrialConflict(
        f"trial {code}: someone else saved this trial at the same moment; reload and try again"
    )


# --------------------------------------------------------------------------- criteria
@bp.route("/<code>/criteria")
@roles_required("is_coordinator")
def criteria(code: str):
    trial = _trial_or_404(code)
    return render_template(
        "trials/criteria.html",
        trial=trial,
        criteria=[
            (i, c, describe_condition(c), is_simple(c)) for i, c in enumerate(trial.criteria or [])
        ],
        confirm=ConfirmForm(),
    )


def _criterion_page(
    trial: Trial, form: CriterionForm, index: int | None, errors: list[str], status: int = 200
):
    return (
        render_template(
            "trials/criterion.html",
            trial=trial,
            form=form,
            index=index,
            errors=errors,
            metadata=editor_metadata(),
        ),
        status,
    )


def _save_criterion(trial: Trial, index: int | None):
    form = CriterionForm()
    if not form.validate_on_submit():
        return _criterion_page(trial, form, index, [], 422)
    crit, problems = form.to_criterion()
    if problems:
        return _criterion_page(trial, form, index, problems, 422)
    if index is not None:
        current = (trial.criteria or [])[index] if index < len(trial.criteria or []) else None
        if current is None or current.get("id") != form.original_id.data:
            return _criterion_page(
                trial,
                form,
                index,
                [f"trial {trial.code}: the criteria changed since you opened this page; reload it"],
                409,
            )
    try:
        registry.save_criterion(
            trial, index, crit, by=_user(), expected_version=form.expected_version
        )
    except (registry.TrialError, StaleDataError) as exc:
        db.session.rollback()
        exc = exc if isinstance(exc, registry.TrialError) else _stale(trial.code)
        return _criterion_page(_trial_or_404(trial.code), form, index, exc.errors, exc.status)
    db.session.commit()
    flash(f"Criterion {crit['id']} saved; {trial.code} is now version {trial.version}.", "success")
    return redirect(url_for("trials.criteria", code=trial.code))


@bp.route("/<code>/criteria/new", methods=["GET", "POST"])
@roles_required("is_coordinator")
def criterion_new(code: str):
    trial = _trial_or_404(code)
    if request.method == "POST":
        return _save_criterion(trial, None)
    ids = {c.get("id") for c in trial.criteria or []}
    last = (trial.criteria or [{}])[-1].get("id") or ""
    prefix = "".join(ch for ch in last if ch.isalpha()) if last[:1].isalpha() else ""
    prefix = prefix or "".join(ch for ch in trial.code if ch.isalpha())[:1] or "C"
    n = len(ids) + 1
    while f"{prefix}{n}" in ids:
        n += 1
    form = CriterionForm(
        data={
            "version": trial.version,
            "cid": f"{prefix}{n}",
            "mode": "simple",
            "field": "status.category",
            "op": "in",
        }
    )
    form.refresh_value_choices()
    return _criterion_page(trial, form, None, [])


@bp.route("/<code>/criteria/<int:index>", methods=["GET", "POST"])
@roles_required("is_coordinator")
def criterion_edit(code: str, index: int):
    trial = _trial_or_404(code)
    if not 0 <= index < len(trial.criteria or []):
        abort(404)
    if request.method == "POST":
        return _save_criterion(trial, index)
    form = CriterionForm.from_criterion(trial.criteria[index], trial.version)
    return _criterion_page(trial, form, index, [])


@bp.route("/<code>/criteria/<int:index>/<action>", methods=["POST"])
@roles_required("is_coordinator")
def criterion_action(code: str, index: int, action: str):
    trial = _trial_or_404(code)
    if action not in ("delete", "up", "down"):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        expected = None
    try:
        if action == "delete":
            removed = (
                (trial.criteria or [])[index].get("id")
                if index < len(trial.criteria or [])
                else None
            )
            registry.delete_criterion(trial, index, by=_user(), expected_version=expected)
            message = f"Criterion {removed} removed."
        else:
            registry.move_criterion(
                trial, index, -1 if action == "up" else 1, by=_user(), expected_version=expected
            )
            message = None
    except (registry.TrialError, StaleDataError) as exc:
        db.session.rollback()
        _flash_errors(exc if isinstance(exc, registry.TrialError) else _stale(code))
        return redirect(url_for("trials.criteria", code=code))
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(url_for("trials.criteria", code=code))


# --------------------------------------------------------------------------- newly matching
@bp.route("/new-matches/<int:match_id>/dismiss", methods=["POST"])
@login_required
def dismiss_new_match(match_id: int):
    nm = db.session.get(TrialNewMatch, match_id)
    if nm is None or not _user().is_coordinator:
        abort(404)
    if nm.case.panel_id not in _user().panel_ids(PanelRoleKind.COORDINATOR):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    registry.dismiss_new_match(nm, by=_user())
    db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("trials.index"))


# --------------------------------------------------------------------------- a case's matches
def _display(match: Any) -> dict[str, Any]:
    out = match.to_display_dict()
    out["kind"] = match.trial.raw.get("kind") if match.trial is not None else None
    return out


@bp.route("/case/<ref>")
@login_required
def case_matches(ref: str):
    """The trial suggestions of a case: the partial for htmx, or a page of its own."""
    case = load_case_or_404(ref, _user())
    cm = case_matching(case)
    ctx = {
        "case": case,
        "cm": cm,
        "matches": [_display(m) for m in cm.matches],
        "studies": [_display(m) for m in cm.studies],
        "questions": cm.questions() if case.can_request_information(_user()) else [],
        "confirm": ConfirmForm(),
    }
    if request.headers.get("HX-Request"):
        return render_template(
            "trials/_matches.html", **ctx
        )  # a part of the case page (recorded there)
    record_read("case.matches_viewed", obj=case, details={"via": "page"})
    return render_template("trials/case_matches.html", **ctx)


@bp.route("/case/<ref>/request-information", methods=["POST"])
@login_required
def request_missing_information(ref: str):
    """One step: ask the referrer for what the ``possible`` trials need, one question per
    unknown criterion."""
    case = load_case_or_404(ref, _user(), check="can_request_information")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    questions = case_matching(case).questions()
    if not questions:
        flash("No trial is waiting for information: nothing was sent.", "info")
        return redirect(url_for("cases.show", ref=case.reference))
    try:
        case_operations.request_information(case, by=_user(), questions=questions)
    except Refused as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("cases.show", ref=case.reference))
    db.session.commit()
    flash(
        f"The referrer has been asked {len(questions)} question{'s' if len(questions) != 1 else ''} "
        "for the trials that need more information.",
        "success",
    )
    return redirect(url_for("cases.show", ref=case.reference))
