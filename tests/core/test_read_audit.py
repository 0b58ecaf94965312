"""Reads are audited (issue 12): the case page, revisions, trial suggestions and the API's GET
of a case write one entry each, after the response, in the same hash chain.

The entries are written when the server closes the response (``response.call_on_close``); the
Flask test client does that only on ``resp.close()``, so every test closes its responses.
Letters: tests/feedback/test_letter_reads.py; images: tests/imaging/test_image_reads.py.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from panel.core import audit
from panel.core.models import AuditEntry


def reads(db_session, action: str, ref: str | None = None) -> list[AuditEntry]:
    db_session.expire_all()
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if ref is not None:
        stmt = stmt.where(AuditEntry.object_type == "case", AuditEntry.object_id == ref)
    return list(db_session.scalars(stmt))


def get(client, url: str, **kw):
    """GET and close the response, as a server does once it has sent it."""
    resp = client.get(url, **kw)
    resp.close()
    return resp


def test_case_page_view_is_recorded_after_the_response(
    app, db_session, client, login, people, make_case
):
    """Does opening a case page write one ``case.viewed`` entry (actor, case, panel, address),
    and only once the response has been sent?"""
    case = make_case(people["referrer"], submit=True)
    coordinator = people["nap_coordinator"]
    login(client, coordinator)
    resp = client.get(f"/cases/{case.reference}")
    assert resp.status_code == 200
    assert reads(db_session, "case.viewed") == []  # nothing inside the request
    resp.close()
    [entry] = reads(db_session, "case.viewed", case.reference)
    assert entry.actor_id == coordinator.id and entry.actor_label == coordinator.email
    assert entry.panel_id == case.panel_id and entry.panel_id is not None
    assert entry.ip == "127.0.0.1"
    assert entry.details == {"via": "page"} and entry.clinical is False
    # One entry per view: a second view is a second entry.
    assert get(client, f"/cases/{case.reference}").status_code == 200
    assert len(reads(db_session, "case.viewed", case.reference)) == 2


def test_draft_view_carries_no_panel(app, db_session, client, login, people, make_case):
    """A draft is the referrer's business alone: its read entry has no panel (as its other
    entries), so coordinators do not see it in their trail."""
    case = make_case(people["referrer"])
    login(client, people["referrer"])
    assert get(client, f"/cases/{case.reference}").status_code == 200
    [entry] = reads(db_session, "case.viewed", case.reference)
    assert entry.panel_id is None and entry.actor_id == people["referrer"].id


def test_revisions_view_is_recorded(app, db_session, client, login, people, make_case):
    """Does the revisions page write a ``case.revisions_viewed`` entry?"""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])
    assert get(client, f"/cases/{case.reference}/revisions").status_code == 200
    [entry] = reads(db_session, "case.revisions_viewed", case.reference)
    assert entry.actor_id == people["nap_coordinator"].id and entry.panel_id == case.panel_id


def test_trial_suggestions_page_is_recorded_but_not_its_case_page_part(
    app, db_session, client, login, people, make_case
):
    """The suggestions as a page of their own are a read; the htmx part of the case page is not
    (the case page recorded that view)."""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])
    assert (
        get(client, f"/trials/case/{case.reference}", headers={"HX-Request": "true"}).status_code
        == 200
    )
    assert reads(db_session, "case.matches_viewed") == []
    assert get(client, f"/trials/case/{case.reference}").status_code == 200
    [entry] = reads(db_session, "case.matches_viewed", case.reference)
    assert entry.details == {"via": "page"}


def test_api_get_of_a_case_is_recorded(app, db_session, client, people, make_case):
    """Does ``GET /api/v1/cases/<ref>`` (and its matches) write an entry naming the token's
    user? The case list writes none."""
    from panel.api import tokens

    referrer = people["referrer"]
    case = make_case(referrer, submit=True)
    secret = tokens.create_token(referrer, "reads", by=referrer).secret
    db_session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    assert get(client, "/api/v1/cases", headers=auth).status_code == 200
    assert reads(db_session, "case.viewed") == []
    assert get(client, f"/api/v1/cases/{case.reference}", headers=auth).status_code == 200
    [entry] = reads(db_session, "case.viewed", case.reference)
    assert entry.actor_id == referrer.id and entry.details == {"via": "api"}
    assert entry.panel_id == case.panel_id
    assert get(client, f"/api/v1/cases/{case.reference}/matches", headers=auth).status_code == 200
    [matches] = reads(db_session, "case.matches_viewed", case.reference)
    assert matches.actor_id == referrer.id and matches.details == {"via": "api"}


def test_refused_reads_write_nothing(app, db_session, client, login, people, make_case):
    """A 404 (someone who may not see the case) or a 403 records no read, on pages and API."""
    from panel.api import tokens

    case = make_case(people["referrer"], submit=True)
    draft = make_case(people["referrer"])
    other = people["other_referrer"]
    secret = tokens.create_token(other, "reads", by=other).secret
    db_session.commit()
    count = len(reads(db_session, "case.viewed"))
    login(client, other)
    for url in (
        f"/cases/{case.reference}",
        f"/cases/{case.reference}/revisions",
        f"/trials/case/{case.reference}",
        f"/cases/{case.reference}/letters/clinician",
    ):
        assert get(client, url).status_code == 404, url
    assert (
        get(
            client, f"/api/v1/cases/{case.reference}", headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 404
    )
    member = app.test_client()
    login(member, people["nap_member"])
    assert (
        get(member, f"/cases/{draft.reference}").status_code == 404
    )  # drafts are invisible to the panel
    db_session.expire_all()
    assert (
        db_session.scalar(select(AuditEntry).where(AuditEntry.action.in_(audit.READ_ACTIONS)))
        is None
    )
    assert len(reads(db_session, "case.viewed")) == count == 0


def test_chain_stays_valid_after_reads(app, db_session, client, login, people, make_case):
    """Are read entries in the same hash chain (``audit-verify`` passes, ids follow on)?"""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])
    for url in (
        f"/cases/{case.reference}",
        f"/cases/{case.reference}/revisions",
        f"/cases/{case.reference}",
    ):
        assert get(client, url).status_code == 200
    entries = reads(db_session, "case.viewed") + reads(db_session, "case.revisions_viewed")
    assert len(entries) == 3
    checked, problem = audit.verify_chain()
    assert problem is None and checked >= max(e.id for e in entries)
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_a_failed_read_entry_is_logged_and_the_page_still_answers(
    app, db_session, client, login, people, make_case, monkeypatch, caplog
):
    """If the read entry cannot be written, the page is still a 200, the failure is logged
    without identifiers, and the chain is untouched."""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])

    def broken(**entry):
        raise RuntimeError(f"boom {entry['object_id']}")

    monkeypatch.setattr(audit, "_append", broken)
    with caplog.at_level(logging.ERROR, logger="panel.core.audit"):
        resp = client.get(f"/cases/{case.reference}")
        assert resp.status_code == 200
        resp.close()
    monkeypatch.undo()
    assert "read audit entries not written (case.viewed): RuntimeError" in caplog.text
    assert case.reference not in caplog.text and people["nap_coordinator"].email not in caplog.text
    assert reads(db_session, "case.viewed") == []
    assert audit.verify_chain()[1] is None


def test_audit_browser_hides_reads_unless_asked(app, db_session, client, login, people, make_case):
    """Does the coordinator's audit browser leave reads out by default, and show them, marked
    "viewed", with "Include views" or when filtering on a read action?"""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])
    assert get(client, f"/cases/{case.reference}").status_code == 200
    assert len(reads(db_session, "case.viewed", case.reference)) == 1
    plain = client.get("/audit").get_data(as_text=True)
    assert "case.viewed" not in plain and "case.submitted" in plain
    for url in ("/audit?reads=1", "/audit?action=case.viewed"):
        html = client.get(url).get_data(as_text=True)
        assert "case.viewed" in html and ">viewed</span>" in html, url
