"""Fixtures for the registry and matching tests (the app and database are the suite's own)."""

from __future__ import annotations

import pytest


@pytest.fixture
def trials_loaded(db_session):
    """The packaged trials.json loaded into the registry (by the CLI's loader)."""
    from panel.trials.registry import load_registry

    summary = load_registry()
    db_session.commit()
    return summary


@pytest.fixture
def make_case(make_case):
    """The suite's ``make_case``, submitted by default here."""
    import functools

    return functools.partial(make_case, submit=True)


@pytest.fixture
def loaded(db_session):
    """The test registry (the six factsheet trials, all open), the matching cache cleared."""
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    clear_cache()


@pytest.fixture
def registry_server(app, monkeypatch):
    """A local HTTP server standing in for both registries (tests/support/registry_replay.py)."""
    from tests.support.registry_replay import serving

    with serving(app, monkeypatch) as registry:
        yield registry
