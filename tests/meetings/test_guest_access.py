"""External experts (issue 14): a coordinator invites an expert to one case on the agenda;
the expert reads that case alone (``Case.can_view``), read only, until the date chosen or a
revocation; every grant, revocation and read is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from panel.accounts.models import User
from panel.cases.guests import CaseGuestAccess
from panel.core.audit import READ_ACTIONS
from panel.core.db import utcnow
from panel.core.errors import NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.core.uktime import uk_today
from panel.meetings import comments
from panel.meetings import guests as guest_ops
from panel.meetings import operations as ops
from tests.support.factories import TEST_PASSWORD
from tests.support.web import post_form


@pytest.fixture
def agenda(staff, db_session, meeting, submitted):
    """Case 0 and 1 on the meeting's agenda; case 2 is not."""
    coord = staff["nap_coordinator"]
    items = [ops.add_case(meeting, c, by=coord) for c in submitted[:2]]
    db_session.commit()
    return items


@pytest.fixture
def expert(make_user):
    """An account with no panel role and no referrer flag (an expert abroad)."""
    return make_user(name="Prof Expert Abroad")


def _grant(db_session, meeting, item, user, by, days=14):
    grant = guest_ops.invite_expert(
        meeting,
        item,
        email=user.email,
        name="",
        until=uk_today() + timedelta(days=days),
        by=by,
    )
    db_session.commit()
    return grant


def _changes(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action.not_in(list(READ_ACTIONS)))
    )


# --------------------------------------------------------------------------- the rule
def test_guest_access_reaches_one_case_until_it_expires_or_is_revoked(
    staff, db_session, meeting, agenda, submitted, expert
):
    coord = staff["nap_coordinator"]
    case, other = submitted[0], submitted[1]
    assert not case.can_view(expert)
    grant = _grant(db_session, meeting, agenda[0], expert, coord)
    assert case.can_view(expert) and case.is_guest(expert)
    assert not other.can_view(expert) and not submitted[2].can_view(expert)
    # Read only: no comments, no action of any rule.
    assert not case.can_see_comments(expert) and not case.can_post_comment(expert)
    for rule in (
        "can_edit",
        "can_submit",
        "can_withdraw",
        "can_upload",
        "can_request_information",
        "can_refer_on",
        "can_review_files",
        "can_edit_recommendation",
        "can_approve",
        "can_close",
        "can_see_revisions",
    ):
        assert not getattr(case, rule)(expert), rule
    assert not meeting.can_view(expert)
    # Expired: nothing.
    grant.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert not case.can_view(expert)
    assert grant.state == "expired"
    grant.expires_at = utcnow() + timedelta(days=1)
    db_session.commit()
    assert case.can_view(expert)
    guest_ops.revoke_access(grant, by=coord)
    db_session.commit()
    assert not case.can_view(expert) and grant.state == "revoked"
    actions = [
        e.action
        for e in db_session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("case.guest_access_%"))
        )
    ]
    assert actions == ["case.guest_access_granted", "case.guest_access_revoked"]
    with pytest.raises(Refused, match="already revoked"):
        guest_ops.revoke_access(grant, by=coord)
    with pytest.raises(NotAllowed):
        guest_ops.revoke_access(grant, by=staff["nap_member"])


def test_inviting_a_new_expert_by_email_makes_an_account_without_a_role(
    staff, db_session, meeting, agenda, submitted
):
    """An unknown address: an account with no role is made, an invitation to choose a
    password is e-mailed, the expert is told (no clinical content), access ends at the end of
    the chosen UK day; everything audited."""
    coord = staff["nap_coordinator"]
    until = uk_today() + timedelta(days=10)
    grant = guest_ops.invite_expert(
        meeting,
        agenda[0],
        email="Expert@Hospital.example.org",
        name="Dr Far Away",
        until=until,
        by=coord,
    )
    db_session.commit()
    user = db_session.scalar(select(User).where(User.email == "expert@hospital.example.org"))
    assert user is not None and user.name == "Dr Far Away"
    assert not user.panel_roles and not user.is_admin and not user.is_referrer
    assert grant.user_id == user.id and grant.granted_by_id == coord.id
    assert grant.meeting_id == meeting.id and grant.case_id == submitted[0].id
    from panel.core.uktime import to_uk

    assert to_uk(grant.expires_at - timedelta(seconds=1)).date() == until
    assert to_uk(grant.expires_at).date() == until + timedelta(days=1)
    mails = list(db_session.scalars(select(OutboxMail).where(OutboxMail.to_addr == user.email)))
    subjects = [m.subject for m in mails]
    assert "Your Panel account" in subjects
    advice = next(m for m in mails if submitted[0].reference in m.subject)
    for bit in ("F1174L", "ALK", "MYCN", "relapse"):
        assert bit not in advice.subject + advice.body
    assert (
        db_session.scalar(select(Notification).where(Notification.user_id == user.id)).link
        == f"/cases/{submitted[0].reference}"
    )
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "case.guest_access_granted")
    )
    assert entry.object_id == submitted[0].reference
    assert entry.details["new_account"] is True and entry.details["user_id"] == user.id
    assert "user.invited" in list(db_session.scalars(select(AuditEntry.action)))


def test_invitation_refusals(staff, db_session, meeting, agenda, submitted, expert):
    coord = staff["nap_coordinator"]
    today = uk_today()

    def invite(email, until=today + timedelta(days=14), item=agenda[0], name="", by=coord):
        return guest_ops.invite_expert(meeting, item, email=email, name=name, until=until, by=by)

    cases = [
        (lambda: invite(staff["nap_member"].email), "holds a role"),
        (lambda: invite(staff["north_member"].email), "holds a role"),
        (lambda: invite(staff["admin"].email), "holds a role"),
        (lambda: invite(staff["referrer"].email), "already sees it"),
        (lambda: invite("new.person@example.org"), "name"),
        (lambda: invite("not an address"), "e-mail"),
        (lambda: invite(expert.email, until=today - timedelta(days=1)), "past"),
        (lambda: invite(expert.email, until=today + timedelta(days=91)), "at most 90 days"),
        (lambda: invite(expert.email, until=None), "last day"),
    ]
    for action, words in cases:
        with pytest.raises(Refused, match=words):
            action()
        db_session.rollback()
    with pytest.raises(NotAllowed):
        invite(expert.email, by=staff["nap_member"])
    db_session.rollback()
    invite(expert.email)
    db_session.commit()
    with pytest.raises(Refused, match="already has access"):
        invite(expert.email)
    db_session.rollback()
    # The same expert may be asked about another case of the agenda.
    invite(expert.email, item=agenda[1])
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(CaseGuestAccess)) == 2


# --------------------------------------------------------------------------- the expert's view
def test_expert_reads_the_case_read_only_and_nothing_else(
    app, client, staff, login, db_session, meeting, agenda, submitted, expert
):
    """Signed in, the expert opens the case (the read is audited, as theirs), sees no
    comments and no actions, gets 404 on every other case and on the meeting, and every POST
    on the case is refused without changing anything."""
    coord = staff["nap_coordinator"]
    comments.add_comment(
        submitted[0],
        body="INTERNAL-NOTE Please check the restaging before the meeting.",
        visibility="internal",
        by=staff["nap_member"],
    )
    comments.add_comment(
        submitted[0],
        body="SHARED-NOTE Could you send the latest MIBG report?",
        visibility="shared",
        by=staff["nap_member"],
    )
    db_session.commit()
    _grant(db_session, meeting, agenda[0], expert, coord)
    ref = submitted[0].reference
    login(client, expert, password=TEST_PASSWORD)
    resp = client.get(f"/cases/{ref}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert ref in html
    assert "INTERNAL-NOTE" not in html and "SHARED-NOTE" not in html
    for control in ("/withdraw", "/edit", "/request-information", "/refer-on", "/urgency"):
        assert f'action="/cases/{ref}{control}"' not in html, control
    resp.close()
    read = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "case.viewed", AuditEntry.actor_id == expert.id)
        .order_by(AuditEntry.id.desc())
    )
    assert read is not None and read.object_id == ref
    for other in submitted[1:]:
        assert client.get(f"/cases/{other.reference}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}/agenda.pdf").status_code == 404
    assert client.get("/meetings").status_code == 404
    # Every POST route naming the case refuses and changes nothing.
    before = _changes(db_session)
    wrong = []
    for rule in app.url_map.iter_rules():
        if "ref" not in rule.arguments or rule.rule.startswith("/api/"):
            continue
        if "POST" not in rule.methods:
            continue
        url = re.sub(
            r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
            lambda m: ref if m.group(2) == "ref" else ("1" if m.group(1) == "int" else "x"),
            rule.rule,
        )
        status = post_form(app, client, url, {"body": "x", "reason": "x"}).status_code
        if status not in (302, 400, 403, 404, 405):
            wrong.append((url, status))
    assert not wrong, wrong
    assert _changes(db_session) == before


def test_expired_revoked_and_other_case_access_are_not_found(
    app, client, staff, login, db_session, meeting, agenda, submitted, expert
):
    """404 for an expired guest, a revoked guest, and a guest on another case."""
    coord = staff["nap_coordinator"]
    grant = _grant(db_session, meeting, agenda[0], expert, coord)
    ref = submitted[0].reference
    login(client, expert)
    assert client.get(f"/cases/{ref}").status_code == 200
    assert client.get(f"/cases/{submitted[1].reference}").status_code == 404  # another case
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-guest"' in home and ref in home
    assert submitted[1].reference not in home
    grant.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    assert client.get(f"/cases/{ref}").status_code == 404  # expired
    assert client.get(f"/cases/{ref}/images").status_code == 404
    grant.expires_at = utcnow() + timedelta(days=3)
    db_session.commit()
    assert client.get(f"/cases/{ref}").status_code == 200
    coordinator = app.test_client()
    login(coordinator, coord)
    resp = post_form(app, coordinator, f"/meetings/{meeting.id}/guests/{grant.id}/revoke")
    assert resp.status_code == 302
    page = coordinator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "has been revoked" in page and "Revoked" in page
    assert client.get(f"/cases/{ref}").status_code == 404  # revoked
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-guest"' not in home and ref not in home


# --------------------------------------------------------------------------- the routes
def test_invite_and_revoke_routes(
    app, client, staff, login, db_session, meeting, agenda, submitted, expert
):
    """The coordinator's form invites (the page lists the access); the panel's members get
    403 and another panel's coordinator 404 on invite and revoke, and nothing changes."""
    coord = staff["nap_coordinator"]
    invite_url = f"/meetings/{meeting.id}/guests"
    until = (uk_today() + timedelta(days=7)).isoformat()
    form = {"item": str(agenda[0].id), "email": expert.email, "name": "", "until": until}
    login(client, staff["nap_member"])
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-form"' not in html
    assert post_form(app, client, invite_url, form).status_code == 403
    other = app.test_client()
    login(other, staff["north_coordinator"])
    assert post_form(app, other, invite_url, form).status_code == 404
    assert db_session.scalar(select(func.count()).select_from(CaseGuestAccess)) == 0
    coordinator = app.test_client()
    login(coordinator, coord)
    html = coordinator.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-form"' in html
    default = (uk_today() + timedelta(days=guest_ops.DEFAULT_DAYS)).isoformat()
    assert f'value="{default}"' in html
    resp = post_form(app, coordinator, invite_url, form)
    assert resp.status_code == 302
    page = coordinator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Prof Expert Abroad can read" in page and 'data-testid="guest-access"' in page
    grant = db_session.scalar(select(CaseGuestAccess))
    assert grant.case_id == submitted[0].id
    revoke_url = f"/meetings/{meeting.id}/guests/{grant.id}/revoke"
    assert post_form(app, client, revoke_url).status_code == 403
    assert post_form(app, other, revoke_url).status_code == 404
    assert (
        post_form(app, coordinator, f"/meetings/{meeting.id}/guests/999999/revoke").status_code
        == 404
    )
    db_session.expire_all()
    assert db_session.get(CaseGuestAccess, grant.id).revoked_at is None
    # An item of another meeting is not found under this one.
    assert post_form(app, coordinator, invite_url, {**form, "item": "999999"}).status_code == 404
    assert post_form(app, coordinator, invite_url, {**form, "item": "x"}).status_code == 404
