"""The audit trail: hash chain, append-only storage, verification and browsing."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from panel.core import audit
from panel.core.models import AuditEntry
from tests.support.web import post_form


def _disable_guard(db_session):
    """Play a database administrator who bypasses the append-only triggers."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(
            text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update")
        )
    else:
        db_session.execute(text("DROP TRIGGER audit_entries_no_update"))
        db_session.execute(text("DROP TRIGGER audit_entries_no_delete"))


def test_every_entry_is_chained(app, db_session):
    """Does each entry carry its predecessor's hash, and does the chain verify?"""
    with app.test_request_context():
        a = audit.record("test.one", object_type="thing", object_id=1)
        b = audit.record("test.two", object_type="thing", object_id=2, details={"x": [1, 2]})
    assert b.prev_hash == a.entry_hash and b.id == a.id + 1
    checked, problem = audit.verify_chain()
    assert problem is None and checked >= 2


def test_audit_rows_cannot_be_updated_or_deleted(app, db_session):
    """Do the database triggers refuse UPDATE and DELETE on the audit trail?"""
    with app.test_request_context():
        entry = audit.record("test.append_only")
    db_session.commit()
    for stmt in (
        "UPDATE audit_entries SET action = 'x' WHERE id = :i",
        "DELETE FROM audit_entries WHERE id = :i",
    ):
        nested = db_session.begin_nested()
        try:
            db_session.execute(text(stmt), {"i": entry.id})
            raise AssertionError(f"{stmt} was allowed")
        except DBAPIError as exc:
            assert "append-only" in str(exc)
            nested.rollback()


def test_audit_verify_names_an_edited_row(app, db_session):
    """Does ``audit-verify`` find a row whose content was edited behind Panel's back?"""
    with app.test_request_context():
        audit.record("test.first")
        victim = audit.record("test.victim", details={"n": 1})
        audit.record("test.after")
    db_session.commit()
    _disable_guard(db_session)
    db_session.execute(
        text("UPDATE audit_entries SET actor_label = 'someone else' WHERE id = :i"),
        {"i": victim.id},
    )
    db_session.expire_all()
    checked, problem = audit.verify_chain()
    assert problem is not None and problem.entry_id == victim.id
    assert "changed" in problem.reason


def test_audit_verify_notices_deleted_rows(app, db_session):
    with app.test_request_context():
        audit.record("test.a")
        middle = audit.record("test.b")
        last = audit.record("test.c")
    db_session.commit()
    middle_id, last_id = middle.id, last.id
    _disable_guard(db_session)
    db_session.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": middle_id})
    checked, problem = audit.verify_chain()
    assert problem is not None and problem.entry_id == middle_id
    db_session.execute(text("DELETE FROM audit_entries WHERE id >= :i"), {"i": middle_id})
    checked, problem = audit.verify_chain()
    assert problem is not None and "end of the trail" in problem.reason
    assert last_id > middle_id


def test_audit_verify_cli(app, db_session):
    """Does the CLI command report an intact chain, and fail with the row number when broken?"""
    with app.test_request_context():
        audit.record("test.cli")
        bad = audit.record("test.cli2")
    db_session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit-verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    _disable_guard(db_session)
    db_session.execute(
        text("UPDATE audit_entries SET details = '{\"tampered\": true}' WHERE id = :i"),
        {"i": bad.id},
    )
    broken = runner.invoke(args=["audit-verify"])
    assert broken.exit_code == 1 and f"entry {bad.id}" in broken.output


def test_logins_failures_and_lockouts_are_audited(app, client, make_user, db_session):
    user = make_user(referrer_at="LEEDS")
    for _ in range(5):
        post_form(app, client, "/login", {"email": user.email, "password": "wrong-wrong-wrong"})
    actions = db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("login.failure") >= 5 and "login.lockout" in actions
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "login.failure")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.ip == "127.0.0.1" and entry.actor_id == user.id


def test_coordinator_browses_audit_and_browsing_is_audited(
    app, client, make_user, login, db_session
):
    coord = make_user(roles=[("NAP", "coordinator")])
    login(client, coord)
    resp = client.get("/audit?action=login")
    assert resp.status_code == 200
    assert "login.success" in resp.get_data(as_text=True)
    last = db_session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert last.action == "audit.viewed" and last.actor_id == coord.id


def test_coordinator_does_not_see_other_panels_entries(app, client, make_user, login, db_session):
    """Is an entry about another panel hidden from a coordinator?"""
    from panel.accounts.models import Panel

    north = db_session.scalar(select(Panel).where(Panel.code == "ECMC-NORTH"))
    with app.test_request_context():
        audit.record(
            "case.secret_north_thing",
            panel_id=north.id,
            object_type="case",
            object_id="NB-2026-0001",
        )
    db_session.commit()
    coord = make_user(roles=[("NAP", "coordinator")])
    login(client, coord)
    assert "secret_north_thing" not in client.get("/audit").get_data(as_text=True)


def test_admin_sees_entries_without_clinical_details(app, client, make_user, login, db_session):
    with app.test_request_context():
        audit.record(
            "case.updated",
            object_type="case",
            object_id="NB-2026-0002",
            details={"clinical_question": "CLINICAL-MARKER"},
            clinical=True,
        )
    db_session.commit()
    admin = make_user(admin=True)
    login(client, admin)
    html = client.get("/audit?action=case").get_data(as_text=True)
    assert (
        "case.updated" in html
        and "CLINICAL-MARKER" not in html
        and "clinical detail hidden" in html
    )


def test_referrers_and_members_cannot_browse_audit(app, client, make_user, login):
    for user in (make_user(referrer_at="LEEDS"), make_user(roles=[("NAP", "member")])):
        c = app.test_client()
        login(c, user)
        assert c.get("/audit").status_code == 403


def test_member_role_does_not_open_another_panels_audit(app, client, make_user, login, db_session):
    """A coordinator of ECMC-NORTH who is only a member of NAP sees no NAP entries, and an
    admin who is a panel member sees no clinical details."""
    from panel.accounts.models import Panel

    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    with app.test_request_context():
        audit.record(
            "case.nap_detail",
            panel_id=nap.id,
            object_type="case",
            object_id="NB-2026-0003",
            details={"questions": ["NAP-CLINICAL-MARKER"]},
            clinical=True,
        )
    db_session.commit()
    coord = make_user(roles=[("ECMC-NORTH", "coordinator"), ("NAP", "member")])
    login(client, coord)
    assert "nap_detail" not in client.get("/audit").get_data(as_text=True)
    admin = make_user(admin=True, roles=[("ECMC-NORTH", "member")])
    c2 = app.test_client()
    login(c2, admin)
    html = c2.get("/audit?action=case").get_data(as_text=True)
    assert "nap_detail" in html and "NAP-CLINICAL-MARKER" not in html
