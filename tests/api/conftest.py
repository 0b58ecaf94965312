"""Fixtures for the JSON API tests: tokens, a client that sends them, cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.web import Api


@pytest.fixture
def make_token(db_session) -> Callable[..., str]:
    """``make_token(user, name="test")`` -> the token's secret."""
    from panel.api import tokens

    def factory(user, name: str = "test token") -> str:
        new = tokens.create_token(user, name, by=user)
        db_session.commit()
        return new.secret

    return factory


@pytest.fixture
def api_as(client, make_token) -> Callable[..., Api]:
    """``api_as(user)``: an API client authenticated with a new token of ``user``."""

    def factory(user) -> Api:
        return Api(client, make_token(user))

    return factory


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Dr Ref One")
