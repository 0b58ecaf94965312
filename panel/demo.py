"""Demo data for local use: people at several centres, on the national and one ECMC panel.

Loaded once by ``flask --app panel demo-data``; refused by a production configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from flask import current_app
from sqlalchemy import select

from panel.accounts import operations
from panel.accounts.models import Centre, Panel, PanelRoleKind, User
from panel.accounts.reference import load_reference_data
from panel.core.db import db, utcnow

DEMO_PASSWORD = "Panel-demo-2026"  # noqa: S105 - local demo accounts, refused in production
DEMO_DOMAIN = "demo.example.org"


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name: str
    centre: str | None
    referrer: bool = False
    admin: bool = False
    roles: tuple[tuple[str, PanelRoleKind], ...] = ()

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"

    @property
    def description(self) -> str:
        parts = []
        if self.admin:
            parts.append("admin")
        if self.referrer:
            parts.append(f"referrer at {self.centre}")
        parts += [f"{role.value} of {panel}" for panel, role in self.roles]
        return ", ".join(parts)


M, C, K = PanelRoleKind.MEMBER, PanelRoleKind.CHAIR, PanelRoleKind.COORDINATOR

PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("aisha.rahman", "Dr Aisha Rahman", "NEWCASTLE", referrer=True),
    DemoPerson("tom.whitfield", "Dr Tom Whitfield", "BIRMINGHAM", referrer=True),
    DemoPerson("priya.natarajan", "Dr Priya Natarajan", "SOUTHAMPTON", referrer=True),
    DemoPerson("helen.carter", "Prof Helen Carter", "GOSH", roles=(("NAP", C), ("NAP", M))),
    DemoPerson("james.okafor", "Dr James Okafor", "MANCHESTER", roles=(("NAP", M),)),
    DemoPerson("sophie.lindqvist", "Dr Sophie Lindqvist", "ROYAL_MARSDEN", roles=(("NAP", M),)),
    DemoPerson("rachel.moore", "Rachel Moore", None, roles=(("NAP", K),)),
    DemoPerson("fiona.macleod", "Dr Fiona MacLeod", "GLASGOW", roles=(("ECMC-NORTH", C), ("ECMC-NORTH", M))),
    DemoPerson("ben.ashworth", "Dr Ben Ashworth", "LEEDS", roles=(("ECMC-NORTH", M),)),
    DemoPerson("chloe.evans", "Dr Chloe Evans", "NEWCASTLE", roles=(("ECMC-NORTH", M), ("NAP", M))),
    DemoPerson("daniel.price", "Daniel Price", None, roles=(("ECMC-NORTH", K),)),
    DemoPerson("sam.taylor", "Sam Taylor", None, admin=True),
)


class DemoDataRefused(RuntimeError):
    pass


def demo_data_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.is_demo).limit(1)) is not None


def load_demo_data() -> list[tuple[DemoPerson, User]]:
    """Create the demo people (once). Returns them with their accounts."""
    if not current_app.config.get("ALLOW_DEMO_DATA"):
        raise DemoDataRefused("Demo data is refused in a production configuration.")
    load_reference_data()
    if demo_data_loaded():
        return []
    centres = {c.code: c for c in db.session.scalars(select(Centre))}
    panels = {p.code: p for p in db.session.scalars(select(Panel))}
    created = []
    for person in PEOPLE:
        user = operations.create_user(
            email=person.email,
            name=person.name,
            centre_id=centres[person.centre].id if person.centre else None,
            is_referrer=person.referrer,
            is_admin=person.admin,
            password=DEMO_PASSWORD,
            is_demo=True,
        )
        for panel_code, role in person.roles:
            operations.add_panel_role(user, panels[panel_code], role, by=None)
        if user.requires_totp:
            # Demo accounts that must use two-factor come enrolled; `flask demo-totp` shows codes.
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = utcnow()
        created.append((person, user))
    db.session.flush()
    return created


def demo_logins() -> list[tuple[str, str, bool]]:
    """(e-mail, description, needs a two-factor code) for the README and `make run`."""
    out = []
    for person in PEOPLE:
        user = User.by_email(person.email)
        if user is not None:
            out.append((person.email, person.description, user.totp_enabled))
    return out
