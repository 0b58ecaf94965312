"""The case page's panels, registered by the domains.

Each domain registers its cards in its ``init_app``::

    register_panel(app, "meetings.comments", "meetings/_case_comments.html", comments_context,
                   slot="main", order=50)

``context_fn(case, user, state)`` returns what the partial needs, or ``None`` to show nothing to
this user; ``state`` carries what a refused form sends back (e.g. ``comment_draft``).
``build_panels`` calls every context function *before* the page is rendered, so the template
runs no queries of its own; the template loops over the slots::

    {% for case_panel in case_panels.main %}{% include case_panel.template %}{% endfor %}

and each partial reads ``case_panel.context``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

#: Where a panel goes on the page: above the two columns, the main column, the side column.
SLOTS = ("top", "main", "side")

ContextFn = Callable[[Any, Any, dict], Any]


@dataclass(frozen=True)
class CasePanel:
    name: str
    template: str
    context_fn: ContextFn
    slot: str
    order: int


@dataclass(frozen=True)
class BuiltPanel:
    name: str
    template: str
    context: Any


def register_panel(
    app: Flask,
    name: str,
    template: str,
    context_fn: ContextFn,
    *,
    slot: str = "main",
    order: int = 100,
) -> None:
    """Add a card to the case page. A name registered twice, an unknown slot or a missing
    template is an error at start-up, not a silently empty card."""
    if slot not in SLOTS:
        raise ValueError(
            f"Case page panel {name!r}: unknown slot {slot!r} (one of {', '.join(SLOTS)})."
        )
    panels: dict[str, CasePanel] = app.extensions.setdefault("case_panels", {})
    if name in panels:
        raise ValueError(f"Case page panel {name!r} is registered twice.")
    app.jinja_env.loader.get_source(
        app.jinja_env, template
    )  # TemplateNotFound now, not a blank card later
    panels[name] = CasePanel(name, template, context_fn, slot, order)


def registered_panels(app: Flask | None = None) -> list[CasePanel]:
    """The registered panels, in page order (slot, then order, then name)."""
    app = app or current_app
    panels = app.extensions.get("case_panels", {}).values()
    return sorted(panels, key=lambda p: (SLOTS.index(p.slot), p.order, p.name))


def build_panels(case: Any, user: Any, **state: Any) -> dict[str, list[BuiltPanel]]:
    """Every panel's context for ``user`` on ``case``, computed now, by slot; panels whose
    context is ``None`` are left out."""
    built: dict[str, list[BuiltPanel]] = {slot: [] for slot in SLOTS}
    for panel in registered_panels():
        context = panel.context_fn(case, user, state)
        if context is not None:
            built[panel.slot].append(BuiltPanel(panel.name, panel.template, context))
    return built
