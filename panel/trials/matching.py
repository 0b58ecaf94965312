"""Matching cases against the registry in the database, computed live on every request.

The registry is compiled once per process and reused while it is unchanged: every call asks the
database for a cheap *registry key* (number of trials, latest ``updated_at``, sum of versions,
highest id), so a trial saved by any process invalidates every process's compiled copy on its
next request. Centres are read on every call (one small query) so an edited centre counts too.

A trial change never alters what was already sent: :func:`snapshot` freezes a match (trial code,
title, status, verification date, verdict, criteria results, nearest site and distance) for the
recommendation record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from panel.accounts.models import Centre
from panel.caseformat.fields import FIELDS
from panel.core.db import db, utcnow
from panel.trials import engine
from panel.trials.models import Trial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registry:
    """The compiled registry: every trial and study (of every status), in code order."""

    key: tuple[Any, ...]
    compiled: tuple[engine.CompiledTrial, ...]
    versions: Mapping[str, int] = field(default_factory=dict)

    @property
    def trials(self) -> list[engine.CompiledTrial]:
        return [t for t in self.compiled if not t.is_study]

    @property
    def studies(self) -> list[engine.CompiledTrial]:
        return [t for t in self.compiled if t.is_study]

    @property
    def not_recruiting(self) -> list[engine.CompiledTrial]:
        """Trials and studies that are not open (shown as such, never matched)."""
        return [t for t in self.compiled if not t.is_open]

    def __len__(self) -> int:
        return len(self.compiled)


_lock = threading.Lock()
_registries: dict[str, Registry] = {}
_centres: dict[str, tuple[tuple[Any, ...], engine.CentreIndex]] = {}
#: Centre codes by id, per database (kept with ``_centres``): the case's referring centre.
_centre_codes: dict[str, dict[int, str]] = {}


def _bind_key() -> str:
    bind = db.session.get_bind()
    return str(getattr(bind, "engine", bind).url)


def registry_key() -> tuple[Any, ...]:
    """One cheap query that changes whenever any trial is added, changed or removed."""
    row = db.session.execute(
        select(
            func.count(Trial.id),
            func.max(Trial.updated_at),
            func.coalesce(func.sum(Trial.version), 0),
            func.max(Trial.id),
        )
    ).one()
    return tuple(row)


def compile_records(records: Sequence[Mapping[str, Any]]) -> tuple[engine.CompiledTrial, ...]:
    """Compile stored records one by one; a record that no longer validates is left out and
    logged (it was valid when saved), so one bad row never hides every trial."""
    out = []
    for rec in records:
        try:
            out.append(engine.compile_trial(rec, None))
        except engine.TrialDefinitionError as exc:
            log.error("trial %s left out of matching: %s", rec.get("id"), exc)
    return tuple(out)


def current_registry() -> Registry:
    """The compiled registry, recompiled only when the registry key changed."""
    key = registry_key()
    where = _bind_key()
    cached = _registries.get(where)
    if cached is not None and cached.key == key:
        return cached
    trials = db.session.scalars(
        select(Trial).options(lazyload(Trial.updated_by)).order_by(Trial.code)
    ).all()
    reg = Registry(
        key=key,
        compiled=compile_records([t.match_record() for t in trials]),
        versions={t.code: t.version for t in trials},
    )
    with _lock:
        _registries[where] = reg
    return reg


def centre_rows() -> list[dict[str, Any]]:
    """The centres of the database as engine centre dicts (``code``, ``name``, ``city``, ...)."""
    rows = db.session.execute(
        select(Centre.id, Centre.code, Centre.name, Centre.city, Centre.lat, Centre.lon).order_by(
            Centre.code
        )
    ).all()
    return [
        {"id": r.id, "code": r.code, "name": r.name, "city": r.city, "lat": r.lat, "lon": r.lon}
        for r in rows
    ]


def centre_index() -> engine.CentreIndex:
    """The database's centres as an index (reused, with its distance memo, while unchanged)."""
    rows = centre_rows()
    if not rows:
        rows = engine.load_centres()
    key = tuple(tuple(r.get(k) for k in ("code", "name", "city", "lat", "lon")) for r in rows)
    where = _bind_key()
    codes = {r["id"]: r["code"] for r in rows if r.get("id") is not None}
    cached = _centres.get(where)
    if cached is not None and cached[0] == key and _centre_codes.get(where) == codes:
        return cached[1]
    index = engine.CentreIndex(rows)
    with _lock:
        _centres[where] = (key, index)
        _centre_codes[where] = codes
    return index


def clear_cache() -> None:
    """Forget every compiled registry (tests; never needed for correctness)."""
    with _lock:
        _registries.clear()
        _centres.clear()
        _centre_codes.clear()


# --------------------------------------------------------------------------- one case
def rule_body(data: Any) -> dict[str, Any]:
    """What rules read of a stored case body: the body with ``schema`` saying which version it
    is (a body stored without one: ``panel-case/2`` when it has a ``tumour`` or ``modules``
    section, else ``panel-case/1``; :func:`engine.case_version`). The engine reads v1 paths of
    a v2 body through :func:`convert.v1_view`, so rules written over them keep their meaning."""
    data = dict(data or {})
    if "schema" not in data:
        data["schema"] = "panel-case/2" if engine.case_version(data) == 2 else "panel-case/1"
    return data


def case_data(case: Any) -> dict[str, Any]:
    """What the matcher reads of a case: its body (questions are not rules) as
    :func:`rule_body` gives it, with ``referring_centre`` the case's referring centre
    (``Case.referring_centre_id``) when it has one: every distance is from that one centre,
    whatever the body says."""
    data = rule_body(case.data)
    centre_id = getattr(case, "referring_centre_id", None)
    if centre_id is not None:
        codes = _centre_codes.get(_bind_key())
        if codes is None or centre_id not in codes:
            centre_index()
            codes = _centre_codes.get(_bind_key(), {})
        if centre_id in codes:
            data["referring_centre"] = codes[centre_id]
    return data


def matches_for_case(case: Any, registry: Registry | None = None) -> list[engine.TrialMatch]:
    """The case against every **open trial** (studies left out), in the order of
    ``trial-rules.md``: eligible, possible, ineligible; nearest first; then trial id."""
    reg = registry or current_registry()
    return engine.match_case(case_data(case), reg.trials, centre_index())


@dataclass
class CaseMatching:
    """Everything the case page shows: open trials, studies, trials not recruiting."""

    matches: list[engine.TrialMatch]
    studies: list[engine.TrialMatch]
    not_recruiting: list[engine.CompiledTrial]
    registry: Registry
    computed_at: Any = field(default_factory=utcnow)

    @property
    def missing(self) -> list[tuple[engine.TrialMatch, engine.MissingInfo]]:
        """The unknown criteria of the ``possible`` trials, in trial order."""
        return [(m, mi) for m in self.matches if m.verdict == engine.POSSIBLE for mi in m.missing]

    def questions(self) -> list[str]:
        """One question for the referrer per unknown criterion (see :func:`missing_questions`)."""
        return missing_questions(self.matches)


def case_matching(case: Any) -> CaseMatching:
    """Match a case against the open trials and the studies of the registry."""
    reg = current_registry()
    index = centre_index()
    data = case_data(case)
    return CaseMatching(
        matches=engine.match_case(data, reg.trials, index),
        studies=engine.match_case(data, reg.studies, index),
        not_recruiting=reg.not_recruiting,
        registry=reg,
    )


def payload(name: str, matches: Sequence[engine.TrialMatch]) -> dict[str, Any]:
    """``{"case": name, "matches": [...]}``: the shape of ``flask match`` and the API. Only
    open trials (``match_case`` leaves the others out); each with its status, the date it was
    last checked and where (``status_source``), and its words for families (``plain_title``,
    ``plain_summary``)."""
    return {
        "case": name,
        "matches": [
            {**m.to_dict(), **status_fields(m), **plain_fields(m)}
            for m in matches
            if not m.is_study and m.status == "open"
        ],
    }


def status_fields(match: engine.TrialMatch) -> dict[str, Any]:
    """``status``, ``status_checked_on`` (YYYY-MM-DD or None) and ``status_source``."""
    raw: Mapping[str, Any] = match.trial.raw if match.trial is not None else {}
    checked = raw.get("status_verified_on")
    return {
        "status": match.status,
        "status_checked_on": str(checked)[:10] if checked else None,
        "status_source": raw.get("status_source"),
    }


def plain_fields(match: engine.TrialMatch) -> dict[str, Any]:
    """``plain_title`` and ``plain_summary``: the trial's words for families (None when not
    written yet; the family letter needs both before the trial can appear in it)."""
    raw: Mapping[str, Any] = match.trial.raw if match.trial is not None else {}
    return {
        "plain_title": raw.get("plain_title") or None,
        "plain_summary": raw.get("plain_summary") or None,
    }


def case_matches_payload(case: Any) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/cases/<ref>/matches``: the same object ``flask match`` prints,
    with the case reference as ``case``: only open trials, studies left out."""
    return payload(case.reference, matches_for_case(case))


# --------------------------------------------------------------------------- distance
def site_of(match: engine.TrialMatch) -> dict[str, Any] | None:
    """The one site and distance every surface shows for a match (case page, presentation
    mode, recommendation editor and its frozen entries, letters, API): the site that decides
    the trial's distance from the case's referring centre (``TrialMatch.site_view``), whose km
    is always ``match.distance_km`` when known."""
    return match.site_view()


def nearest_site(case: Any, trial: str) -> dict[str, Any] | None:
    """The site (and km) of ``trial`` (its code) for ``case``, from the case's referring
    centre, as every surface shows it; ``None`` when the trial is unknown or lists no site."""
    reg = current_registry()
    compiled = next((t for t in reg.compiled if t.id == trial), None)
    if compiled is None:
        return None
    index = centre_index()
    return site_of(compiled.evaluate(case_data(case), index))


# --------------------------------------------------------------------------- questions
def _field_label(path: str) -> str:
    spec = FIELDS.get(path)
    return spec.label if spec else engine.field_label(path)


def missing_questions(matches: Sequence[engine.TrialMatch]) -> list[str]:
    """One question per unknown criterion of the ``possible`` trials, worded from the
    criterion's label and the labels of the fields it needs (identical questions once)."""
    out: list[str] = []
    for m in matches:
        if m.verdict != engine.POSSIBLE:
            continue
        for mi in m.missing:
            needs = "; ".join(_field_label(p) for p in mi.fields) or "the information it needs"
            q = f"For the trial {m.trial_id}, to check \u201c{mi.label}\u201d, please give: {needs}."
            if q not in out:
                out.append(q)
    return out


# --------------------------------------------------------------------------- snapshots
def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A frozen snapshot back to plain JSON-able dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def snapshot(match: engine.TrialMatch, registry: Registry | None = None) -> Mapping[str, Any]:
    """A read-only copy of a match, for the recommendation record: later changes to the trial
    never alter it. ``thaw(snapshot(m))`` gives the JSON-able dict."""
    raw: Mapping[str, Any] = match.trial.raw if match.trial is not None else {}
    site = site_of(match)
    return _freeze(
        {
            "code": match.trial_id,
            "title": match.title,
            "version": (registry.versions.get(match.trial_id) if registry is not None else None),
            "status": match.status,
            "status_verified_on": raw.get("status_verified_on"),
            "verdict": match.verdict,
            "criteria": [
                {"id": c.id, "kind": c.kind, "label": c.label, "result": c.result}
                for c in match.criteria
            ],
            "missing": [mi.to_dict() for mi in match.missing],
            "nearest_site": (
                {
                    "centre": site["centre"],
                    "name": site["name"],
                    "distance_km": site["distance_km"],
                }
                if site is not None
                else None
            ),
            "distance_km": match.distance_km,
            "sites_mode": match.sites_mode,
            "beyond_travel_limit": match.beyond_travel_limit,
            "taken_at": utcnow().isoformat(timespec="seconds"),
        }
    )
