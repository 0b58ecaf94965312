"""Admin screens: people, their roles on panels, centres and panels. No clinical content."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from panel.accounts import operations
from panel.accounts.forms import ConfirmForm, PanelRoleForm, PanelScopeForm, UserForm
from panel.accounts.models import Centre, Panel, PanelRole, PanelRoleKind, User
from panel.core.auth import admin_required
from panel.core.db import db
from panel.core.views import home_section
from panel.core.web import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


def _centre_choices() -> list[tuple[int, str]]:
    centres = db.session.scalars(select(Centre).order_by(Centre.name)).all()
    return [(0, "— no centre —")] + [(c.id, f"{c.name} ({c.city})") for c in centres]


def _panel_choices() -> list[tuple[int, str]]:
    panels = db.session.scalars(select(Panel).order_by(Panel.scope, Panel.code)).all()
    return [(p.id, f"{p.code} — {p.name}") for p in panels]


@bp.route("/users")
@admin_required
def users():
    q = (request.args.get("q") or "").strip()
    page = page_arg()
    stmt = select(User).order_by(User.active.desc(), User.name)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    listed = stmt.options(
        joinedload(User.centre), selectinload(User.panel_roles).joinedload(PanelRole.panel)
    )
    rows = db.session.scalars(listed.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().all()
    return render_template(
        "admin/users.html", users=rows, q=q, page=page, total=total, page_size=PAGE_SIZE
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserForm()
    form.centre_id.choices = _centre_choices()
    if form.validate_on_submit():
        if form.is_referrer.data and not form.centre_id.data:
            form.centre_id.errors.append("A referring doctor belongs to a centre.")
        else:
            try:
                user = operations.create_user(
                    email=form.email.data,
                    name=form.name.data,
                    centre_id=form.centre_id.data or None,
                    is_referrer=form.is_referrer.data,
                    is_admin=form.is_admin.data,
                    by=current_user,
                )
            except operations.AccountError as exc:
                form.email.errors.append(str(exc))
            else:
                operations.issue_reset_link(user, invitation=True, by=current_user)
                db.session.commit()
                flash(
                    f"Account created for {user.name}; an invitation to set a password has been e-mailed.",
                    "success",
                )
                return redirect(url_for("admin.edit_user", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=None), status


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = _load_user(user_id)
    form = UserForm(obj=user)
    form.centre_id.choices = _centre_choices()
    if request.method == "GET":
        form.centre_id.data = user.centre_id or 0
    role_form = PanelRoleForm(prefix="role")
    role_form.panel_id.choices = _panel_choices()
    if form.validate_on_submit():
        if form.is_referrer.data and not form.centre_id.data:
            form.centre_id.errors.append("A referring doctor belongs to a centre.")
        else:
            try:
                operations.update_user(
                    user,
                    by=current_user,
                    name=form.name.data.strip(),
                    email=form.email.data,
                    centre_id=form.centre_id.data or None,
                    is_referrer=form.is_referrer.data,
                    is_admin=form.is_admin.data,
                )
            except operations.AccountError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            else:
                db.session.commit()
                flash("Saved.", "success")
                return redirect(url_for("admin.edit_user", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/user_form.html", form=form, user=user, role_form=role_form, confirm=ConfirmForm()
    ), status


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@admin_required
def add_role(user_id: int):
    user = _load_user(user_id)
    form = PanelRoleForm(prefix="role")
    form.panel_id.choices = _panel_choices()
    if form.validate_on_submit():
        panel = db.session.get(Panel, form.panel_id.data)
        try:
            operations.add_panel_role(user, panel, PanelRoleKind(form.role.data), by=current_user)
        except operations.AccountError as exc:
            flash(str(exc), "warning")
        else:
            db.session.commit()
            flash(f"{user.name} is now {form.role.data} of {panel.code}.", "success")
    else:
        flash("Choose a panel and a role.", "danger")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/roles/<int:role_id>/remove", methods=["POST"])
@admin_required
def remove_role(user_id: int, role_id: int):
    user = _load_user(user_id)
    role = db.session.get(PanelRole, role_id)
    if role is None or role.user_id != user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        operations.remove_panel_role(role, by=current_user)
        db.session.commit()
        flash("Role removed.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def set_active(user_id: int):
    user = _load_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        operations.set_active(user, active, by=current_user)
    except operations.AccountError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    db.session.commit()
    flash(
        f"{user.name} {'reactivated' if active else 'deactivated; every session has ended'}.",
        "success",
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/invite", methods=["POST"])
@admin_required
def resend_invitation(user_id: int):
    user = _load_user(user_id)
    if ConfirmForm().validate_on_submit() and user.active:
        operations.issue_reset_link(user, invitation=True, by=current_user)
        db.session.commit()
        flash("A new link to set a password has been e-mailed.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/centres")
@admin_required
def centres():
    rows = db.session.execute(
        select(Centre, func.count(User.id))
        .outerjoin(User, User.centre_id == Centre.id)
        .group_by(Centre.id)
        .order_by(Centre.name)
    ).all()
    return render_template("admin/centres.html", rows=rows)


@bp.route("/panels")
@admin_required
def panels():
    panels = db.session.scalars(select(Panel).order_by(Panel.scope, Panel.code)).all()
    counts = dict(
        db.session.execute(
            select(PanelRole.panel_id, func.count(func.distinct(PanelRole.user_id))).group_by(
                PanelRole.panel_id
            )
        ).all()
    )
    roles = db.session.scalars(
        select(PanelRole).join(PanelRole.user).where(User.active).order_by(User.name)
    ).all()
    by_panel: dict[int, list[PanelRole]] = {}
    for r in roles:
        by_panel.setdefault(r.panel_id, []).append(r)
    return render_template("admin/panels.html", panels=panels, counts=counts, by_panel=by_panel)


@bp.route("/panels/<int:panel_id>", methods=["GET", "POST"])
@admin_required
def edit_panel(panel_id: int):
    """What a panel takes (its tumour scope) and its family words, with their sources."""
    panel = db.session.get(Panel, panel_id)
    if panel is None:
        abort(404)
    form = PanelScopeForm()
    if request.method == "GET":
        form.takes_iccc.data = " ".join(panel.takes_iccc or [])
        form.takes_morphology.data = " ".join(panel.takes_morphology or [])
        for name in ("takes_words", "takes_source", "family_words", "family_words_source"):
            getattr(form, name).data = getattr(panel, name)
    status = 200
    if form.validate_on_submit():
        try:
            operations.update_panel_scope(
                panel,
                by=current_user,
                takes_iccc=form.takes_iccc.data,
                takes_morphology=form.takes_morphology.data,
                takes_words=form.takes_words.data,
                takes_source=form.takes_source.data,
                family_words=form.family_words.data,
                family_words_source=form.family_words_source.data,
            )
        except operations.PanelScopeError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [str(exc)]
            status = 422
        else:
            db.session.commit()
            flash(f"{panel.code} saved.", "success")
            return redirect(url_for("admin.panels"))
    elif request.method == "POST":
        status = 422
    from panel.core.readability import score

    words = (form.family_words.data or "").strip()
    return render_template(
        "admin/panel_form.html", panel=panel, form=form, words_score=score(words) if words else None
    ), status


@home_section
def admin_counts(user) -> dict:
    """The admin's home page counts (people, centres, panels, accounts without 2FA)."""
    if not user.is_admin:
        return {}
    return {
        "counts": {
            "users": db.session.scalar(select(func.count()).select_from(User).where(User.active)),
            "inactive": db.session.scalar(
                select(func.count()).select_from(User).where(~User.active)
            ),
            "centres": db.session.scalar(select(func.count()).select_from(Centre)),
            "panels": db.session.scalar(select(func.count()).select_from(Panel)),
            "without_2fa": db.session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.active, User.totp_enabled_at.is_(None))
            ),
        }
    }
