"""With PANEL_REDIS_URL set, two app instances share one rate-limit counter."""

from __future__ import annotations

import os

import pytest

from tests.support.web import post_form


def _redis_url() -> str:
    url = os.environ.get("PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("PANEL_REQUIRE_POSTGRES"):
            pytest.fail(f"Redis at {url} is not reachable")
        pytest.skip(f"Redis at {url} is not reachable")
    return url


@pytest.fixture
def own_db(backend, tmp_path):
    """A database of this test's own: the apps below commit, and must not wait for the
    rolled-back transaction that other tests run in."""
    from tests.support.db import database_url, make_app, migrate_and_seed

    url = database_url(backend, tmp_path, "panel_test_redis")
    migrate_and_seed(make_app(url, tmp_path / "storage"))
    return url, str(tmp_path / "storage")


def test_login_limit_is_shared_through_redis(own_db):
    """Does the per-address limit count sign-in attempts made through any process? Two app
    instances on the same Redis stand for two processes."""
    import redis

    from tests.support.db import make_app

    url = _redis_url()
    redis.Redis.from_url(url).flushdb()
    apps = [
        make_app(*own_db, REDIS_URL=url, RATELIMIT_STORAGE_URI=None, RATELIMIT_LOGIN="3 per minute")
        for _ in range(2)
    ]
    codes = []
    for target in (apps[0], apps[0], apps[1], apps[1]):
        client = target.test_client()
        with target.app_context():
            codes.append(
                post_form(
                    target,
                    client,
                    "/login",
                    {"email": "x@nhs.example.org", "password": "nope-nope-nope"},
                ).status_code
            )
    assert codes == [401, 401, 401, 429]


def test_app_uses_redis_storage_when_configured(own_db):
    url = _redis_url()
    from tests.support.db import make_app

    app2 = make_app(
        *own_db, REDIS_URL=url, RATELIMIT_STORAGE_URI=None, RATELIMIT_LOGIN="2 per minute"
    )
    assert app2.config["RATELIMIT_STORAGE_URI"] == url
    import redis

    redis.Redis.from_url(url).flushdb()
    client = app2.test_client()
    with app2.app_context():
        codes = [
            post_form(
                app2, client, "/login", {"email": "x@nhs.example.org", "password": "nope-nope-nope"}
            ).status_code
            for _ in range(3)
        ]
    assert codes[-1] == 429
    keys = redis.Redis.from_url(url).keys("*")
    assert keys, "the limiter wrote nothing to Redis"
