"""Comments between meetings on the case page: the ``case_comments(case)`` slot and the route
that posts a comment or a reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from panel.accounts.models import User
from panel.cases.models import Case
from panel.cases.page import render_case_page
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.errors import IdentifiersFound, NotAllowed, Refused
from panel.core.web import int_arg
from panel.meetings import bp, comments
from panel.meetings.models import Comment, CommentVisibility
from panel.privacy.guard import identifiers_message

_user = signed_in_user


@dataclass
class Mentionable:
    user: User
    handle: str
    referrer: bool  # a referrer: may only be mentioned in shared comments


@dataclass
class CaseComments:
    """What the case page's discussion card needs."""

    threads: list[comments.Thread]
    panel: (
        bool  # the viewer is one of the panel's people (sees internal comments, may start threads)
    )
    open: bool  # the case takes new comments
    people: list[Mentionable] = field(default_factory=list)
    draft: dict = field(default_factory=dict)  # the text of a refused post, to show again

    @property
    def count(self) -> int:
        return sum(1 + len(t.replies) for t in self.threads)

    def can_reply(self, thread: comments.Thread) -> bool:
        return self.open and (self.panel or thread.comment.visibility == CommentVisibility.SHARED)


def case_comments(case: Case, draft: dict | None = None) -> CaseComments | None:
    """The discussion of ``case`` as the signed-in user may see it, or None when they may not
    see any (then the card is not shown)."""
    user = _user()
    if not getattr(user, "is_authenticated", False) or not case.can_see_comments(user):
        return None
    panel = case.is_panel_person(user)
    is_open = case.is_open_for_comments()
    people: list[Mentionable] = []
    if is_open:
        referrer_ids = {u.id for u in comments.case_referrers(case) if u is not None}
        people = [
            Mentionable(u, handle, u.id in referrer_ids and not case.panel_roles(u))
            for u, handle in comments.mentionable(case, CommentVisibility.SHARED)
            if u.id != user.id
        ]
    return CaseComments(
        threads=comments.visible_comments(case, user),
        panel=panel,
        open=is_open,
        people=people,
        draft=draft or {},
    )


def comments_panel(case: Case, user: User, state: dict) -> CaseComments | None:
    """The case page's discussion card; ``state["comment_draft"]`` is a refused post's text."""
    return case_comments(case, draft=state.get("comment_draft"))


@bp.app_template_global("render_comment")
def render_comment(comment: Comment):
    """A comment's body, escaped, with its mentions highlighted."""
    return comments.render_body(comment)


@bp.route("/cases/<ref>/comments", methods=["POST"])
@login_required
def add_comment(ref: str):
    """Post a comment (panel people) or a reply (panel people; referrers in shared threads).
    A refused text is shown again on the case page with the reason (status 422)."""
    user = _user()
    case = load_case_or_404(ref, user, check="can_post_comment")
    parent = None
    parent_id = int_arg(request.form, "parent_id")
    if parent_id:
        parent = db.session.get(Comment, parent_id)
        if parent is None or not parent.can_view(user, case):
            abort(404)
    body = request.form.get("body", "")
    visibility = request.form.get("visibility", CommentVisibility.INTERNAL.value)
    try:
        comment = comments.add_comment(
            case, body=body, visibility=visibility, by=user, parent=parent
        )
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except Refused as exc:
        db.session.rollback()
        if isinstance(exc, IdentifiersFound):
            flash(
                identifiers_message(
                    exc.findings, what="Comment not posted", again="Remove it and post again."
                ),
                "danger",
            )
        else:
            flash(f"Comment not posted: {exc.message}", "danger")
        draft = {"body": body, "visibility": visibility, "parent_id": parent_id}
        return render_case_page(case, user, status=422, comment_draft=draft)
    db.session.commit()
    flash("Reply posted." if parent is not None else "Comment posted.", "success")
    return redirect(url_for("cases.show", ref=case.reference, _anchor=f"comment-{comment.id}"))
