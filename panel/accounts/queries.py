"""Read helpers for people and panels."""

from __future__ import annotations

from sqlalchemy import select

from panel.accounts.models import PanelRole, PanelRoleKind, User
from panel.core.db import db


def panel_people(panel_id: int, *roles: PanelRoleKind) -> list[User]:
    """Active people holding any of ``roles`` (all roles when none given) on a panel."""
    stmt = (
        select(User)
        .join(PanelRole, PanelRole.user_id == User.id)
        .where(PanelRole.panel_id == panel_id, User.active)
    )
    if roles:
        stmt = stmt.where(PanelRole.role.in_(roles))
    return list(db.session.scalars(stmt.distinct()))
