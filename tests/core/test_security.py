"""Refusals that hold on every route: anonymous access, CSRF, headers, caching."""

from __future__ import annotations

import re

import pytest

from tests.support.data import PUBLIC

#: Upload views exempt from the global CSRF check so they can set size limits before the body
#: is parsed; they validate the token themselves.
CSRF_CHECKED_IN_VIEW = {"imaging.upload"}


def _concrete(rule) -> str:
    """The rule's URL with every variable filled in."""

    def value(m: re.Match) -> str:
        converter, args, name = m.group(1), m.group(2), m.group(3)
        if converter == "any":  # <any(a, b):kind>: the first choice
            return args.split(",")[0].strip().strip("'\"")
        if converter == "int" or (converter is None and name.endswith("id")):
            return "1"
        return "x"

    return re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", value, rule.rule)


def _protected_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in PUBLIC]


def test_every_non_public_route_redirects_anonymous_users_to_login(app, client):
    """Does every route (except login, reset, static and healthz) send an anonymous visitor to
    the sign-in page, for every method it accepts?"""
    rules = _protected_rules(app)
    assert len(rules) > 10
    for rule in rules:
        url = _concrete(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "POST":
                app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # reach the login check itself
            try:
                resp = client.open(url, method=method)
            finally:
                app.config["WTF_CSRF_CHECK_DEFAULT"] = True
            if url.startswith("/api/"):
                assert resp.status_code == 401, (method, url)
            else:
                assert resp.status_code == 302, (method, url, resp.status_code)
                assert "/login" in resp.headers["Location"], (method, url)


def test_every_post_route_refuses_a_request_without_csrf_token(app, client, make_user, login):
    """Is a POST without a CSRF token refused on every form route, even when signed in?"""
    user = make_user(admin=True)
    login(client, user)
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        resp = client.post(_concrete(rule), data={})
        if rule.endpoint in CSRF_CHECKED_IN_VIEW:
            # These check access before reading the (possibly huge) body, then the token:
            # an unknown case answers 404 first (tests/imaging covers the token refusal).
            assert resp.status_code in (400, 404), rule.rule
            continue
        assert resp.status_code == 400, rule.rule
    assert client.get("/").status_code == 200  # still signed in: nothing happened


def test_security_headers_on_every_response(app, client, make_user, login):
    user = make_user(referrer_at="LEEDS")
    for resp in (client.get("/login"), client.get("/healthz")):
        h = resp.headers
        assert "script-src 'self'" in h["Content-Security-Policy"]
        assert "unsafe-inline" not in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"
        assert h["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    login(client, user)
    page = client.get("/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.get_data(as_text=True)  # no inline script anywhere
    static = client.get("/static/css/panel.css")
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"


def test_session_cookie_flags(app, client, make_user, login):
    user = make_user(referrer_at="LEEDS")
    resp = login(client, user)
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True


def test_healthz_needs_no_login_and_shows_no_data(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {
        "status": "ok",
        "database": "ok",
        "queue": {"mode": "eager", "broker": "in-process", "workers": 0},
    }


def test_unknown_page_is_a_friendly_404(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "Not found" in resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login?next=%0d%0aSet-Cookie:x=y", "/login?next=" + "a" * 5000])
def test_odd_next_values_do_not_break_login_page(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/cases/NB-2026-0001#comments", "/cases/NB-2026-0001#comments"),
        ("/triage?panel=NAP", "/triage?panel=NAP"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("/\tevil.example", None),
        ("", None),
        (None, None),
    ],
)
def test_one_check_for_redirect_targets(target, expected):
    """Is every "go back to" target (login, meetings, minutes, triage, trials, notifications)
    checked by the one function that refuses other sites?"""
    from panel.core.web import safe_next

    assert safe_next(target) == expected
