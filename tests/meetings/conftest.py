"""Fixtures shared by the meetings tests: staff, three submitted cases, a planned meeting."""

from __future__ import annotations

import pytest

from tests.support.data import plan


@pytest.fixture
def staff(people, make_user):
    return {
        **people,
        "nap_chair": make_user(roles=[("NAP", "chair")], name="Prof Chair"),
        "nap_member2": make_user(roles=[("NAP", "member")], name="Dr Second Member"),
        "nap_member3": make_user(roles=[("NAP", "member")], name="Dr Third Member"),
        "north_member": make_user(roles=[("ECMC-NORTH", "member")], name="Dr North Member"),
    }


@pytest.fixture
def submitted(staff, make_case):
    """Three submitted NAP cases of the referrer."""
    return [make_case(staff["referrer"], submit=True) for _ in range(3)]


@pytest.fixture
def meeting(staff, db_session):
    return plan(db_session, staff["nap_coordinator"])
