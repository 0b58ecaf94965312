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
