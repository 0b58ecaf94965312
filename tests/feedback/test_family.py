"""Family access without identity: codes, the public letter page, the one follow-up question,
guessing, revocation and the referrer's side."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from panel.cases.models import CaseQuestion, CaseStatus
from panel.core.db import utcnow
from panel.core.errors import Conflict
from panel.core.models import AuditEntry, Notification
from panel.feedback import family
from panel.feedback.models import (
    FamilyAccessCode,
    FamilySession,
    QuestionAnswer,
    Recommendation,
    RecommendationStatus,
)
from tests.support.web import post_form


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
            case_id=case.id,
            status=RecommendationStatus.APPROVED if sent else RecommendationStatus.DRAFT,
            categories=["trial"],
            consensus="unanimous",
            rationale=f"CLINICIAN-RATIONALE-{case.reference}",
            trials=[],
            approved_at=now if sent else None,
        )
        db_session.add(rec)
        db_session.flush()
        for q in case.questions:
            db_session.add(
                QuestionAnswer(
                    recommendation_id=rec.id,
                    question_id=q.id,
                    clinician_answer=f"CLINICIAN-ANSWER-{case.reference}",
                    family_answer=f"FAMILY-ANSWER-{case.reference}",
                )
            )
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
    return list(
        db_session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


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


def test_code_is_shown_once_and_only_its_hash_is_stored(
    app, client, people, sent_case, login, db_session
):
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


def test_code_sheet_and_case_card_give_the_address_from_panel_base_url(
    app, client, people, sent_case, login, db_session, monkeypatch
):
    """On a server started on another port (`make run PORT=5077` sets PANEL_BASE_URL), do the
    printed code sheet and the case page's card give that address, not port 5000?"""
    monkeypatch.setitem(app.config, "BASE_URL", "http://127.0.0.1:5077")
    case = sent_case()
    login(client, people["referrer"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert 'data-testid="family-address">http://127.0.0.1:5077/family</span>' in page
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"})
    html = resp.get_data(as_text=True)
    assert 'data-testid="family-url">http://127.0.0.1:5077/family</span>' in html
    assert ":5000" not in html and ":5000" not in page


def test_redeem_counts_uses_and_refuses_expired_and_revoked_codes(
    app, people, sent_case, db_session
):
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
def test_family_reads_only_their_letter_without_an_account(
    app, client, people, sent_case, db_session
):
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
        held = sess["family_access"]
    # The cookie holds a random token only: no case, no code id; the server keeps its SHA-256.
    assert set(held) == {"token"} and len(held["token"]) >= 40
    row = db_session.scalar(select(FamilySession))
    assert row.token_hash == hashlib.sha256(held["token"].encode()).hexdigest()
    assert row.code.case_id == case.id and row.ended_at is None
    assert timedelta(hours=2) - (row.expires_at - row.created_at) < timedelta(seconds=5)
    assert len(_audits(db_session, "family_session.started")) == 1


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
    public = {
        "feedback.family_enter",
        "feedback.family_letter",
        "feedback.family_letter_pdf",
        "feedback.family_question",
        "feedback.family_leave",
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            assert not rule.arguments, rule.rule
    tries = [
        "/family/letter",
        f"/family/letter?ref={b.reference}",
        f"/family/letter?case_id={b.id}",
        f"/family/letter?code_id={code_b.id}",
        f"/family/letter/{b.reference}",
        f"/family/{b.reference}",
    ]
    for url in tries:
        html = client.get(url).get_data(as_text=True)
        assert f"FAMILY-ANSWER-{b.reference}" not in html and b.reference not in html, url
    # A question sent with extra fields lands on case A.
    resp = post_form(
        app,
        client,
        "/family/question",
        {
            "text": "Is there anything we should watch for at home?",
            "case_id": str(b.id),
            "ref": b.reference,
        },
    )
    assert resp.status_code == 302
    assert [
        q.case_id
        for q in db_session.scalars(select(CaseQuestion).where(CaseQuestion.source == "family"))
    ] == [a.id]


def test_revoked_code_in_a_session_sends_the_family_back(
    app, client, people, sent_case, db_session
):
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
    """Does a family session end 2 hours after the code was typed (on the server's clock)?"""
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    assert client.get("/family/letter").status_code == 200
    row = db_session.scalar(select(FamilySession))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    resp = client.get("/family/letter")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    assert "closed after a while" in client.get("/family").get_data(as_text=True)


def _saved_cookie(app, client) -> str:
    return client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value


def _replay(app, cookie: str):
    """A new browser carrying a saved copy of a session cookie."""
    other = app.test_client()
    other.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
    return other


def test_leave_ends_the_session_so_a_saved_cookie_is_refused(
    app, client, people, sent_case, db_session
):
    """After "Leave", is a saved copy of the family's cookie refused (back to the code page),
    because the session ended on the server, and is the ending audited?"""
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    cookie = _saved_cookie(app, client)
    assert _replay(app, cookie).get("/family/letter").status_code == 200  # the copy works before

    assert post_form(app, client, "/family/leave").status_code == 302
    assert client.get("/family/letter").status_code == 302
    replayed = _replay(app, cookie)
    resp = replayed.get("/family/letter")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    assert "Your letter from the panel" not in replayed.get(
        "/family", follow_redirects=True
    ).get_data(as_text=True)
    assert (
        post_form(
            app,
            _replay(app, cookie),
            "/family/question",
            {"text": "A question sent with an old saved cookie"},
        ).status_code
        == 302
    )
    assert db_session.scalar(select(CaseQuestion).where(CaseQuestion.source == "family")) is None

    db_session.expire_all()
    assert db_session.scalar(select(FamilySession)).ended_at is not None
    ended = _audits(db_session, "family_session.ended")
    assert (
        len(ended) == 1
        and ended[0].details["reason"] == "left"
        and ended[0].details["code_id"] == code.id
    )
    # The code itself still works: typing it again opens a new session.
    assert _enter(app, client, plain).status_code == 302
    assert client.get("/family/letter").status_code == 200


def test_revoking_a_code_ends_its_sessions(app, client, people, sent_case, db_session):
    """Does revoking a code end every family session opened with it (a saved cookie is refused
    even if the code were somehow usable again), and only those?"""
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    _, other_plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    second = app.test_client()
    _enter(app, second, plain)
    third = app.test_client()
    _enter(app, third, other_plain)
    cookie = _saved_cookie(app, client)

    family.revoke_code(code, by=people["referrer"])
    db_session.commit()
    rows = list(db_session.scalars(select(FamilySession).order_by(FamilySession.id)))
    assert [r.ended_at is not None for r in rows] == [True, True, False]
    assert _audits(db_session, "family_code.revoked")[-1].details["sessions_ended"] == 2
    assert third.get("/family/letter").status_code == 200

    code.revoked_at = None  # even un-revoked, the ended sessions stay ended
    db_session.commit()
    assert _replay(app, cookie).get("/family/letter").status_code == 302


def test_family_letter_pdf(app, client, people, sent_case, db_session):
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    _enter(app, client, plain)
    resp = client.get("/family/letter.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert "attachment" in resp.headers["Content-Disposition"]


# --------------------------------------------------------------------------- guessing
def test_guessed_codes_are_throttled_per_address_and_audited(
    app, client, people, sent_case, db_session
):
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


@pytest.fixture
def sleeps(monkeypatch):
    """The slow-down's waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(family, "sleep", waited.append, raising=False)
    return waited


def test_distributed_guessing_is_slowed_but_never_locks_families_out(
    app, client, people, sent_case, db_session, sleeps
):
    """After 240 wrong codes from 60 addresses (4 each: none locks itself out), does a right
    code from another address still get in, after a bounded wait, with every attempt from the
    threshold on slowed and the slow-down audited once?"""
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    statuses = [
        _enter(
            app, client, family.format_code(family._new_code()), ip=f"10.9.0.{i % 60 + 1}"
        ).status_code
        for i in range(240)
    ]
    assert statuses == [401] * 240
    # No wait below 50 failures in the window, then 0.1 s more per failure, at most 3 s.
    assert sleeps == pytest.approx([min(3.0, 0.1 * (n - 49)) for n in range(50, 240)])

    resp = _enter(app, app.test_client(), plain, ip="192.0.2.77")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family/letter")
    assert sleeps[-1] == 3.0
    assert code.uses == 1
    assert _audits(db_session, "family_code.used")[-1].details["delay_ms"] == 3000
    slowdown = _audits(db_session, "family_code.global_slowdown")
    assert len(slowdown) == 1 and slowdown[0].details["failures"] == 50
    assert not _audits(db_session, "family_code.global_lockout")


def test_slow_down_is_bounded_and_configurable(
    app, client, people, sent_case, db_session, sleeps, monkeypatch
):
    """Is the wait capped (a few seconds), and do the thresholds come from the config?"""
    assert family.delay_for(0) == 0 and family.delay_for(49) == 0
    assert family.delay_for(50) == pytest.approx(0.1)
    assert family.delay_for(10**6) == 3.0
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    for key, value in {
        "FAMILY_SLOWDOWN_AFTER": 2,
        "FAMILY_SLOWDOWN_STEP": 5,
        "FAMILY_SLOWDOWN_MAX": 7,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    for i in range(4):
        assert _enter(app, client, "WRONG-CODE", ip=f"10.8.0.{i}").status_code == 401
    assert _enter(app, client, plain, ip="10.8.1.1").status_code == 302
    assert sleeps == [5, 7, 7]


@pytest.mark.parametrize(
    "ip, group",
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-address", "not-an-address"),
        (None, "unknown"),
    ],
)
def test_address_groups(ip, group):
    """Is an IPv6 address counted with its /64, an IPv4 (also IPv4-mapped) address as itself?"""
    assert family.address_group(ip) == group


def test_wrong_codes_from_one_ipv6_64_lock_that_64(app, people, sent_case, db_session):
    """Do wrong codes from many addresses in one IPv6 /64 count together (the /64 is locked,
    even for a right code), while the next /64 is not?"""
    case = sent_case()
    code, plain = _make_code(case, people["referrer"], db_session)
    statuses = [
        _enter(app, app.test_client(), "WRONG-CODE", ip=f"2001:db8:1:2::{i + 1:x}").status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    resp = _enter(app, app.test_client(), plain, ip="2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert resp.status_code == 429 and "wait 15 minutes" in resp.get_data(as_text=True)
    assert _enter(app, app.test_client(), plain, ip="2001:db8:1:3::1").status_code == 302
    assert code.uses == 1


def test_ipv4_limit_is_per_address_and_counts_mapped_ipv6(app, people, sent_case, db_session):
    """Does an IPv4 address stay itself (a neighbour is not locked) and count the same when it
    comes as IPv4-mapped IPv6?"""
    case = sent_case()
    _, plain = _make_code(case, people["referrer"], db_session)
    ips = ["10.6.0.5", "::ffff:10.6.0.5"] * 2 + ["10.6.0.5"]
    assert [_enter(app, app.test_client(), "WRONG-CODE", ip=ip).status_code for ip in ips] == [
        401
    ] * 4 + [429]
    assert _enter(app, app.test_client(), plain, ip="::ffff:10.6.0.5").status_code == 429
    assert _enter(app, app.test_client(), plain, ip="10.6.0.6").status_code == 302


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
    # IPv6: one /64 is one address for this limit too.
    codes = [_enter(app, client, "nope", ip=f"2001:db8:7::{i + 1}").status_code for i in range(4)]
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
    questions = list(
        db_session.scalars(
            select(CaseQuestion)
            .where(CaseQuestion.case_id == case.id)
            .order_by(CaseQuestion.position)
        )
    )
    assert len(questions) == before + 1
    assert (
        questions[-1].text == text
        and questions[-1].source == "family"
        and questions[-1].position == before
    )
    assert db_session.get(FamilyAccessCode, code.id).question_sent_at is not None
    notes = list(
        db_session.scalars(select(Notification).where(Notification.kind == "family_question"))
    )
    assert {n.user_id for n in notes} == {
        people["referrer"].id,
        co.id,
        people["nap_coordinator"].id,
    }
    assert all(text not in n.text and case.reference in n.text for n in notes)
    assert len(_audits(db_session, "question.added_by_family")) == 1
    page = client.get("/family/letter").get_data(as_text=True)
    assert 'data-testid="question-sent"' in page and "Send my question" not in page

    resp = post_form(
        app, client, "/family/question", {"text": "And one more question about the trial please?"}
    )
    assert resp.status_code == 422
    assert "already been sent" in resp.get_data(as_text=True)
    assert (
        db_session.scalar(select(CaseQuestion).where(CaseQuestion.text.like("And one more%")))
        is None
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("Can Oliver Smith start? NHS number 943 476 5919", "name, a date, a number"),
        ("Could we start on 12/03/2024?", "name, a date, a number"),
        ("Why?", "at least 10 characters"),
        ("x" * 1001, "1000 characters or fewer"),
    ],
)
def test_bad_questions_are_refused_and_nothing_is_lost(
    app, client, people, sent_case, db_session, text, message
):
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
    resp = post_form(
        app, client, "/family/question", {"text": "A question without any code at all"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/family")
    assert client.post("/family", data={"code": "x"}).status_code == 400  # CSRF protected


# --------------------------------------------------------------------------- the referrer's side
@pytest.mark.parametrize(
    "who, status",
    [
        ("other_referrer", 404),
        ("north_coordinator", 404),
        ("admin", 404),
        ("nap_coordinator", 403),
        ("nap_member", 403),
    ],
)
def test_only_the_case_referrers_make_codes(
    app, client, people, sent_case, login, db_session, who, status
):
    case = sent_case()
    login(client, people[who])
    resp = post_form(app, client, f"/cases/{case.reference}/family-codes", {"days": "90"})
    assert resp.status_code == status
    assert db_session.scalar(select(FamilyAccessCode)) is None
    if status == 403:
        assert 'data-testid="family-access"' not in client.get(f"/cases/{case.reference}").get_data(
            as_text=True
        )


def test_no_code_before_feedback_is_sent(app, client, people, sent_case, login, db_session):
    case = sent_case(sent=False)
    login(client, people["referrer"])
    assert 'data-testid="family-access"' not in client.get(f"/cases/{case.reference}").get_data(
        as_text=True
    )
    resp = post_form(
        app, client, f"/cases/{case.reference}/family-codes", {"days": "90"}, follow_redirects=True
    )
    assert "feedback has been sent" in resp.get_data(as_text=True)
    assert db_session.scalar(select(FamilyAccessCode)) is None
    with pytest.raises(Conflict):
        family.create_code(case, by=people["referrer"])


def test_referrer_revokes_a_code_and_others_cannot(
    app, client, people, sent_case, login, db_session
):
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
    assert (
        post_form(
            app, other, f"/cases/{other_case.reference}/family-codes/{code.id}/revoke"
        ).status_code
        == 404
    )

    owner = app.test_client()
    login(owner, people["referrer"])
    resp = post_form(app, owner, url, follow_redirects=True)
    assert "no longer works" in resp.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(FamilyAccessCode, code.id).revoked_at is not None
    assert "Revoked" in owner.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert family.redeem(plain) is None


def test_case_card_lists_codes_with_few_queries(
    app, client, people, sent_case, login, db_session, count_queries
):
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
