"""Factories: people, cases and the example documents, made through the app's operations;
and signing in through the real forms. The fixtures in ``tests/conftest.py`` hand them out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pyotp

from tests.support.db import ROOT
from tests.support.web import post_form, totp_now

TEST_PASSWORD = "violet-harbour-lantern-42"
DATA = ROOT / "tests" / "data"


def example(name: str = "alk") -> dict[str, Any]:
    """A complete panel-case/1 document from tests/data (a fresh copy)."""
    return json.loads((DATA / f"case-example-{name}.json").read_text())


def sarcoma_v2(panel: str = "ECMC-NORTH") -> dict[str, Any]:
    """A complete panel-case/2 rhabdomyosarcoma (8920/3) referral: the ALK example converted,
    its tumour changed, the neuroblastoma module replaced by the sarcoma module."""
    from panel.caseformat import convert

    doc = convert.v1_to_v2(example())
    doc["panel"] = panel
    doc["tumour"] = {"morphology": "8920/3", "topography": "C49.2"}
    doc["clinical_question"] = (
        "Metastatic relapse of alveolar rhabdomyosarcoma after VIT. Is there an early-phase "
        "trial suitable now?"
    )
    doc["modules"] = {
        "sarcoma": {
            "subtype": "rms_alveolar",
            "foxo1_fusion": "pax3_foxo1",
            "risk_group": "high",
            "metastatic_at_diagnosis": False,
        }
    }
    return doc


_HASHES: dict[tuple, str] = {}


def _hash_of(password: str) -> str:
    """An argon2id hash of ``password`` with the app's parameters, made once per process (a
    salted hash verifies whichever account stores it)."""
    from flask import current_app

    from panel.accounts.passwords import hash_password

    cfg = current_app.config
    key = (password, cfg.get("ARGON2_TIME_COST"), cfg.get("ARGON2_MEMORY_COST"))
    if key not in _HASHES:
        _HASHES[key] = hash_password(password)
    return _HASHES[key]


class UserFactory:
    """``make_user(referrer_at="NEWCASTLE", roles=[("NAP", "chair")], admin=True)``."""

    def __init__(self, session) -> None:
        self.session = session
        self.n = 0

    def __call__(
        self,
        *,
        name=None,
        email=None,
        referrer_at=None,
        centre=None,
        roles=(),
        admin=False,
        password=TEST_PASSWORD,
        totp=None,
        active=True,
    ):
        from panel.accounts import operations
        from panel.accounts.models import Centre, Panel, PanelRoleKind
        from panel.core.db import db, utcnow

        self.n += 1
        n = self.n
        centre_code = referrer_at or centre
        centre_obj = None
        if centre_code:
            centre_obj = self.session.scalar(db.select(Centre).where(Centre.code == centre_code))
        user = operations.create_user(
            email=email or f"user{n}@nhs.example.org",
            name=name or f"Dr Test User{n}",
            centre_id=centre_obj.id if centre_obj else None,
            is_referrer=bool(referrer_at),
            is_admin=admin,
        )
        if password:
            # The same hash create_user(password=...) would store: argon2 costs about 10 ms a
            # user even at the tests' low cost, and the suite makes many thousands of users.
            user.password_hash = _hash_of(password)
            user.password_changed_at = utcnow()
        for panel_code, role in roles:
            panel = self.session.scalar(db.select(Panel).where(Panel.code == panel_code))
            operations.add_panel_role(user, panel, PanelRoleKind(role), by=None)
        if totp is None:
            totp = user.requires_totp
        if totp:
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = utcnow()
        if not active:
            user.active = False
        self.session.commit()
        return user


class CaseFactory:
    """``make_case(referrer, doc=None, submit=False)``: a case made through the operations
    from the ALK example (or ``doc``). The coordinators' bell items and e-mails about a
    submission made here are dropped, so tests count only what they do themselves."""

    def __init__(self, session, *, submit: bool = False) -> None:
        self.session = session
        self.submit = submit
        self.example = example()

    def __call__(self, by, doc=None, *, submit: bool | None = None):
        from panel.cases import operations

        case = operations.create_case(copy.deepcopy(doc or self.example), by=by).case
        if self.submit if submit is None else submit:
            self._quietly(lambda: operations.submit_case(case, by=by))
        self.session.commit()
        return case

    def _quietly(self, action) -> None:
        from sqlalchemy import delete, func, select

        from panel.core.models import Notification, OutboxMail

        def last(model):
            return self.session.scalar(select(func.max(model.id))) or 0

        notes, mails = last(Notification), last(OutboxMail)
        action()
        self.session.execute(delete(Notification).where(Notification.id > notes))
        self.session.execute(delete(OutboxMail).where(OutboxMail.id > mails))


def people(make_user) -> dict[str, Any]:
    """One of each role that the access tests compare: two referrers at different centres,
    coordinators of two panels, a NAP member and an admin."""
    return {
        "referrer": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "nap_coordinator": make_user(roles=[("NAP", "coordinator")], name="Nap Coordinator"),
        "north_coordinator": make_user(
            roles=[("ECMC-NORTH", "coordinator")], name="North Coordinator"
        ),
        "nap_member": make_user(roles=[("NAP", "member")]),
        "admin": make_user(admin=True),
    }


def login(app, session, client, user, password=TEST_PASSWORD):
    """Sign ``client`` in as ``user`` through the real forms (password, then TOTP)."""
    resp = post_form(app, client, "/login", {"email": user.email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    if "/login/verify" in resp.headers["Location"]:
        user.totp_last_step = None  # allow a second login within the same 30 s step
        session.commit()
        resp = post_form(app, client, "/login/verify", {"code": totp_now(user)})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp
