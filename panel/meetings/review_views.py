"""Urgent virtual review pages: open a review, record a view, cancel, and the list of open
reviews waiting for the panel's people."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_login import login_required

from panel.cases.models import Case
from panel.cases.queries import load_case_or_404
from panel.core.auth import signed_in_user
from panel.core.db import db
from panel.core.web import attempt, forbidding
from panel.meetings import bp, review
from panel.meetings.models import VirtualReview

_user = signed_in_user


def _case_url(case: Case) -> str:
    return url_for("cases.show", ref=case.reference, _anchor="virtual-review")


def _review_or_404(case: Case, review_id: int) -> VirtualReview:
    found = db.session.get(VirtualReview, review_id)
    if found is None or found.case_id != case.id:
        abort(404)
    return found


@bp.route("/cases/<ref>/virtual-review", methods=["POST"])
@login_required
def open_review(ref: str):
    user = _user()
    case = load_case_or_404(ref, user)
    # case.can_open_review, asked by the operation: 403 for anyone but the panel's coordinators.
    return attempt(
        forbidding(
            lambda: review.open_review(case, proposal=request.form.get("proposal", ""), by=user)
        ),
        target=_case_url(case),
        success="Virtual review opened: the panel's chairs and members have been asked for their agreement.",
    )


@bp.route("/cases/<ref>/virtual-review/<int:review_id>/vote", methods=["POST"])
@login_required
def review_vote(ref: str, review_id: int):
    user = _user()
    case = load_case_or_404(ref, user)
    found = _review_or_404(case, review_id)
    if not found.is_voter(user):
        abort(403)
    agrees = request.form.get("agrees") in ("1", "yes", "true", "on")
    return attempt(
        lambda: review.vote(found, agrees=agrees, note=request.form.get("note", ""), by=user),
        target=_case_url(case),
        success="Your view has been recorded.",
    )


@bp.route("/cases/<ref>/virtual-review/<int:review_id>/cancel", methods=["POST"])
@login_required
def cancel_review(ref: str, review_id: int):
    user = _user()
    case = load_case_or_404(ref, user)
    found = _review_or_404(case, review_id)
    if not found.can_manage(user):
        abort(403)
    return attempt(
        lambda: review.cancel_review(found, by=user),
        target=_case_url(case),
        success="The virtual review was cancelled.",
    )


@bp.route("/reviews")
@login_required
def reviews():
    """Open virtual reviews of the user's panels; those waiting for this user's view first."""
    user = _user()
    if not user.panel_ids():
        abort(403)
    items = []
    for r in review.open_reviews_for(user):
        items.append(
            {
                "review": r,
                "case": r.case,
                "progress": review.progress(r),
                "mine": r.can_vote(user),
                "my_vote": next((v for v in r.votes if v.user_id == user.id), None),
                "coordinator": r.can_manage(user),
            }
        )
    items.sort(key=lambda i: (not i["mine"], i["review"].opened_at))
    return render_template("meetings/reviews.html", items=items)


def case_review(case: Case) -> dict | None:
    """The virtual-review box of the case page for this user, or None to show nothing: only
    the panel's people see it (the referrers learn the outcome from the case status)."""
    user = _user()
    if (
        not getattr(user, "is_authenticated", False)
        or case.submitted_at is None
        or not case.can_view(user)
    ):
        return None
    roles = case.panel_roles(user)
    all_reviews = review.reviews_of(case)
    can_open = case.can_open_review(user) and not any(r.status.value == "open" for r in all_reviews)
    if not roles:
        return None
    if not all_reviews and not can_open:
        return None
    return {
        "reviews": [
            {"review": r, "progress": review.progress(r), "can_vote": r.can_vote(user)}
            for r in all_reviews
        ],
        "can_open": can_open,
        "coordinator": case.is_coordinated_by(user),
        "chairs_needed": review.CHAIRS_NEEDED,
        "members_needed": review.MEMBERS_NEEDED,
    }
