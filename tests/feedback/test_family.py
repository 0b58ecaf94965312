"""Family access without identity: codes, the public letter page, the one follow-up question,
guessing, revocation and the referrer's side."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from panel.cases.models import CaseQuestion, CaseStatus
from panel.core.db import utcnow
from panel.core.models import AuditEntry, Notification
from panel.feedback import family
from panel.feedback.models import (
    FamilyAccessCode,
    QuestionAnswer,
    Recommendation,
    RecommendationStatus,
)
from tests.conftest import post_form


@pytest.fixture(autouse=True)
def generous_limiter(app):
    """The per-address Flask-Limiter limit is shared by every test (memory storage): keep it
    out of the way, except in the test that checks it."""
    from panel.core.extensions import limiter

    old = app.config.get("RATELIMIT_FAMILY")
    app.config["RATELIMIT_FAMILY"] = "100000 per minute"
    limiter.reset()
    yield
    if old is None:
        app.config.pop("RATELIMIT_FAMILY", None)
    else:
        app.config["RATELIMIT_FAMILY"] = old
    limiter.reset()


@pytest.fixture
def sent_case(make_case, people, db_session):
    """Factory: a NAP case whose approved feedback has been sent, with a family answer that
    names the case (so a page can be checked for the right letter)."""

    def factory(by=None, *, sent=True):
        by = by or people["referrer"]
        case = make_case(by, submit=True)
        now = utcnow()
        rec = Recommendation(
            case_id=case.id, status=RecommendationStatus.APPROVED if sent else RecommendationStatus.DRAFT,
            categories=["trial"], consensus="unanimous", rationale=f"CLINICIAN-RATIONALE-{case.reference}",
            trials=[], approved_at=now if sent else None,
        )
        db_session.add(rec)
        db_session.flush()
        for q in case.questions:
            db_session.add(QuestionAnswer(
                recommendation_id=rec.id, question_id=q.id,
                clinician_answer=f"CLINICIAN-ANSWER-{case.reference}",
                family_answer=f"FAMILY-ANSWER-{case.reference}",
            ))
        if sent:
            case.status = CaseStatus.FEEDBACK_SENT
            case.approved_at = now
            case.feedback_sent_at = now
        db_session.commit()
        return case

    return factory


def _make_code(case, by, db_session, **kw):
    code, plain = family.create_code(case, by=by, **kw)
    db_session.commit()
    return code, plain


def _enter(app, client, plain, ip=None):
    kw = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return post_form(app, client, "/family", {"code": plain}, **kw)


def _audits(db_session, action):
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- codes
def test_code_format_is_long_random_and_readable(app, db_session):
    """Is the code 25 characters from an alphabet without 0/O/1/I/L, grouped, with >= 100 bits?"""
    import math

    assert not set("0O1IL") & set(family.ALPHABET)
    assert family.CODE_LEN * math.log2(len(family.ALPHABET)) >= 100
    codes = {family._new_code() for _ in range(200)}
    assert len(codes) == 200
    sample = family.format_code(next(iter(codes)))
    assert re.fullmatch(r"([A-Z2-9]{5}-){4}[A-Z2-9]{5}", sample)
    assert family.normalise(" abcde-fghjk mnpqr\tstuvw-xyz23 ") == "ABCDEFGHJKMNPQRSTUVWXYZ23"


def test_code_is_shown_once_and_only_its_hash_is_stored(app, client, people, sent_case, login, db_session):
    """Does the referrer see the code once (printable, no-store), while the database and the
    audit trail keep only a keyed hash and a 4-character hint?"""
    case = sent_case()
    login(client, people["referrer"])
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    plain = re.search(r'aria-label="Access code ([A-Z0-9-]+)"', html).group(1)
    assert re.fullmatch(r"([A-Z2-9]{5}-){4}[A-Z2-9]{5}", plain)
    assert "https://panel.test.example/family" in html  # the address to type
    assert "only time the code is shown" in html
    norm = family.normalise(plain)

    row = db_session.scalar(select(FamilyAccessCode).where(FamilyAccessCode.case_id == case.id))
    assert row.code_hash == family.code_hash(plain) and row.hint == norm[-4:]
    assert (row.expires_at - row.created_at).days == 90
    for attr in inspect(FamilyAccessCode).column_attrs:
        value = str(getattr(row, attr.key))
        assert norm not in value and plain not in value
    created = _audits(db_session, "family_code.created")
    assert len(created) == 1 and created[0].object_id == case.reference
    for entry in db_session.scalars(select(AuditEntry)):
        assert norm not in str(entry.details) and plain not in str(entry.details)

    # No way to see it again: the case page shows the hint only, and there is no GET view.
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="family-access"' in page and f"…{row.hint}" in page
    assert plain not in page and norm not in page
    assert client.get(f"/cases/{case.reference}/family-codes").status_code == 405


def test_redeem_counts_uses_and_refuses_expired_and_revoked_codes(app, people, sent_case, db_session):
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    assert family.redeem(plain.lower().replace("-", " ")) is code
    assert family.redeem(plain) is code
    assert code.uses == 2 and code.last_used_at is not None
    assert len(_audits(db_session, "family_code.used")) == 2

    assert family.redeem("ABCDE-FGHJK-MNPQR-STUVW-XYZ23") is None
    assert family.redeem("too short") is None
    code.expires_at = utcnow() - timedelta(seconds=1)
    assert family.redeem(plain) is None
    code.expires_at = utcnow() + timedelta(days=1)
    family.revoke_code(code, by=people["referrer"])
    assert family.redeem(plain) is None
    reasons = [e.details["reason"] for e in _audits(db_session, "family_code.failed")]
    assert reasons == ["unknown", "malformed", "expired", "revoked"]
    assert len(_audits(db_session, "family_code.revoked")) == 1


# --------------------------------------------------------------------------- family pages
def test_family_reads_only_their_letter_without_an_account(app, client, people, sent_case, db_session):
    """Does a valid code open the family letter of its own case, with no login, no staff
    navigation and none of the clinician-only content?"""
    case, other = sent_case(), sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _make_code(other, people["referrer"], db_session)

    assert client.get("/family").status_code == 200
    resp = _enter(app, client, plain)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family/letter")
    page = client.get("/family/letter")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your letter from the panel" in html and case.panel.name in html
    assert f"FAMILY-ANSWER-{case.reference}" in html
    assert f"FAMILY-ANSWER-{other.reference}" not in html and other.reference not in html
    assert "CLINICIAN-" not in html  # clinician answers and rationale stay out
    assert people["referrer"].name not in html and people["referrer"].email not in html
    assert "Sign out" not in html and "panel-navbar" not in html
    with client.session_transaction() as sess:
        assert set(sess) <= {"family_access", "csrf_token", "_flashes"}
        assert "_user_id" not in sess


def test_family_session_grants_no_staff_page(app, client, people, sent_case, db_session):
    """Is a family session useless on staff pages (they still ask for a sign-in)?"""
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    for url in (f"/cases/{case.reference}", "/", "/reports", "/reports/cases.csv"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_code_for_case_a_cannot_reach_case_b(app, client, people, sent_case, db_session):
    """Can nothing a family can change (URL, query, form fields) reach another case's letter?"""
    a, b = sent_case(), sent_case()
    _, plain_a = _make_code(a, people["referrer"], db_session)
    code_b, _ = _make_code(b, people["referrer"], db_session)
    _enter(app, client, plain_a)

    # No family URL carries a case reference or an id.
    public = {"feedback.family_enter", "feedback.family_letter", "feedback.family_letter_pdf",
              "feedback.family_question", "feedback.family_leave"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            assert not rule.arguments, rule.rule
    tries = [
        "/family/letter", f"/family/letter?ref={b.reference}", f"/family/letter?case_id={b.id}",
        f"/family/letter?code_id={code_b.id}", f"/family/letter/{b.reference}", f"/family/{b.reference}",
    ]
    for url in tries:
        html = client.get(url).get_data(as_text=True)
        assert f"FAMILY-ANSWER-{b.reference}" not in html and b.reference not in html, url
    # A question sent with extra fields lands on case A.
    resp = post_form(app, client, "/family/question", {
        "text": "Is there anything we should watch for at home?", "case_id": str(b.id), "ref": b.reference,
    })
    assert resp.status_code == 302
    assert [q.case_id for q in db_session.scalars(select(CaseQuestion).where(CaseQuestion.source == "family"))] == [a.id]


def test_revoked_code_in_a_session_sends_the_family_back(app, client, people, sent_case, db_session):
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    assert client.get("/family/letter").status_code == 200
    family.revoke_code(code, by=people["referrer"])
    db_session.commit()
    resp = client.get("/family/letter")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    assert "no longer active" in client.get("/family").get_data(as_text=True)
    assert client.get("/family/letter.pdf").status_code == 302


def test_expired_family_session_closes(app, client, people, sent_case, db_session):
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    with client.session_transaction() as sess:
        sess["family_access"] = {**sess["family_access"], "until": 0}
    resp = client.get("/family/letter")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")


def test_leave_clears_the_family_session(app, client, people, sent_case, db_session):
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    assert post_form(app, client, "/family/leave").status_code == 302
    assert client.get("/family/letter").status_code == 302


def test_family_letter_pdf(app, client, people, sent_case, db_session):
    pytest.importorskip("weasyprint")
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    resp = client.get("/family/letter.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert "attachment" in resp.headers["Content-Disposition"]


# --------------------------------------------------------------------------- guessing
def test_guessed_codes_are_throttled_per_address_and_audited(app, client, people, sent_case, db_session):
    """After 5 wrong codes in 15 minutes is the address locked (429, even for a right code),
    each attempt audited without the code, while another address still works?"""
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    guesses = [family.format_code(family._new_code()) for _ in range(5)]
    statuses = [_enter(app, client, g).status_code for g in guesses]
    assert statuses == [401, 401, 401, 401, 429]
    resp = _enter(app, client, plain)
    assert resp.status_code == 429 and "wait 15 minutes" in resp.get_data(as_text=True)
    assert code.uses == 0
    failed = _audits(db_session, "family_code.failed")
    assert [e.details["reason"] for e in failed] == ["unknown"] * 5 + ["locked"]
    for e in failed:
        assert all(family.normalise(g) not in str(e.details) for g in guesses)
        assert e.actor_id is None
    # The lock is in the database (shared by every process), keyed by a hash of the address.
    from panel.accounts.models import LoginThrottle

    keys = [r.key for r in db_session.scalars(select(LoginThrottle))]
    assert any(k.startswith("family:") and "127.0.0.1" not in k for k in keys)
    # Another address is not locked.
    other = app.test_client()
    assert _enter(app, other, plain, ip="10.1.2.3").status_code == 302


def test_global_throttle_slows_distributed_guessing(app, client, people, sent_case, db_session):
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    app.config["FAMILY_GLOBAL_MAX_FAILURES"] = 3
    try:
        codes = [_enter(app, client, "WRONG-CODE", ip=f"10.9.0.{i}").status_code for i in range(3)]
        assert codes == [401, 401, 429]
        assert _enter(app, client, plain, ip="10.9.1.1").status_code == 429
    finally:
        app.config.pop("FAMILY_GLOBAL_MAX_FAILURES")
    assert len(_audits(db_session, "family_code.global_lockout")) == 1


def test_code_reused_after_revocation_is_refused(app, client, people, sent_case, db_session):
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    assert _enter(app, client, plain).status_code == 302
    family.revoke_code(code, by=people["referrer"])
    db_session.commit()
    fresh = app.test_client()
    resp = _enter(app, fresh, plain)
    assert resp.status_code == 401
    assert "no longer active" in resp.get_data(as_text=True)
    assert fresh.get("/family/letter").status_code == 302
    assert _audits(db_session, "family_code.failed")[-1].details["reason"] == "revoked"


def test_flask_limiter_caps_posts_per_address(app, client):
    from panel.core.extensions import limiter

    app.config["RATELIMIT_FAMILY"] = "3 per minute"
    limiter.reset()
    codes = [_enter(app, client, "nope", ip="10.7.7.7").status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


# --------------------------------------------------------------------------- the follow-up question
def test_family_sends_one_follow_up_question(app, client, people, make_user, sent_case, db_session):
    """Does the question become a parents' question (source family) on the case, notify the
    coordinators and referrers (no clinical text), and is a second one refused?"""
    co = make_user(referrer_at="LEEDS", name="Dr Colleague")
    case = sent_case()
    from panel.cases import operations as case_ops

    case_ops.add_co_referrer(case, co, by=people["referrer"])
    db_session.commit()
    code, plain = _make_code(case, people["referrer"], db_session)
    before = len(case.questions)
    _enter(app, client, plain)
    text = "Could the trial medicine make our child more tired than now?"
    resp = post_form(app, client, "/family/question", {"text": text})
    assert resp.status_code == 302
    db_session.expire_all()
    questions = list(db_session.scalars(select(CaseQuestion).where(CaseQuestion.case_id == case.id).order_by(CaseQuestion.position)))
    assert len(questions) == before + 1
    assert questions[-1].text == text and questions[-1].source == "family" and questions[-1].position == before
    assert db_session.get(FamilyAccessCode, code.id).question_sent_at is not None
    notes = list(db_session.scalars(select(Notification).where(Notification.kind == "family_question")))
    assert {n.user_id for n in notes} == {people["referrer"].id, co.id, people["nap_coordinator"].id}
    assert all(text not in n.text and case.reference in n.text for n in notes)
    assert len(_audits(db_session, "question.added_by_family")) == 1
    page = client.get("/family/letter").get_data(as_text=True)
    assert 'data-testid="question-sent"' in page and "Send my question" not in page

    resp = post_form(app, client, "/family/question", {"text": "And one more question about the trial please?"})
    assert resp.status_code == 422
    assert "already been sent" in resp.get_data(as_text=True)
    assert db_session.scalar(select(CaseQuestion).where(CaseQuestion.text.like("And one more%"))) is None


@pytest.mark.parametrize("text, message", [
    ("Can Oliver Smith start? NHS number 943 476 5919", "name, a date, a number"),
    ("Could we start on 12/03/2024?", "name, a date, a number"),
    ("Why?", "at least 10 characters"),
    ("x" * 1001, "1000 characters or fewer"),
])
def test_bad_questions_are_refused_and_nothing_is_lost(app, client, people, sent_case, db_session, text, message):
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    resp = post_form(app, client, "/family/question", {"text": text})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    if len(text) < 200:
        assert text.replace("'", "&#39;") in html or text in html  # what they wrote is kept
    db_session.expire_all()
    assert db_session.get(FamilyAccessCode, code.id).question_sent_at is None
    assert db_session.scalar(select(CaseQuestion).where(CaseQuestion.source == "family")) is None


def test_family_pages_need_a_code_not_a_login(app, client):
    assert client.get("/family").status_code == 200
    resp = client.get("/family/letter")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    resp = post_form(app, client, "/family/question", {"text": "A question without any code at all"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    assert client.post("/family", data={"code": "x"}).status_code == 400  # CSRF protected


# --------------------------------------------------------------------------- the referrer's side
@pytest.mark.parametrize("who, status", [
    ("other_referrer", 404), ("north_coordinator", 404), ("admin", 404),
    ("nap_coordinator", 403), ("nap_member", 403),
])
def test_only_the_case_referrers_make_codes(app, client, people, sent_case, login, db_session, who, status):
    case = sent_case()
    login(client, people[who])
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"})
    assert resp.status_code == status
    assert db_session.scalar(select(FamilyAccessCode)) is None
    if status == 403:
        assert 'data-testid="family-access"' not in client.get(f"/cases/{case.reference}").get_data(as_text=True)


def test_no_code_before_feedback_is_sent(app, client, people, sent_case, login, db_session):
    case = sent_case(sent=False)
    login(client, people["referrer"])
    assert 'data-testid="family-access"' not in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"}, follow_redirects=True)
    assert "feedback has been sent" in resp.get_data(as_text=True)
    assert db_session.scalar(select(FamilyAccessCode)) is None
    with pytest.raises(family.Conflict):
        family.create_code(case, by=people["referrer"])


def test_referrer_revokes_a_code_and_others_cannot(app, client, people, sent_case, login, db_session):
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    other_case = sent_case(people["other_referrer"])
    url = f"/cases/{case.reference}/family-codes/{code.id}/revoke"

    login(client, people["nap_coordinator"])
    assert post_form(app, client, url).status_code == 403
    other = app.test_client()
    login(other, people["other_referrer"])
    assert post_form(app, other, url).status_code == 404
    # The code id under another case's reference: not found.
    assert post_form(app, other, f"/cases/{other_case.reference}/family-codes/{code.id}/revoke").status_code == 404

    owner = app.test_client()
    login(owner, people["referrer"])
    resp = post_form(app, owner, url, follow_redirects=True)
    assert "no longer works" in resp.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(FamilyAccessCode, code.id).revoked_at is not None
    assert "Revoked" in owner.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert family.redeem(plain) is None


def test_case_card_lists_codes_with_few_queries(app, client, people, sent_case, login, db_session, count_queries):
    case = sent_case()
    login(client, people["referrer"])
    _make_code(case, people["referrer"], db_session)
    client.get(f"/cases/{case.reference}")
    with count_queries() as one:
        client.get(f"/cases/{case.reference}")
    for _ in range(4):
        _make_code(case, people["referrer"], db_session)
    client.get(f"/cases/{case.reference}")
    with count_queries() as five:
        html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert html.count("…") >= 5
    assert five.count == one.count
