"""Follow-up outcome checks: made when feedback is sent, reminded once when due, answered (or
corrected) on the outcome form by the referrers or the panel's coordinators, and shown on the
case page and the referrer's home page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from panel.cases.models import CaseEvent, CaseReferrer, CaseStatus
from panel.core.db import utcnow
from panel.core.errors import Conflict, NotAllowed, Refused
from panel.core.models import AuditEntry, Notification, OutboxMail
from panel.outcomes import checks
from panel.outcomes.models import OutcomeCheck
from tests.support.outcome_checks import answers, approved_record, checks_of, mark_sent
from tests.support.web import post_form


@pytest.fixture
def cast(people, make_user):
    """``people`` plus a co-referrer, a NAP chair; ``referrer`` owns the case."""
    return {
        **people,
        "co_referrer": make_user(referrer_at="NEWCASTLE", name="Dr Co Referrer"),
        "chair": make_user(roles=[("NAP", "chair")], name="Dr Chair"),
    }


@pytest.fixture
def case(cast, make_case, db_session):
    """The ALK example submitted to NAP by ``referrer`` with ``co_referrer`` named."""
    case = make_case(cast["referrer"], submit=True)
    db_session.add(CaseReferrer(case_id=case.id, user_id=cast["co_referrer"].id))
    db_session.commit()
    return case


@pytest.fixture
def sent(case, db_session):
    """``case`` sent 100 days ago: its 3-month check is due, the 6- and 12-month are not."""
    return mark_sent(db_session, case)


def _audit(db_session, case, prefix: str = "outcome_check.") -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == case.reference, AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
    )


def _mails_to(db_session, user) -> list[OutboxMail]:
    return list(db_session.scalars(select(OutboxMail).where(OutboxMail.to_addr == user.email)))


def _remind(app, now: datetime | None = None):
    args = ["send-outcome-reminders"]
    if now is not None:
        args += ["--now", now.isoformat()]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


# --------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("sent", "months", "due"),
    [
        (datetime(2026, 1, 15, 9, 30, tzinfo=UTC), 3, datetime(2026, 4, 15, 9, 30, tzinfo=UTC)),
        (datetime(2026, 8, 31, 12, tzinfo=UTC), 6, datetime(2027, 2, 28, 12, tzinfo=UTC)),
        (datetime(2027, 11, 30, tzinfo=UTC), 3, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 5, tzinfo=UTC), 12, datetime(2027, 12, 5, tzinfo=UTC)),
    ],
)
def test_due_dates_are_calendar_months_after_sending(sent, months, due):
    """Is a check due the same day of the month (or the month's last day) N months later?"""
    assert checks.add_months(sent, months) == due


# --------------------------------------------------------------------------- sending
def test_sending_feedback_makes_the_three_checks_once(cast, case, db_session):
    """Does sending the feedback (the real operation) make the 3-, 6- and 12-month checks,
    due that many calendar months after the sending, audited; and does scheduling again (the
    backfill) make none more?"""
    from panel.feedback import sending

    rec = approved_record(db_session, case, cast["nap_coordinator"], cast["chair"])
    assert checks_of(db_session, case) == {}
    sending.send_feedback(rec, by=cast["nap_coordinator"])
    db_session.commit()
    made = checks_of(db_session, case)
    sent_at = db_session.get(type(case), case.id).feedback_sent_at
    assert sorted(made) == [3, 6, 12]
    for months, check in made.items():
        assert check.due_at == checks.add_months(sent_at, months)
        assert check.reminded_at is None and check.answered_at is None
    assert _audit(db_session, case, "outcome_checks.") == ["outcome_checks.scheduled"]
    assert checks.schedule_checks(case) == [] and checks.backfill_checks() == []
    assert len(checks_of(db_session, case)) == 3


def test_a_refused_or_rolled_back_send_makes_no_check(cast, case, db_session):
    """Does a send that is refused (record not approved) or rolled back leave no check?"""
    from panel.feedback import operations, sending

    discussed_case_rec = approved_record(db_session, case, cast["nap_coordinator"], cast["chair"])
    with pytest.raises(NotAllowed):
        sending.send_feedback(discussed_case_rec, by=cast["nap_member"])
    db_session.rollback()
    assert checks_of(db_session, case) == {}
    sending.send_feedback(discussed_case_rec, by=cast["nap_coordinator"])
    assert (
        len(db_session.scalars(select(OutcomeCheck).where(OutcomeCheck.case_id == case.id)).all())
        == 3
    )
    db_session.rollback()
    assert checks_of(db_session, case) == {}
    assert db_session.get(type(case), case.id).status == CaseStatus.RECOMMENDATION
    assert operations  # the record's operations stay importable beside sending


# --------------------------------------------------------------------------- reminders
def test_reminder_tells_the_referrers_of_due_checks_once(app, cast, sent, db_session):
    """Does the reminder command tell the owner and the co-referrer (bell + e-mail with a link
    to the form and no clinical text) about the due 3-month check only, set reminded_at, audit
    it and put it on the timeline; and does a second run send nothing?"""
    output = _remind(app)
    assert "1 outcome reminder(s) sent to 2 person(s)" in output and sent.reference in output
    found = checks_of(db_session, sent)
    assert found[3].reminded_at is not None
    assert found[6].reminded_at is None and found[12].reminded_at is None
    for who in ("referrer", "co_referrer"):
        mails = _mails_to(db_session, cast[who])
        assert len(mails) == 1
        body = mails[0].subject + mails[0].body
        assert sent.reference in body and f"/cases/{sent.reference}/outcome/3" in body
        assert body.startswith("[Panel]") and "http" in body
        for clinical in ("ALK", "neuroblastoma", "relapse", "progress", "respon", "trial"):
            assert clinical.lower() not in body.lower(), clinical
        bells = db_session.scalars(
            select(Notification).where(
                Notification.user_id == cast[who].id, Notification.kind == "outcome_check.due"
            )
        ).all()
        assert len(bells) == 1 and bells[0].link == f"/cases/{sent.reference}/outcome/3"
    assert not _mails_to(db_session, cast["nap_coordinator"])
    assert _audit(db_session, sent) == ["outcome_check.reminded"]
    kinds = db_session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == sent.id)).all()
    assert kinds.count("outcome_check_reminded") == 1

    again = _remind(app)
    assert "0 outcome reminder(s)" in again
    assert len(_mails_to(db_session, cast["referrer"])) == 1
    assert _audit(db_session, sent) == ["outcome_check.reminded"]


def test_reminder_leaves_checks_not_due_answered_or_withdrawn(
    app, cast, make_case, sent, db_session
):
    """Are checks not yet due, already answered, or of a withdrawn case left alone; and does
    ``--now`` reach the later checks?"""
    checks.answer_check(checks_of(db_session, sent)[3], answers(), by=cast["referrer"])
    withdrawn = mark_sent(db_session, make_case(cast["referrer"], submit=True))
    withdrawn.status = CaseStatus.WITHDRAWN
    db_session.commit()
    assert "0 outcome reminder(s)" in _remind(app)
    assert all(c.reminded_at is None for c in checks_of(db_session, sent).values())
    assert all(c.reminded_at is None for c in checks_of(db_session, withdrawn).values())

    later = sent.feedback_sent_at + timedelta(days=200)
    output = _remind(app, later)
    assert f"{sent.reference} (6 months)" in output and "12 months" not in output
    found = checks_of(db_session, sent)
    assert found[6].reminded_at == later and found[12].reminded_at is None
    assert found[3].reminded_at is None  # answered before it was ever reminded
    assert all(c.reminded_at is None for c in checks_of(db_session, withdrawn).values())


def test_a_claimed_check_is_never_reminded_twice(app, cast, sent, db_session):
    """Of two runs that both saw the check due, does only the first claim it (the conditional
    UPDATE on reminded_at IS NULL), so the second sends nothing?"""
    now = utcnow()
    due = checks.reminders_due(now)
    assert due == [checks_of(db_session, sent)[3].id]
    assert checks.remind(due[0], now=now) == 2
    assert checks.remind(due[0], now=now) is None  # the second run's claim finds it taken
    db_session.commit()
    assert len(_mails_to(db_session, cast["referrer"])) == 1


def test_reminder_backfills_cases_sent_before(app, cast, case, db_session):
    """Does the reminder command make the checks of a case sent before checks existed (and
    then remind its due one)?"""
    mark_sent(db_session, case, schedule=False)
    assert checks_of(db_session, case) == {}
    output = _remind(app)
    assert f"Checks made for 1 case(s) sent before: {case.reference}" in output
    found = checks_of(db_session, case)
    assert sorted(found) == [3, 6, 12] and found[3].reminded_at is not None


def test_reminder_refuses_a_bad_now(app):
    result = app.test_cli_runner().invoke(args=["send-outcome-reminders", "--now", "soon"])
    assert result.exit_code != 0 and "ISO" in result.output


# --------------------------------------------------------------------------- the rules
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("referrer", True),
        ("co_referrer", True),
        ("nap_coordinator", True),
        ("other_referrer", False),
        ("north_coordinator", False),
        ("nap_member", False),
        ("chair", False),
        ("admin", False),
    ],
)
def test_who_may_answer(cast, case, db_session, who, allowed):
    """Do only the case's referrers and its panel's coordinators answer, and only once the
    feedback was sent and the check is due?"""
    user = cast[who]
    assert not case.can_answer_outcome_check(user)  # not sent yet
    mark_sent(db_session, case)
    found = checks_of(db_session, case)
    assert case.can_answer_outcome_check(user) is allowed
    assert found[3].can_answer(user) is allowed
    assert not found[6].can_answer(user)  # not due
    problem = found[6].refusal(user)
    assert isinstance(problem, Conflict if allowed else NotAllowed)
    if not allowed:
        with pytest.raises(NotAllowed):
            checks.answer_check(found[3], answers(), by=user)
    case.status = CaseStatus.WITHDRAWN
    assert not case.can_answer_outcome_check(user)


def test_answer_checks_values_and_the_reason(cast, sent, db_session):
    """Does the operation refuse values outside the sets, a missing "why" for partly/no, and
    an identifier in the "why"; and take "yes" without a reason?"""
    check = checks_of(db_session, sent)[3]
    referrer = cast["referrer"]
    for bad, field in [
        (answers(disease_status="cured"), "disease_status"),
        (answers(disease_status=["stable"]), "disease_status"),
        (answers(response=""), "response"),
        (answers(advice_followed="maybe"), "advice_followed"),
        (answers(advice_followed="no", advice_note="  "), "advice_note"),
        (answers(advice_note="Seen by Dr Smith, NHS number 943 476 5919."), "advice_note"),
    ]:
        with pytest.raises(Refused) as exc:
            checks.answer_check(check, bad, by=referrer)
        assert exc.value.field == field
        db_session.rollback()
        check = checks_of(db_session, sent)[3]
    assert not check.is_answered
    checks.answer_check(check, answers(advice_followed="yes", advice_note=""), by=referrer)
    db_session.commit()
    assert checks_of(db_session, sent)[3].advice_followed == "yes"


# --------------------------------------------------------------------------- the form
def _form_url(case, months: int = 3) -> str:
    return f"/cases/{case.reference}/outcome/{months}"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("referrer", 200),
        ("co_referrer", 200),
        ("nap_coordinator", 200),
        ("other_referrer", 404),
        ("north_coordinator", 404),
        ("admin", 404),
        ("nap_member", 403),
        ("chair", 403),
    ],
)
def test_form_access_by_role(app, client, login, cast, sent, db_session, who, status):
    """Who reaches the form (GET) and who is refused, and does a refused POST change
    nothing?"""
    login(client, cast[who])
    assert client.get(_form_url(sent)).status_code == status
    resp = post_form(app, client, _form_url(sent), answers())
    assert resp.status_code == (302 if status == 200 else status)
    assert checks_of(db_session, sent)[3].is_answered is (status == 200)


def test_the_family_and_anonymous_visitors_are_sent_to_sign_in(app, client, cast, sent, db_session):
    """The family has no account: with its access code entered (a family session) the form,
    the API and the case page are still behind the sign-in, and nothing is saved."""
    from panel.feedback import family

    _, plain = family.create_code(sent, by=cast["referrer"])
    db_session.commit()
    resp = client.get(_form_url(sent))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert post_form(app, client, "/family", {"code": plain}).status_code == 302
    assert client.get("/family/letter").status_code == 200  # the family session is open
    for url in (_form_url(sent), f"/cases/{sent.reference}"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
    resp = post_form(app, client, _form_url(sent), answers())
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get(f"/api/v1/cases/{sent.reference}/outcome-checks").status_code == 401
    assert not checks_of(db_session, sent)[3].is_answered


def test_referrer_answers_on_the_form(app, client, login, cast, sent, db_session):
    """Does a valid answer save, audit (clinical), add a timeline entry, tell the coordinators
    by bell only (no clinical text, no e-mail) and show on the case page?"""
    login(client, cast["referrer"])
    page = client.get(_form_url(sent)).get_data(as_text=True)
    assert 'name="csrf_token"' in page and "Was the panel&#39;s advice followed?" in page
    resp = post_form(app, client, _form_url(sent), answers())
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#outcome-checks")
    check = checks_of(db_session, sent)[3]
    assert check.is_answered and check.answered_by_id == cast["referrer"].id
    assert (check.disease_status, check.response, check.advice_followed) == (
        "responding",
        "PR",
        "partly",
    )
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "outcome_check.answered")
    )
    assert entry.clinical and entry.details["months"] == 3
    assert entry.details["on_behalf_of_referrer"] is False
    assert db_session.scalar(
        select(CaseEvent).where(
            CaseEvent.case_id == sent.id, CaseEvent.kind == "outcome_check_answered"
        )
    )
    bell = db_session.scalar(
        select(Notification).where(
            Notification.user_id == cast["nap_coordinator"].id,
            Notification.kind == "outcome_check.answered",
        )
    )
    assert bell is not None and sent.reference in bell.text
    assert "Partial" not in bell.text and "partly" not in bell.text
    assert not _mails_to(db_session, cast["nap_coordinator"])
    card = client.get(f"/cases/{sent.reference}").get_data(as_text=True)
    assert 'data-testid="outcome-checks"' in card and "Partial response" in card


def test_form_errors_are_shown_and_nothing_is_saved(app, client, login, cast, sent, db_session):
    """Missing choices, a missing "why" for "no", and an identifier in the "why": 422 with the
    error beside the field, nothing saved."""
    login(client, cast["referrer"])
    resp = post_form(app, client, _form_url(sent), {"advice_note": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Choose the current status." in page and "Say whether the advice was followed." in page
    resp = post_form(app, client, _form_url(sent), answers(advice_followed="no", advice_note=""))
    assert resp.status_code == 422 and "Say why the advice was not followed." in resp.get_data(
        as_text=True
    )
    resp = post_form(
        app,
        client,
        _form_url(sent),
        answers(advice_note="Family of Jane Smith, NHS number 943 476 5919, declined."),
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Not saved" in page
    assert not checks_of(db_session, sent)[3].is_answered


def test_a_check_not_yet_due_cannot_be_answered(app, client, login, cast, sent, db_session):
    """Does the 6-month check (not due) show when it opens, and refuse a POST (409)?"""
    login(client, cast["referrer"])
    page = client.get(_form_url(sent, 6)).get_data(as_text=True)
    assert 'data-testid="outcome-check-blocked"' in page and "not due yet" in page
    assert post_form(app, client, _form_url(sent, 6), answers()).status_code == 409
    assert client.get(_form_url(sent, 5)).status_code == 404
    assert not checks_of(db_session, sent)[6].is_answered


def test_coordinator_records_on_behalf_and_a_stale_correction_conflicts(
    app, client, login, cast, sent, db_session
):
    """Does a coordinator's answer say "on the referrer's behalf" (audited as the
    coordinator); can the referrer correct it with the version read; and is a correction from
    an older version refused (409) without changing anything?"""
    login(client, cast["nap_coordinator"])
    page = client.get(_form_url(sent)).get_data(as_text=True)
    assert 'data-testid="outcome-check-on-behalf"' in page
    assert post_form(app, client, _form_url(sent), answers()).status_code == 302
    entry = db_session.scalar(
        select(AuditEntry).where(AuditEntry.action == "outcome_check.answered")
    )
    assert entry.actor_id == cast["nap_coordinator"].id
    assert entry.details["on_behalf_of_referrer"] is True
    stale_version = checks_of(db_session, sent)[3].version

    referrer = app.test_client()
    login(referrer, cast["referrer"])
    prefilled = referrer.get(_form_url(sent)).get_data(as_text=True)
    assert re.search(
        r'<option (selected value="responding"|value="responding" selected)', prefilled
    )
    resp = post_form(
        app, referrer, _form_url(sent), answers(response="CR", version=str(stale_version))
    )
    assert resp.status_code == 302
    check = checks_of(db_session, sent)[3]
    assert check.response == "CR" and check.version == stale_version + 1
    assert _audit(db_session, sent) == ["outcome_check.answered", "outcome_check.corrected"]

    resp = post_form(
        app, client, _form_url(sent), answers(response="PD", version=str(stale_version))
    )
    assert resp.status_code == 409 and "Someone else saved" in resp.get_data(as_text=True)
    assert checks_of(db_session, sent)[3].response == "CR"


def test_correction_through_the_operation_checks_the_version(cast, sent, db_session):
    check = checks_of(db_session, sent)[3]
    checks.answer_check(check, answers(), by=cast["referrer"], expected_version=check.version)
    db_session.commit()
    with pytest.raises(Conflict):
        checks.answer_check(check, answers(response="CR"), by=cast["referrer"], expected_version=1)


# --------------------------------------------------------------------------- pages
def test_home_page_lists_outcome_forms_due_to_the_referrers(
    app, client, login, cast, sent, db_session
):
    """Does the referrer's home page list the due check (not the later ones), and drop it once
    answered; does a coordinator's home page not have the list?"""
    login(client, cast["co_referrer"])
    page = client.get("/").get_data(as_text=True)
    assert "Outcome forms due" in page and page.count('data-testid="home-outcome-check"') == 1
    assert _form_url(sent) in page and _form_url(sent, 6) not in page
    checks.answer_check(checks_of(db_session, sent)[3], answers(), by=cast["referrer"])
    db_session.commit()
    assert "Outcome forms due" not in client.get("/").get_data(as_text=True)
    other = app.test_client()
    login(other, cast["nap_coordinator"])
    assert "Outcome forms due" not in other.get("/").get_data(as_text=True)


def test_case_page_card_and_its_query_count(
    app, client, login, cast, sent, db_session, count_queries
):
    """Does a member of the panel see the checks and the answers (no link to answer); and does
    the case page cost the same queries with no check answered and with all three answered?"""
    login(client, cast["nap_member"])
    url = f"/cases/{sent.reference}"
    assert client.get(url).status_code == 200
    with count_queries() as before:
        page = client.get(url).get_data(as_text=True)
    assert page.count('data-testid="outcome-check"') == 3
    assert 'data-testid="outcome-check-answer"' not in page
    found = checks_of(db_session, sent)
    for months, who in ((3, "referrer"), (6, "co_referrer"), (12, "nap_coordinator")):
        found[months].reminded_at = utcnow()  # reminded early: answerable
        db_session.flush()
        checks.answer_check(found[months], answers(advice_followed="yes"), by=cast[who])
    db_session.commit()
    with count_queries() as after:
        page = client.get(url).get_data(as_text=True)
    assert page.count('<span class="badge text-bg-success">Answered</span>') == 3
    assert after.count == before.count, "\n".join(after.statements)


def test_an_invited_expert_sees_the_case_but_not_its_follow_up(
    app, client, login, make_user, cast, sent, db_session
):
    """An expert with guest access reads the referral; the follow-up card is not shown, the
    form is 403 and the API list is 403."""
    from panel.api import tokens
    from panel.cases.guests import CaseGuestAccess

    guest = make_user(name="Dr Guest Expert")
    db_session.add(
        CaseGuestAccess(
            case_id=sent.id,
            user_id=guest.id,
            granted_by_id=cast["nap_coordinator"].id,
            expires_at=utcnow() + timedelta(days=7),
        )
    )
    db_session.commit()
    login(client, guest)
    page = client.get(f"/cases/{sent.reference}")
    assert page.status_code == 200
    assert 'data-testid="outcome-checks"' not in page.get_data(as_text=True)
    assert client.get(_form_url(sent)).status_code == 403
    secret = tokens.create_token(guest, "guest", by=guest).secret
    db_session.commit()
    resp = client.get(
        f"/api/v1/cases/{sent.reference}/outcome-checks",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert resp.status_code == 403
