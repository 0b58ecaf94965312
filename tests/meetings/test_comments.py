"""Comments between meetings: who sees and writes what, mentions, notifications and e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.cases import operations as case_ops
from panel.core.db import utcnow
from panel.core.errors import NotAllowed
from panel.core.mail import send_queued_mail
from panel.core.models import AuditEntry, Job, Notification, OutboxMail
from panel.meetings import comments
from panel.meetings.models import Comment, CommentMention, CommentVisibility
from tests.support.mail import MailGuard
from tests.support.web import free_port, post_form

INTERNAL_TEXT = "Internal view: MIBG avidity makes the theranostic arm worth a look"
SHARED_TEXT = "Shared question: could you upload the latest bone marrow report"


@pytest.fixture
def case(people, make_case):
    return make_case(people["referrer"], submit=True)


@pytest.fixture
def discussion(case, people, db_session):
    """One internal and one shared top-level comment by the NAP coordinator."""
    internal = comments.add_comment(
        case, body=INTERNAL_TEXT, visibility="internal", by=people["nap_coordinator"]
    )
    shared = comments.add_comment(
        case, body=SHARED_TEXT, visibility="shared", by=people["nap_coordinator"]
    )
    db_session.commit()
    return {"internal": internal, "shared": shared}


def _url(case) -> str:
    return f"/cases/{case.reference}/comments"


def _notes(db_session, user, kind=None) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db_session.scalars(stmt))


# --------------------------------------------------------------------------- who sees what
@pytest.mark.parametrize(
    ("who", "page", "sees_internal", "sees_shared"),
    [
        ("referrer", 200, False, True),
        ("nap_member", 200, True, True),
        ("nap_coordinator", 200, True, True),
        ("other_referrer", 404, False, False),
        ("north_coordinator", 404, False, False),
        ("admin", 404, False, False),
    ],
)
def test_who_sees_which_comments(
    app, client, people, case, discussion, login, who, page, sees_internal, sees_shared
):
    """Does the referrer see only shared comments, the panel all of them, and everyone else
    (another panel, another referrer, an admin) nothing at all (404)?"""
    user = people[who]
    texts = [t.comment.body for t in comments.visible_comments(case, user)]
    assert (INTERNAL_TEXT in texts) is sees_internal
    assert (SHARED_TEXT in texts) is sees_shared
    login(client, user)
    resp = client.get(f"/cases/{case.reference}")
    assert resp.status_code == page
    html = resp.get_data(as_text=True)
    assert (INTERNAL_TEXT in html) is sees_internal
    assert (SHARED_TEXT in html) is sees_shared
    if page == 404:
        reply = post_form(
            app, client, _url(case), {"body": "hello", "parent_id": discussion["shared"].id}
        )
        assert reply.status_code == 404


def test_draft_has_no_discussion(app, client, people, make_case, login, db_session):
    """Is there no comment card on a draft, and is a post on it refused?"""
    draft = make_case(people["referrer"])
    login(client, people["referrer"])
    html = client.get(f"/cases/{draft.reference}").get_data(as_text=True)
    assert 'data-testid="comments"' not in html
    assert post_form(app, client, _url(draft), {"body": "hello"}).status_code == 403
    with pytest.raises(NotAllowed):
        comments.add_comment(draft, body="hello", visibility="shared", by=people["referrer"])


def test_withdrawn_case_takes_no_comments(app, client, people, case, discussion, login, db_session):
    """Can the panel still read the discussion of a withdrawn case but no longer add to it?"""
    case_ops.withdraw_case(case, by=people["referrer"])
    db_session.commit()
    login(client, people["nap_member"])
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert SHARED_TEXT in html and 'data-testid="comment-form"' not in html
    assert post_form(app, client, _url(case), {"body": "late thought"}).status_code == 403


def test_panel_member_posts_internal_and_shared(app, client, people, case, login, db_session):
    """Does a member's post land with the chosen visibility, audited without its text, and does
    only the shared one notify the referrer?"""
    login(client, people["nap_member"])
    resp = post_form(
        app, client, _url(case), {"body": "Panel only thought", "visibility": "internal"}
    )
    assert resp.status_code == 302 and "#comment-" in resp.headers["Location"]
    assert _notes(db_session, people["referrer"]) == []
    assert _notes(db_session, people["nap_coordinator"]) == []  # internal: nobody but mentions
    resp = post_form(
        app, client, _url(case), {"body": "Please send the MRI report", "visibility": "shared"}
    )
    assert resp.status_code == 302
    rows = db_session.scalars(
        select(Comment).where(Comment.case_id == case.id).order_by(Comment.id)
    ).all()
    assert [(c.visibility, c.author_id) for c in rows] == [
        (CommentVisibility.INTERNAL, people["nap_member"].id),
        (CommentVisibility.SHARED, people["nap_member"].id),
    ]
    notes = _notes(db_session, people["referrer"], "comment.added")
    assert len(notes) == 1
    assert notes[0].text == f"New comment from the panel on {case.reference}"
    assert notes[0].link == f"/cases/{case.reference}#comments"
    entries = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "comment.added", AuditEntry.object_id == case.reference
        )
    ).all()
    assert [e.details["visibility"] for e in entries] == ["internal", "shared"]
    assert all(
        "Panel only thought" not in str(e.details) and "MRI" not in str(e.details) for e in entries
    )
    assert {e.details["comment_id"] for e in entries} == {c.id for c in rows}


def test_referrer_may_only_reply_to_shared_top_level_comments(
    app, client, people, case, discussion, login, db_session
):
    """Can a referrer reply to a shared comment (telling its author and the coordinators) but not
    start a thread, answer an internal comment (404: they cannot know it) or a reply?"""
    member_shared = comments.add_comment(
        case, body="Is there a recent scan?", visibility="shared", by=people["nap_member"]
    )
    db_session.commit()
    login(client, people["referrer"])
    assert (
        post_form(
            app, client, _url(case), {"body": "New thread", "visibility": "shared"}
        ).status_code
        == 403
    )
    assert (
        post_form(
            app, client, _url(case), {"body": "Peek", "parent_id": discussion["internal"].id}
        ).status_code
        == 404
    )
    assert (
        post_form(app, client, _url(case), {"body": "Reply", "parent_id": 999999}).status_code
        == 404
    )

    resp = post_form(
        app,
        client,
        _url(case),
        {
            "body": "Yes, uploaded this morning",
            "parent_id": member_shared.id,
            "visibility": "internal",
        },
    )
    assert resp.status_code == 302
    reply = db_session.scalar(select(Comment).where(Comment.parent_id == member_shared.id))
    assert reply.visibility == CommentVisibility.SHARED  # a referrer's reply is always shared
    assert reply.author_id == people["referrer"].id
    for who in ("nap_member", "nap_coordinator"):
        notes = _notes(db_session, people[who], "comment.added")
        assert [n.text for n in notes] == [f"New reply from the referrer on {case.reference}"], who
    assert all(
        "reply" not in n.text for n in _notes(db_session, people["referrer"])
    )  # not for their own reply

    # A reply to a reply is refused (threads are one level deep), nothing saved.
    resp = post_form(app, client, _url(case), {"body": "And another", "parent_id": reply.id})
    assert resp.status_code == 422
    assert "first comment of the thread" in resp.get_data(as_text=True)
    assert db_session.scalar(select(Comment).where(Comment.parent_id == reply.id)) is None

    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Yes, uploaded this morning" in html and INTERNAL_TEXT not in html


def test_panel_reply_takes_the_thread_visibility(people, case, discussion, db_session):
    """Does a panel member's reply in an internal thread stay internal even if 'shared' is asked?"""
    reply = comments.add_comment(
        case,
        body="Agreed",
        visibility="shared",
        by=people["nap_member"],
        parent=discussion["internal"],
    )
    assert reply.visibility == CommentVisibility.INTERNAL
    assert comments.visible_comments(case, people["referrer"])[0].replies == []
    threads = comments.visible_comments(case, people["nap_member"])
    assert [len(t.replies) for t in threads] == [1, 0]


# --------------------------------------------------------------------------- mentions
@pytest.fixture
def named(make_user):
    return {
        "ada": make_user(
            email="ada.lovelace@nhs.example", name="Dr Ada Lovelace", roles=[("NAP", "member")]
        ),
        "grace": make_user(
            email="grace.hopper@nhs.example", name="Dr Grace Hopper", referrer_at="NEWCASTLE"
        ),
        "outsider": make_user(
            email="alan.turing@nhs.example", name="Dr Alan Turing", roles=[("ECMC-NORTH", "member")]
        ),
    }


def test_mentions_notify_only_people_who_can_read_the_comment(
    app, client, people, named, make_case, login, db_session
):
    """Does an internal mention notify a panel member but not the referrer (who cannot read it)
    nor someone from another panel; and does a shared mention reach the referrer once?"""
    case = make_case(named["grace"], submit=True)
    login(client, people["nap_coordinator"])
    body = "@ada.lovelace and @grace.hopper, thoughts?\n@alan.turing"
    assert (
        post_form(app, client, _url(case), {"body": body, "visibility": "internal"}).status_code
        == 302
    )
    comment = db_session.scalar(select(Comment).where(Comment.case_id == case.id))
    assert comment.body == body
    assert [m.user_id for m in db_session.scalars(select(CommentMention))] == [named["ada"].id]
    ada = _notes(db_session, named["ada"])
    assert [(n.kind, n.text, n.link) for n in ada] == [
        (
            "comment.mention",
            f"You were mentioned on {case.reference}",
            f"/cases/{case.reference}#comments",
        )
    ]
    assert _notes(db_session, named["grace"]) == []
    assert _notes(db_session, named["outsider"]) == []

    # Shared: the referrer is mentionable; one notification (the mention), not two.
    resp = post_form(
        app,
        client,
        _url(case),
        {"body": "@grace.hopper could you add the MYCN result?", "visibility": "shared"},
    )
    assert resp.status_code == 302
    assert [n.kind for n in _notes(db_session, named["grace"])] == ["comment.mention"]

    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'title="Dr Ada Lovelace">@ada.lovelace</span>' in html
    assert "@grace.hopper</span> and" not in html  # not resolved in the internal comment
    assert "@alan.turing" in html
    # The form lists who can be mentioned, with handles.
    assert 'data-mention="ada.lovelace"' in html and "Dr Ada Lovelace" in html
    assert 'data-mention="alan.turing"' not in html


def test_ambiguous_handles_need_the_full_address(people, make_user, case, db_session):
    """When two mentionable people share a local part, is the handle the full address?"""
    a = make_user(email="sam.lee@nhs.example", roles=[("NAP", "member")])
    b = make_user(email="sam.lee@other.example", roles=[("NAP", "chair")], totp=False)
    handles = {u.id: h for u, h in comments.mentionable(case, "internal")}
    assert handles[a.id] == "sam.lee@nhs.example" and handles[b.id] == "sam.lee@other.example"
    c = comments.add_comment(
        case,
        body="@sam.lee@other.example please chair. @sam.lee?",
        visibility="internal",
        by=people["nap_coordinator"],
    )
    assert [m.user_id for m in c.mentions] == [b.id]


def test_comment_bodies_render_inertly(app, client, people, case, login, db_session, named):
    """Is markup in a comment shown as text, with its line breaks kept?"""
    comments.add_comment(
        case,
        body="<script>alert(1)</script> {{ 7*7 }}\nsecond line @ada.lovelace",
        visibility="internal",
        by=people["nap_member"],
    )
    db_session.commit()
    login(client, people["nap_coordinator"])
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}\nsecond line <span" in html
    assert "<script>alert(1)" not in html


# --------------------------------------------------------------------------- bad input
def test_unknown_handle_is_refused_with_a_clear_message(
    app, client, people, case, login, db_session
):
    """Is an @handle that is nobody on Panel (it could be a family's social-media account)
    refused with a message about mentions, and the text kept?"""
    login(client, people["nap_member"])
    resp = post_form(app, client, _url(case), {"body": "see @sunny.days.mum for the updates"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "@sunny.days.mum is not anyone on Panel" in html
    assert ">see @sunny.days.mum for the updates</textarea>" in html
    assert db_session.scalar(select(Comment)) is None


def test_identifier_is_refused_and_the_text_kept(app, client, people, case, login, db_session):
    """Is a comment with an NHS number refused with a clear message, nothing saved or sent, and
    the text shown again for correction?"""
    login(client, people["nap_member"])
    body = "Her NHS number is 943 476 5919, please check"
    resp = post_form(app, client, _url(case), {"body": body, "visibility": "shared"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert (
        "Comment not posted: the text looks like it contains a patient identifier (NHS number). "
        "Remove it and post again." in html
    )
    assert f">{body}</textarea>" in html
    assert 'id="vis-shared" value="shared" checked' in html
    assert db_session.scalar(select(Comment)) is None
    assert db_session.scalar(select(OutboxMail)) is None
    assert _notes(db_session, people["referrer"]) == []
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "comment.added")) is None


@pytest.mark.parametrize(
    ("body", "message"), [("   ", "Write a comment first"), ("x" * 5001, "at most 5000 characters")]
)
def test_empty_and_too_long_comments(app, client, people, case, login, db_session, body, message):
    login(client, people["nap_member"])
    resp = post_form(app, client, _url(case), {"body": body})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert db_session.scalar(select(Comment)) is None


def test_comment_card_query_count_does_not_grow(
    app, client, people, case, login, db_session, count_queries
):
    """Does the case page cost the same number of queries with 2 or 12 comments?"""
    login(client, people["nap_coordinator"])

    def page_queries():
        with count_queries() as n:
            assert client.get(f"/cases/{case.reference}").status_code == 200
        return n.count

    for i in range(2):
        c = comments.add_comment(
            case, body=f"Thought {i} @user5", visibility="shared", by=people["nap_member"]
        )
        comments.add_comment(
            case, body="reply", visibility="shared", by=people["referrer"], parent=c
        )
    db_session.commit()
    few = page_queries()
    for i in range(10):
        comments.add_comment(case, body=f"More {i}", visibility="internal", by=people["nap_member"])
    db_session.commit()
    assert page_queries() == few


# --------------------------------------------------------------------------- e-mail
@pytest.fixture
def smtp_config(app):
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}

    def configure(port):
        app.config["SMTP_HOST"] = "127.0.0.1"
        app.config["SMTP_PORT"] = port

    yield configure
    app.config.update(saved)


def test_shared_comment_sends_an_email_without_clinical_text(
    app, client, people, case, login, db_session, smtp_server, smtp_config
):
    """Does the referrer get a real e-mail, sent by its job once the comment has committed,
    with the reference and a link but not the comment's text?"""
    smtp_config(smtp_server.port)
    login(client, people["nap_member"])
    resp = post_form(app, client, _url(case), {"body": SHARED_TEXT, "visibility": "shared"})
    assert resp.status_code == 302
    resp.close()
    # The tests run jobs as soon as the commit returns; in production a worker sends it.
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == people["referrer"].email
    assert case.reference in msg["Subject"]
    text = msg.get_payload(decode=True).decode()
    assert case.reference in text
    assert f"https://panel.test.example/cases/{case.reference}#comments" in text
    assert "bone marrow" not in text and "bone marrow" not in msg["Subject"]
    db_session.expire_all()
    sent = db_session.scalar(select(OutboxMail))
    assert sent.sent_at is not None
    job = db_session.scalar(select(Job).where(Job.kind == "mail.send").order_by(Job.id.desc()))
    assert job.payload == {"outbox_id": sent.id} and job.result == {"outcome": "sent"}


def test_mail_server_down_does_not_break_the_comment(
    app, client, people, case, login, db_session, smtp_server, smtp_config
):
    """With the mail server unreachable, is the comment still saved, the failure kept in the
    outbox with its error and a later retry time, and is it delivered once the server is back?"""
    closed = free_port()
    MailGuard.allowed.add(("127.0.0.1", closed))
    try:
        smtp_config(closed)
        login(client, people["nap_member"])
        resp = post_form(app, client, _url(case), {"body": SHARED_TEXT, "visibility": "shared"})
        assert resp.status_code == 302
        resp.close()
    finally:
        MailGuard.allowed.discard(("127.0.0.1", closed))
    db_session.expire_all()
    assert db_session.scalar(select(Comment)).body == SHARED_TEXT
    mail = db_session.scalar(select(OutboxMail))
    assert mail.sent_at is None and mail.attempts == 1
    assert mail.last_error and "Connection" in mail.last_error
    assert mail.next_attempt_at > utcnow()
    assert smtp_server.messages == []

    smtp_config(smtp_server.port)
    assert send_queued_mail() == (0, 0)  # not due yet
    mail.next_attempt_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert send_queued_mail() == (1, 0)
    assert (
        len(smtp_server.messages) == 1 and smtp_server.messages[0]["To"] == people["referrer"].email
    )
    db_session.refresh(mail)
    assert mail.sent_at is not None and mail.last_error is None and mail.attempts == 2
