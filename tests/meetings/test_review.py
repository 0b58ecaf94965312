"""Urgent virtual review: the chair and at least two members agree on an urgent case without
a meeting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.cases.models import Case, CaseStatus
from panel.core.errors import Conflict, IdentifiersFound, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification
from panel.meetings import review, triage
from panel.meetings.models import VirtualReview, VirtualReviewStatus, VirtualReviewVote
from tests.support.web import post_form


@pytest.fixture
def team(people, make_user):
    return {
        **people,
        "chair": make_user(roles=[("NAP", "chair")], name="Nap Chair"),
        "member2": make_user(roles=[("NAP", "member")], name="Second Member"),
        "member3": make_user(roles=[("NAP", "member")], name="Third Member"),
        "north_member": make_user(roles=[("ECMC-NORTH", "member")]),
    }


@pytest.fixture
def client_for(app, login, db_session):
    """A signed-in client for ``user``, one per user (a client stays signed in as its first user)."""
    clients = {}

    def make(user):
        if user.id not in clients:
            db_session.refresh(user)  # the login fixture resets the TOTP step on this object
            clients[user.id] = app.test_client()
            login(clients[user.id], user)
        return clients[user.id]

    return make


@pytest.fixture
def urgent_case(db_session, team, make_case):
    case = make_case(team["referrer"], submit=True)
    triage.set_urgency(case, True, by=team["nap_coordinator"])
    db_session.commit()
    return case


@pytest.fixture
def open_one(db_session, team, urgent_case):
    r = review.open_review(
        urgent_case,
        proposal="Start the ALK inhibitor trial screening now.",
        by=team["nap_coordinator"],
    )
    db_session.commit()
    return r


def _actions(db_session, case: Case) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == case.reference)
            .order_by(AuditEntry.id)
        )
    )


def _vote(app, client, case, r, agrees="1", note=""):
    return post_form(
        app,
        client,
        f"/cases/{case.reference}/virtual-review/{r.id}/vote",
        {"agrees": agrees, "note": note},
    )


def test_coordinator_opens_a_review_of_an_urgent_case(
    app, db_session, team, urgent_case, client_for
):
    """Does opening a review record it, audit it and ask the panel's chairs and members?"""
    c = client_for(team["nap_coordinator"])
    resp = post_form(
        app,
        c,
        f"/cases/{urgent_case.reference}/virtual-review",
        {"proposal": "Proceed to trial screening."},
    )
    assert resp.status_code == 302
    r = db_session.scalar(select(VirtualReview).where(VirtualReview.case_id == urgent_case.id))
    assert r.status == VirtualReviewStatus.OPEN and r.opened_by_id == team["nap_coordinator"].id
    assert "case.virtual_review_opened" in _actions(db_session, urgent_case)
    asked = set(
        db_session.scalars(select(Notification.user_id).where(Notification.kind == "review.opened"))
    )
    assert {
        team["chair"].id,
        team["nap_member"].id,
        team["member2"].id,
        team["member3"].id,
    } == asked
    # A second open review on the same case is refused.
    resp = post_form(
        app,
        c,
        f"/cases/{urgent_case.reference}/virtual-review",
        {"proposal": "Again"},
        follow_redirects=True,
    )
    assert "already open" in resp.get_data(as_text=True)
    assert (
        len(
            db_session.scalars(
                select(VirtualReview).where(VirtualReview.case_id == urgent_case.id)
            ).all()
        )
        == 1
    )


def test_a_routine_case_cannot_be_reviewed_without_a_meeting(db_session, team, make_case):
    case = make_case(team["referrer"], submit=True)
    with pytest.raises(Conflict, match="urgent"):
        review.open_review(case, proposal="Proceed", by=team["nap_coordinator"])


def test_opening_refusals(app, db_session, team, urgent_case, client_for):
    with pytest.raises(NotAllowed):
        review.open_review(urgent_case, proposal="Proceed", by=team["chair"])
    with pytest.raises(Refused, match="proposed outcome"):
        review.open_review(urgent_case, proposal=" ", by=team["nap_coordinator"])
    with pytest.raises(IdentifiersFound):
        review.open_review(
            urgent_case,
            proposal="Call her at 07700 900123 or NHS 943 476 5919",
            by=team["nap_coordinator"],
        )
    db_session.rollback()
    assert client_for(team["chair"]).post(
        f"/cases/{urgent_case.reference}/virtual-review"
    ).status_code in (400, 403)
    assert (
        post_form(
            app,
            client_for(team["chair"]),
            f"/cases/{urgent_case.reference}/virtual-review",
            {"proposal": "x"},
        ).status_code
        == 403
    )
    assert (
        post_form(
            app,
            client_for(team["north_coordinator"]),
            f"/cases/{urgent_case.reference}/virtual-review",
            {"proposal": "x"},
        ).status_code
        == 404
    )


def test_chair_and_two_members_agreeing_makes_the_case_discussed(
    app, db_session, team, urgent_case, open_one, client_for
):
    """Is a chair plus one member not enough, and a chair plus two members enough (the case is
    then discussed, audited, and coordinators and referrers are told)?"""
    assert (
        _vote(
            app, client_for(team["chair"]), urgent_case, open_one, note="Agree, urgent."
        ).status_code
        == 302
    )
    _vote(app, client_for(team["nap_member"]), urgent_case, open_one)
    db_session.expire_all()
    case = db_session.get(Case, urgent_case.id)
    assert case.status == CaseStatus.SUBMITTED
    r = db_session.get(VirtualReview, open_one.id)
    assert (
        r.status == VirtualReviewStatus.OPEN
        and review.progress(r).label == "chair \u2713, members 1 of 2"
    )
    assert [v.as_chair for v in r.votes] == [True, False]

    _vote(app, client_for(team["member2"]), urgent_case, open_one)
    db_session.expire_all()
    case = db_session.get(Case, urgent_case.id)
    r = db_session.get(VirtualReview, open_one.id)
    assert r.status == VirtualReviewStatus.AGREED and r.decided_at is not None
    assert case.status == CaseStatus.DISCUSSED and case.discussed_at is not None
    discussed = db_session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case.discussed", AuditEntry.object_id == case.reference
        )
    )
    assert discussed.details["via"] == "virtual review" and discussed.panel_id == case.panel_id
    actions = _actions(db_session, case)
    assert (
        actions.count("case.virtual_review_vote") == 3 and "case.virtual_review_agreed" in actions
    )
    told = set(
        db_session.scalars(select(Notification.user_id).where(Notification.kind == "review.agreed"))
    )
    assert {team["nap_coordinator"].id, team["referrer"].id} <= told
    # A late vote is refused: the review is closed.
    resp = _vote(app, client_for(team["member3"]), urgent_case, open_one)
    assert resp.status_code == 302
    assert (
        len(
            db_session.scalars(
                select(VirtualReviewVote).where(VirtualReviewVote.review_id == open_one.id)
            ).all()
        )
        == 3
    )


def test_three_members_without_the_chair_are_not_enough(db_session, team, urgent_case, open_one):
    for who in ("nap_member", "member2", "member3"):
        review.vote(open_one, agrees=True, note="", by=team[who])
    db_session.commit()
    assert (
        open_one.status == VirtualReviewStatus.OPEN and urgent_case.status == CaseStatus.SUBMITTED
    )
    assert review.progress(open_one).label == "chair awaited, members 2 of 2"
    # The chair's agreement completes it.
    review.vote(open_one, agrees=True, note="", by=team["chair"])
    assert (
        open_one.status == VirtualReviewStatus.AGREED and urgent_case.status == CaseStatus.DISCUSSED
    )


def test_disagreement_does_not_count_towards_agreement(db_session, team, urgent_case, open_one):
    review.vote(open_one, agrees=True, note="", by=team["chair"])
    review.vote(
        open_one, agrees=False, note="Discuss at the meeting, please.", by=team["nap_member"]
    )
    review.vote(open_one, agrees=True, note="", by=team["member2"])
    assert open_one.status == VirtualReviewStatus.OPEN and review.progress(open_one).disagree == 1


def test_a_second_vote_is_refused(app, db_session, team, urgent_case, open_one, client_for):
    c = client_for(team["nap_member"])
    _vote(app, c, urgent_case, open_one)
    resp = post_form(
        app,
        c,
        f"/cases/{urgent_case.reference}/virtual-review/{open_one.id}/vote",
        {"agrees": "0"},
        follow_redirects=True,
    )
    assert "already recorded" in resp.get_data(as_text=True)
    votes = db_session.scalars(
        select(VirtualReviewVote).where(VirtualReviewVote.review_id == open_one.id)
    ).all()
    assert len(votes) == 1 and votes[0].agrees is True
    with pytest.raises(Conflict):  # even with a stale list of votes in memory
        review.vote(open_one, agrees=True, note="", by=team["nap_member"])


@pytest.mark.parametrize(
    "who,status",
    [
        ("north_member", 404),
        ("other_referrer", 404),
        ("admin", 404),
        ("referrer", 403),
        ("nap_coordinator", 403),
    ],
)
def test_who_may_not_vote(app, db_session, team, urgent_case, open_one, client_for, who, status):
    assert _vote(app, client_for(team[who]), urgent_case, open_one).status_code == status
    assert not db_session.scalars(
        select(VirtualReviewVote).where(VirtualReviewVote.review_id == open_one.id)
    ).all()


def test_a_note_with_an_identifier_is_refused(
    app, db_session, team, urgent_case, open_one, client_for
):
    resp = post_form(
        app,
        client_for(team["chair"]),
        f"/cases/{urgent_case.reference}/virtual-review/{open_one.id}/vote",
        {"agrees": "1", "note": "NHS 943 476 5919"},
        follow_redirects=True,
    )
    assert "patient identifier" in resp.get_data(as_text=True)
    assert not db_session.scalars(
        select(VirtualReviewVote).where(VirtualReviewVote.review_id == open_one.id)
    ).all()


def test_coordinator_cancels_a_review(app, db_session, team, urgent_case, open_one, client_for):
    url = f"/cases/{urgent_case.reference}/virtual-review/{open_one.id}/cancel"
    assert post_form(app, client_for(team["chair"]), url).status_code == 403
    assert post_form(app, client_for(team["nap_coordinator"]), url).status_code == 302
    db_session.expire_all()
    assert db_session.get(VirtualReview, open_one.id).status == VirtualReviewStatus.CANCELLED
    assert "case.virtual_review_cancelled" in _actions(db_session, urgent_case)
    # A review of another case's id is not found.
    assert (
        post_form(
            app, client_for(team["nap_coordinator"]), "/cases/NB-2000-9999/virtual-review/1/cancel"
        ).status_code
        == 404
    )


def test_case_page_and_reviews_list(app, db_session, team, urgent_case, open_one, client_for):
    """Do members see the review with a vote form, the referrer not at all, and does /reviews
    show what waits for my view?"""
    member = client_for(team["nap_member"])
    page = member.get(f"/cases/{urgent_case.reference}").get_data(as_text=True)
    assert 'data-testid="case-review"' in page and 'data-testid="vote-form"' in page
    assert "Start the ALK inhibitor trial screening now." in page
    listing = member.get("/reviews").get_data(as_text=True)
    assert urgent_case.reference in listing and 'data-testid="waiting-for-me"' in listing
    review.vote(open_one, agrees=True, note="Fine by me.", by=team["nap_member"])
    db_session.commit()
    page = member.get(f"/cases/{urgent_case.reference}").get_data(as_text=True)
    assert (
        'data-testid="vote-form"' not in page and "Fine by me." in page and "members 1 of 2" in page
    )
    assert 'data-testid="waiting-for-me"' not in member.get("/reviews").get_data(as_text=True)
    referrer_page = (
        client_for(team["referrer"]).get(f"/cases/{urgent_case.reference}").get_data(as_text=True)
    )
    assert 'data-testid="case-review"' not in referrer_page
    coord_page = (
        client_for(team["nap_coordinator"])
        .get(f"/cases/{urgent_case.reference}")
        .get_data(as_text=True)
    )
    assert "Cancel the review" in coord_page and 'data-testid="open-review-form"' not in coord_page
    assert client_for(team["referrer"]).get("/reviews").status_code == 403
    assert urgent_case.reference not in client_for(team["north_member"]).get("/reviews").get_data(
        as_text=True
    )


def test_urgent_submitted_case_offers_the_open_review_form(
    db_session, team, urgent_case, client_for
):
    page = (
        client_for(team["nap_coordinator"])
        .get(f"/cases/{urgent_case.reference}")
        .get_data(as_text=True)
    )
    assert 'data-testid="open-review-form"' in page


def test_marking_routine_is_refused_while_a_review_is_open(db_session, team, urgent_case, open_one):
    with pytest.raises(Conflict, match="virtual review"):
        triage.set_urgency(urgent_case, False, by=team["nap_coordinator"])


def test_referring_on_cancels_an_open_review(db_session, team, urgent_case, open_one):
    from panel.accounts.models import Panel

    north = db_session.scalar(select(Panel).where(Panel.code == "ECMC-NORTH"))
    triage.refer_on(
        urgent_case, north, reason="Early-phase trial in the North", by=team["nap_coordinator"]
    )
    db_session.commit()
    assert open_one.status == VirtualReviewStatus.CANCELLED and urgent_case.panel_id == north.id
