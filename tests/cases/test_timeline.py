"""The case timeline: what the operations write, who reads which entry (``events_for``), and
the case page's timeline card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.cases import operations as ops
from panel.cases.models import Case, CaseEvent
from panel.cases.timeline import PANEL_ONLY, events_for, record_event
from tests.support.factories import example
from tests.support.web import post_form

QUESTION_1 = "Bone marrow result at relapse?"
QUESTION_2 = "Current Lansky score?"
REPLY = "Marrow 10% infiltrated at relapse; Lansky 70."


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "nap_member": make_user(roles=[("NAP", "member")], name="Nap Member"),
        "nap_chair": make_user(roles=[("NAP", "chair")], name="Nap Chair"),
        "nap_coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "north_coordinator": make_user(roles=[("ECMC-NORTH", "coordinator")]),
        "admin": make_user(admin=True, name="Plain Admin"),
        "admin_member": make_user(admin=True, roles=[("NAP", "member")], name="Admin Member"),
    }


@pytest.fixture
def answered(people, db_session):
    """A NAP case: submitted, questions asked, the referrer's reply, a changed referral
    resubmitted."""
    owner, coordinator = people["owner"], people["nap_coordinator"]
    case = ops.create_case(example(), by=owner).case
    ops.submit_case(case, by=owner)
    ops.request_information(case, by=coordinator, questions=[QUESTION_1, " ", QUESTION_2])
    ops.respond_to_information_request(case, REPLY, by=owner)
    doc = ops.to_document(case)
    doc["clinical_question"] = "Is a trial of lorlatinib an option after relapse?"
    ops.update_case(case, doc, by=owner, expected_version=None)
    ops.submit_case(case, by=owner)
    db_session.commit()
    return case


def _kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_the_operations_write_the_timeline(people, answered, db_session):
    """Do submission, the information request, the reply and the resubmission each leave an
    entry, with the kinds, texts, details and audiences the workflow will write too?"""
    events = db_session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == answered.id).order_by(CaseEvent.id)
    ).all()
    assert _kinds(events) == [
        "submitted",
        "information_requested",
        "information_answered",
        "resubmitted",
    ]
    submitted, requested, replied, resubmitted = events
    request = answered.information_requests[0]
    assert submitted.details == {"revision": 1} and submitted.audiences == {
        "referrer",
        "panel",
        "coordinator",
    }
    assert submitted.by_id == people["owner"].id
    assert requested.text == f"{QUESTION_1}\n{QUESTION_2}"
    assert requested.details == {"request": request.id, "questions": [QUESTION_1, QUESTION_2]}
    assert requested.audiences == {"referrer", "coordinator"}
    assert requested.by_id == people["nap_coordinator"].id
    assert replied.text == REPLY and replied.details == {"request": request.id}
    assert replied.audiences == {"referrer", "coordinator"}
    assert set(resubmitted.details) == {"revision"} and resubmitted.details["revision"] > 1
    # The request is closed by the resubmission, and its reply is kept.
    assert request.answered_at is not None and request.response == REPLY


def test_a_refused_reply_writes_no_entry(people, db_session, make_case):
    """Does a reply refused for an identifier leave no timeline entry?"""
    from panel.core.errors import IdentifiersFound

    case = make_case(people["owner"], submit=True)
    ops.request_information(case, by=people["nap_coordinator"], questions=[QUESTION_1])
    db_session.commit()
    with pytest.raises(IdentifiersFound):
        ops.respond_to_information_request(
            case, "Her NHS number is 943 476 5919", by=people["owner"]
        )
    db_session.rollback()
    assert "information_answered" not in _kinds(
        db_session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
    )


def test_each_role_reads_only_its_entries(people, answered, db_session):
    """Does the referrer and the coordinator read the request and reply, a member or chair of
    the panel neither (but a panel-only entry), and an admin, another referrer or another
    panel's coordinator nothing at all?"""
    record_event(answered, "discussed", by=people["nap_coordinator"], audience=PANEL_ONLY)
    db_session.commit()
    everything = [
        "submitted",
        "information_requested",
        "information_answered",
        "resubmitted",
        "discussed",
    ]
    seen = {who: _kinds(events_for(answered, user)) for who, user in people.items()}
    assert seen["owner"] == everything[:4]
    assert seen["nap_coordinator"] == everything
    assert seen["nap_member"] == ["submitted", "resubmitted", "discussed"]
    assert seen["nap_chair"] == ["submitted", "resubmitted", "discussed"]
    assert seen["admin_member"] == ["submitted", "resubmitted", "discussed"]
    assert seen["admin"] == []
    assert seen["other_referrer"] == []
    assert seen["north_coordinator"] == []


def test_a_draft_has_no_timeline_for_the_panel(people, db_session, make_case):
    """A draft's entries (if any) are its referrers' alone: the panel has no audience yet."""
    case = make_case(people["owner"])
    record_event(case, "created", by=people["owner"])
    db_session.commit()
    assert _kinds(events_for(case, people["owner"])) == ["created"]
    assert events_for(case, people["nap_coordinator"]) == []
    assert events_for(case, people["nap_member"]) == []


def test_events_for_is_one_query(people, answered, db_session, count_queries):
    """Does reading the timeline cost one query, with who wrote each entry (no N+1)?"""
    for i in range(6):
        record_event(answered, f"note_{i}", by=people["nap_chair"] if i % 2 else people["owner"])
    db_session.commit()
    db_session.expire_all()
    case = db_session.get(Case, answered.id)
    coordinator = people["nap_coordinator"]
    case.panel_roles(coordinator), case.is_referrer(coordinator)  # roles and co-referrers loaded
    with count_queries() as counted:
        events = events_for(case, coordinator)
        names = {e.by.name for e in events}
    assert names == {"Dr Owner", "Nap Coordinator", "Nap Chair"}
    assert len(counted.statements) <= 2, counted.statements  # the entries (+ their users' roles)


def _page(app, login, user, case) -> str:
    client = app.test_client()
    login(client, user)
    resp = client.get(f"/cases/{case.reference}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _timeline(html: str) -> str:
    start = html.index('data-testid="timeline"')
    return html[start : html.index("</section>", start)]


def test_coordinator_sees_the_request_and_reply_after_resubmission(app, people, answered, login):
    """Once the referrer has resubmitted, does the coordinator still read the questions and the
    referrer's reply on the case page (the open-request card is gone), with what changed?"""
    html = _page(app, login, people["nap_coordinator"], answered)
    assert 'data-testid="information-request"' not in html  # the request is closed
    timeline = _timeline(html)
    assert timeline.count('data-testid="timeline-entry"') == 4
    for kind in ("submitted", "information_requested", "information_answered", "resubmitted"):
        assert f'data-kind="{kind}"' in timeline
    assert QUESTION_1 in timeline and QUESTION_2 in timeline
    assert "Marrow 10% infiltrated at relapse; Lansky 70." in timeline
    assert "Information requested" in timeline and "Referrer&#39;s reply" in timeline
    assert "Nap Coordinator" in timeline and "Dr Owner" in timeline
    assert "Referrer and coordinators" in timeline  # who read the exchange
    diff = timeline[timeline.index('data-testid="timeline-diff"') :]
    assert "Is a trial of lorlatinib an option after relapse?" in diff
    assert "1 field" in diff


def test_referrer_sees_the_same_exchange(app, people, answered, login):
    timeline = _timeline(_page(app, login, people["owner"], answered))
    assert QUESTION_1 in timeline and REPLY in timeline
    assert 'data-testid="timeline-diff"' in timeline


def test_member_sees_neither_request_nor_reply_nor_old_versions(app, people, answered, login):
    """Does a panel member's timeline leave out the referrer-coordinator exchange and the
    earlier versions (members do not see revisions)?"""
    html = _page(app, login, people["nap_member"], answered)
    timeline = _timeline(html)
    assert timeline.count('data-testid="timeline-entry"') == 2
    assert QUESTION_1 not in html and "Marrow 10% infiltrated" not in html
    assert 'data-kind="information_requested"' not in timeline
    assert 'data-testid="timeline-diff"' not in timeline


def test_admin_member_page_shows_the_panel_entries_only(app, people, answered, login):
    """An admin who is also a member reads the case as a member: no exchange."""
    html = _page(app, login, people["admin_member"], answered)
    assert QUESTION_1 not in html and "Marrow 10% infiltrated" not in html
    assert _timeline(html).count('data-testid="timeline-entry"') == 2


def test_admin_has_no_timeline(app, people, answered, login):
    from panel.cases.timeline_panel import case_timeline

    assert case_timeline(answered, people["admin"]) is None
    client = app.test_client()
    login(client, people["admin"])
    assert client.get(f"/cases/{answered.reference}").status_code == 404


def test_every_kind_renders_and_unknown_kinds_are_readable(
    app, people, answered, login, db_session
):
    """Does the card render the later kinds (with their text and a letter's version), and an
    unknown kind from its name, without breaking?"""
    from panel.cases.timeline_panel import KINDS

    coordinator = people["nap_coordinator"]
    for kind in KINDS:
        record_event(answered, kind, by=coordinator, text=f"text of {kind}")
    record_event(answered, "letter_sent", by=coordinator, details={"version": 3})
    record_event(answered, "something_new_happened", by=None, text="A new thing.")
    db_session.commit()
    timeline = _timeline(_page(app, login, coordinator, answered))
    assert "text of outcome_recorded" in timeline and "Outcome recorded" in timeline
    assert "Letter sent" in timeline and "version 3" in timeline
    assert "Something new happened" in timeline and "A new thing." in timeline


def test_draft_timeline_is_empty_for_its_referrer(app, people, login, db_session, make_case):
    case = make_case(people["owner"])
    html = _timeline(_page(app, login, people["owner"], case))
    assert "The timeline starts when you submit the referral." in html


def test_the_reply_posted_in_the_browser_reaches_the_timeline(
    app, client, people, login, db_session, make_case
):
    """Through the case page's form: the reply is on the timeline, and stays after resubmission."""
    case = make_case(people["owner"], submit=True)
    ops.request_information(case, by=people["nap_coordinator"], questions=[QUESTION_1])
    db_session.commit()
    login(client, people["owner"])
    resp = post_form(
        app, client, f"/cases/{case.reference}/information-response", {"response": REPLY}
    )
    assert resp.status_code == 302
    db_session.expire_all()
    case = db_session.get(Case, case.id)
    ops.submit_case(case, by=people["owner"])
    db_session.commit()
    timeline = _timeline(_page(app, login, people["nap_coordinator"], case))
    assert REPLY in timeline and "In reply to the questions of" in timeline
