"""Admin screens: people, panel roles, deactivation; and who may not use them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.accounts.models import Centre, Panel, PanelRoleKind, User
from panel.core.models import AuditEntry, OutboxMail
from tests.support.web import post_form


@pytest.fixture
def admin(make_user):
    return make_user(admin=True, name="Ada Admin")


def test_admin_creates_a_referrer_who_gets_an_invitation(app, client, admin, login, db_session):
    """Can an admin create an account, and is an invitation link queued for it?"""
    login(client, admin)
    leeds = db_session.scalar(select(Centre).where(Centre.code == "LEEDS"))
    resp = post_form(
        app,
        client,
        "/admin/users/new",
        {
            "name": "Dr New Person",
            "email": "New.Person@nhs.example.org",
            "centre_id": leeds.id,
            "is_referrer": "y",
        },
    )
    assert resp.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "new.person@nhs.example.org"))
    assert user is not None and user.is_referrer and user.centre_id == leeds.id
    assert user.password_hash is None
    mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == user.email))
    assert mail is not None and "/reset/" in mail.body
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
    ).all()
    assert "user.created" in actions and "user.invited" in actions


def test_referrer_needs_a_centre_and_email_is_unique(app, client, admin, login, db_session):
    login(client, admin)
    resp = post_form(
        app,
        client,
        "/admin/users/new",
        {"name": "Dr X", "email": "x@nhs.example.org", "centre_id": 0, "is_referrer": "y"},
    )
    assert resp.status_code == 422 and "belongs to a centre" in resp.get_data(as_text=True)
    resp = post_form(
        app, client, "/admin/users/new", {"name": "Dr Y", "email": admin.email, "centre_id": 0}
    )
    assert resp.status_code == 422 and "already exists" in resp.get_data(as_text=True)
    resp = post_form(
        app, client, "/admin/users/new", {"name": "Dr Z", "email": "not-an-email", "centre_id": 0}
    )
    assert resp.status_code == 422


def test_admin_manages_panel_roles(app, client, admin, login, make_user, db_session):
    """Can an admin add and remove a panel role, and is each change audited?"""
    login(client, admin)
    user = make_user(centre="LEEDS")
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    resp = post_form(
        app,
        client,
        f"/admin/users/{user.id}/roles",
        {"role-panel_id": nap.id, "role-role": "member"},
    )
    assert resp.status_code == 302
    db_session.expire_all()
    user = db_session.get(User, user.id)
    assert user.roles_on(nap.id) == {PanelRoleKind.MEMBER}
    # The same role twice is refused politely.
    post_form(
        app,
        client,
        f"/admin/users/{user.id}/roles",
        {"role-panel_id": nap.id, "role-role": "member"},
    )
    db_session.expire_all()
    assert len(db_session.get(User, user.id).panel_roles) == 1
    role = db_session.get(User, user.id).panel_roles[0]
    assert (
        post_form(app, client, f"/admin/users/{user.id}/roles/{role.id}/remove").status_code == 302
    )
    db_session.expire_all()
    assert db_session.get(User, user.id).panel_roles == []
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
    ).all()
    assert "user.role_added" in actions and "user.role_removed" in actions


def test_admin_cannot_deactivate_self_or_the_last_admin(app, client, admin, login, db_session):
    login(client, admin)
    resp = post_form(
        app, client, f"/admin/users/{admin.id}/active", {"active": "0"}, follow_redirects=True
    )
    assert "cannot deactivate your own account" in resp.get_data(as_text=True)
    db_session.refresh(admin)
    assert admin.active


def test_admin_deactivates_and_reactivates(app, client, admin, login, make_user, db_session):
    login(client, admin)
    user = make_user(referrer_at="LEEDS")
    assert (
        post_form(app, client, f"/admin/users/{user.id}/active", {"active": "0"}).status_code == 302
    )
    db_session.refresh(user)
    assert not user.active
    assert (
        post_form(app, client, f"/admin/users/{user.id}/active", {"active": "1"}).status_code == 302
    )
    db_session.refresh(user)
    assert user.active


@pytest.mark.parametrize("who", ["referrer", "member", "coordinator", "chair"])
@pytest.mark.parametrize(
    "url", ["/admin/users", "/admin/users/new", "/admin/centres", "/admin/panels"]
)
def test_only_admins_reach_admin_screens(app, client, make_user, login, who, url):
    """Is every admin screen refused (403) to people who are not admins?"""
    user = {
        "referrer": lambda: make_user(referrer_at="LEEDS"),
        "member": lambda: make_user(roles=[("NAP", "member")]),
        "coordinator": lambda: make_user(roles=[("NAP", "coordinator")]),
        "chair": lambda: make_user(roles=[("NAP", "chair")]),
    }[who]()
    login(client, user)
    assert client.get(url).status_code == 403


def test_non_admin_cannot_post_to_admin_actions(app, client, make_user, login, db_session):
    """Can a coordinator deactivate someone or give themselves a role by posting directly?"""
    victim = make_user(referrer_at="LEEDS")
    coord = make_user(roles=[("NAP", "coordinator")])
    login(client, coord)
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    assert (
        post_form(app, client, f"/admin/users/{victim.id}/active", {"active": "0"}).status_code
        == 403
    )
    assert (
        post_form(
            app,
            client,
            f"/admin/users/{coord.id}/roles",
            {"role-panel_id": nap.id, "role-role": "chair"},
        ).status_code
        == 403
    )
    db_session.refresh(victim)
    assert victim.active


def test_admin_pages_render(app, client, admin, login, make_user):
    login(client, admin)
    other = make_user(referrer_at="LEEDS")
    for url in (
        "/admin/users",
        "/admin/users?q=test",
        f"/admin/users/{other.id}",
        "/admin/centres",
        "/admin/panels",
        "/",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
    assert client.get("/admin/users/999999").status_code == 404
