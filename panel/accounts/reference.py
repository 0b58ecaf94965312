"""Reference data shipped with Panel: centres and panels (copied from the domain files)."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import select

from panel.accounts.models import Centre, Panel
from panel.core.db import db


def _load(name: str) -> dict:
    return json.loads(resources.files("panel.data").joinpath(name).read_text(encoding="utf-8"))


def source_line(fact: dict) -> str:
    """A fact's source, its date and when it was read, and what is unknown, as one line."""
    parts = [(fact.get("source") or "unknown").rstrip(".")]
    parts.append(f"source date: {fact.get('source_date') or 'undated'}")
    if fact.get("checked_on"):
        parts.append(f"read for Panel {fact['checked_on']}")
    if fact.get("unknown"):
        parts.append(f"unknown: {fact['unknown'].rstrip('.')}")
    return "; ".join(parts)


def apply_takes(panel: Panel, item: dict) -> None:
    """What a panel takes and its family words, from its ``panels.json`` entry (absent: any
    tumour type, and no words of its own)."""
    takes = item.get("takes") or {}
    panel.takes_iccc = list(takes.get("iccc") or [])
    panel.takes_morphology = list(takes.get("morphology") or [])
    panel.takes_words = takes.get("words") or ""
    panel.takes_source = source_line(takes) if takes else ""
    family = item.get("family_words") or {}
    panel.family_words = family.get("text") or ""
    panel.family_words_source = source_line(family) if family else ""


def load_reference_data() -> tuple[int, int]:
    """Insert or update centres and panels from the packaged JSON. Returns (centres, panels)."""
    panels = _load("panels.json")["panels"]
    existing = {p.code: p for p in db.session.scalars(select(Panel))}
    for item in panels:
        panel = existing.get(item["code"]) or Panel(code=item["code"])
        panel.name, panel.scope, panel.remit = item["name"], item["scope"], item.get("remit", "")
        apply_takes(panel, item)
        db.session.add(panel)
    centres = _load("centres.json")["centres"]
    existing_c = {c.code: c for c in db.session.scalars(select(Centre))}
    for item in centres:
        centre = existing_c.get(item["code"]) or Centre(code=item["code"])
        centre.name, centre.city = item["name"], item["city"]
        centre.lat, centre.lon = item["lat"], item["lon"]
        centre.ecmc_panel_code = item.get("ecmc_panel")
        db.session.add(centre)
    db.session.flush()
    return len(centres), len(panels)
