"""Trial statuses from the registries: ClinicalTrials.gov (API v2) and ISRCTN.

``flask --app panel sync-trials`` fetches the record of every trial of the registry (studies are
not synced) by its first NCT or ISRCTN id, or reads saved responses with ``--from PATH``. For each
trial it records:

- Panel's status (:func:`ctgov_status`, :func:`isrctn_status`) beside the registry's own words;
- the status of every UK site it can map to one of Panel's centres (:func:`map_site`); UK sites
  it cannot map are reported, never guessed;
- the registry's last-update date; when, and from where (URL or file), the record was fetched;
- what changed (``Trial.last_sync``).

A status change goes through :func:`panel.trials.registry.save_trial` (history, audit, and the
re-match that withdraws a closed trial from the newly-matching lists) and applies at once. The
sync writes ``trial.synced`` (or ``trial.sync_failed``) to the audit trail for every trial.

Each trial is fetched and applied on its own (its own savepoint): a network error, a time-out
or a malformed record marks that trial's sync as failed, keeps its last status and date (so it
goes stale and is flagged), and the others go on.

Only the standard library is used (``urllib``): ``requests`` is a test dependency of Panel, not
a run-time one, and one GET per trial needs nothing more.
"""

from __future__ import annotations

import json
import re
import socket
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from panel.core import audit
from panel.core.db import db, utcnow
from panel.trials import eligibility as elig
from panel.trials.models import Trial

CTGOV = "ClinicalTrials.gov"
ISRCTN = "ISRCTN"
NCT_RE = re.compile(r"^NCT\d{8}$")
ISRCTN_RE = re.compile(r"^ISRCTN\d{8}$")
UK_COUNTRIES = frozenset(
    {"united kingdom", "uk", "england", "scotland", "wales", "northern ireland"}
)
MAX_BYTES = 5 * 1024 * 1024

#: ClinicalTrials.gov ``overallStatus`` (and location ``status``) -> Panel's status. Only
#: RECRUITING is open; anything not listed (UNKNOWN, WITHHELD, a new value) is unknown.
CTGOV_STATUSES: Mapping[str, str] = {
    "RECRUITING": "open",
    "NOT_YET_RECRUITING": "not_yet_open",
    "ENROLLING_BY_INVITATION": "closed",
    "ACTIVE_NOT_RECRUITING": "closed",
    "COMPLETED": "closed",
    "TERMINATED": "closed",
    "WITHDRAWN": "closed",
    "NO_LONGER_AVAILABLE": "closed",
    "SUSPENDED": "suspended",
    "TEMPORARILY_NOT_AVAILABLE": "suspended",
}


class SyncError(Exception):
    """One trial could not be synced (network, HTTP status, time-out, malformed record)."""


# --------------------------------------------------------------------------- fetched records
@dataclass
class Site:
    facility: str | None
    city: str | None
    country: str | None
    registry_status: str | None
    status: str


@dataclass
class Fetched:
    """What a registry record says, in Panel's terms."""

    registry: str  # CTGOV or ISRCTN
    registry_id: str
    status: str
    registry_status: str
    updated_on: date | None
    sites: list[Site] = field(default_factory=list)
    fetched_from: str = ""
    # Eligibility text and age limits (:func:`panel.trials.eligibility.eligibility`); None when
    # the record has none, or a malformed one (``eligibility_problem`` says why: the status
    # is still applied).
    eligibility: dict[str, Any] | None = None
    eligibility_problem: str | None = None

    @property
    def source(self) -> str:
        return f"{self.registry} {self.registry_id}"


def ctgov_status(value: Any) -> str:
    return CTGOV_STATUSES.get(str(value or "").strip().upper(), "unknown")


def _date(value: Any) -> date | None:
    """A registry date (``2025-03-11``, ``2025-03``, ``2025-03-11T10:00:00Z``) or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()[:10]
    try:
        if len(text) == 7:  # a month: the registry gave no day
            return None
        return date.fromisoformat(text)
    except ValueError:
        return None


def _need(cond: Any, message: str) -> None:
    if not cond:
        raise SyncError(message)


def ctgov_eligibility(module: Any) -> tuple[dict[str, Any] | None, str | None]:
    """``protocolSection.eligibilityModule``: ``eligibilityCriteria`` (text), ``minimumAge``,
    ``maximumAge`` ("12 Months", "18 Years"). A malformed module is ignored with a problem (the
    sync goes on)."""
    if module is None:
        return None, None
    if not isinstance(module, Mapping):
        return None, "eligibility module is not an object: ignored"
    values = {k: module.get(k) for k in ("eligibilityCriteria", "minimumAge", "maximumAge")}
    bad = sorted(k for k, v in values.items() if v is not None and not isinstance(v, str))
    if bad:
        return None, f"eligibility module: {', '.join(bad)} is not text: ignored"
    return (
        elig.eligibility(values["eligibilityCriteria"], values["minimumAge"], values["maximumAge"]),
        None,
    )


def parse_ctgov(study: Any, *, fetched_from: str = "") -> Fetched:
    """A ClinicalTrials.gov API v2 study object (``/api/v2/studies/{id}``)."""
    _need(isinstance(study, Mapping), "malformed record: not a study object")
    proto = study.get("protocolSection")
    _need(isinstance(proto, Mapping), "malformed record: no protocolSection")
    ident = proto.get("identificationModule")
    _need(isinstance(ident, Mapping), "malformed record: no identificationModule")
    nct = ident.get("nctId")
    _need(isinstance(nct, str) and NCT_RE.match(nct), "malformed record: no valid nctId")
    status_mod = proto.get("statusModule")
    _need(isinstance(status_mod, Mapping), f"{nct}: malformed record: no statusModule")
    overall = status_mod.get("overallStatus")
    _need(isinstance(overall, str) and overall, f"{nct}: malformed record: no overallStatus")
    last = status_mod.get("lastUpdatePostDateStruct")
    updated = _date(last.get("date")) if isinstance(last, Mapping) else None
    sites: list[Site] = []
    locations = (proto.get("contactsLocationsModule") or {}).get("locations") or []
    _need(isinstance(locations, list), f"{nct}: malformed record: locations is not a list")
    for loc in locations:
        if not isinstance(loc, Mapping):
            continue
        raw = loc.get("status")
        sites.append(
            Site(
                facility=loc.get("facility") if isinstance(loc.get("facility"), str) else None,
                city=loc.get("city") if isinstance(loc.get("city"), str) else None,
                country=loc.get("country") if isinstance(loc.get("country"), str) else None,
                registry_status=raw if isinstance(raw, str) else None,
                # A site without its own status follows the trial's.
                status=ctgov_status(raw) if raw else ctgov_status(overall),
            )
        )
    eligibility, problem = ctgov_eligibility(proto.get("eligibilityModule"))
    return Fetched(
        registry=CTGOV,
        registry_id=nct,
        status=ctgov_status(overall),
        registry_status=overall,
        updated_on=updated,
        sites=sites,
        fetched_from=fetched_from,
        eligibility=eligibility,
        eligibility_problem=problem,
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return c.text.strip() if c is not None and c.text and c.text.strip() else None


def _isrctn_age(el: ET.Element | None) -> str | None:
    """An ISRCTN age limit: ``<lowerAgeLimit value="1.0" unit="Years"/>``, or the words as text
    ("1 Years"). "Not Specified" is no limit."""
    if el is None:
        return None
    value, unit = el.get("value"), el.get("unit")
    words = (
        elig.age_words(value, unit)
        if value not in (None, "")
        else (el.text.strip() if el.text and el.text.strip() else None)
    )
    if words is None or "not specified" in words.lower():
        return None
    return words


def isrctn_eligibility(parts: ET.Element | None) -> dict[str, Any] | None:
    """The participants section's inclusion and exclusion text and its age limits."""
    if parts is None:
        return None
    inclusion = _text(parts, "inclusion") or _text(parts, "participantInclusionCriteria")
    exclusion = _text(parts, "exclusion") or _text(parts, "participantExclusionCriteria")
    blocks = []
    if inclusion:
        blocks.append("Inclusion criteria:\n" + inclusion)
    if exclusion:
        blocks.append("Exclusion criteria:\n" + exclusion)
    return elig.eligibility(
        "\n\n".join(blocks) or None,
        _isrctn_age(_child(parts, "lowerAgeLimit")),
        _isrctn_age(_child(parts, "upperAgeLimit")),
    )


def isrctn_status(
    override: str | None, start: date | None, end: date | None, today: date
) -> tuple[str, str]:
    """Panel's status and the registry's words for an ISRCTN record.

    ISRCTN publishes no recruitment-status field in its API, only an optional
    ``recruitmentStatusOverride`` and the recruitment start and end dates; the website derives
    "Recruiting" / "Not yet recruiting" / "No longer recruiting" from them, and so does Panel.
    """
    if override:
        words = override
        low = override.lower()
        if "suspend" in low:
            return "suspended", words
        if "stop" in low or "not recruiting" in low or "no longer" in low or "complete" in low:
            return "closed", words
        if low in ("recruiting", "open"):
            return "open", words
        if "not yet" in low or "anticipated" in low:
            return "not_yet_open", words
        return "unknown", words
    if start is None or end is None:
        return "unknown", "recruitment dates not given"
    if today < start:
        return "not_yet_open", f"Not yet recruiting (recruitment {start} to {end})"
    if today > end:
        return "closed", f"No longer recruiting (recruitment ended {end})"
    return "open", f"Recruiting (recruitment {start} to {end})"


def parse_isrctn(text: str | bytes, *, today: date, fetched_from: str = "") -> list[Fetched]:
    """Every trial of an ISRCTN API XML document (``<allTrials>`` or one ``<fullTrial>``)."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - a registry's XML; entities are not expanded
    except ET.ParseError as exc:
        raise SyncError(f"malformed record: not valid XML ({exc})") from None
    if _local(root.tag) == "allTrials":
        fulls = [c for c in root if _local(c.tag) == "fullTrial"]
    elif _local(root.tag) == "fullTrial":
        fulls = [root]
    else:
        raise SyncError(f"malformed record: unexpected XML root <{_local(root.tag)}>")
    out = []
    for full in fulls:
        trial = _child(full, "trial")
        _need(trial is not None, "malformed record: <fullTrial> without <trial>")
        number = _text(trial, "isrctn")
        _need(number is not None and number.isdigit(), "malformed record: no ISRCTN number")
        ident = f"ISRCTN{number}"
        parts = _child(trial, "participants")
        override = _text(parts, "recruitmentStatusOverride") or _text(
            _child(trial, "trialDesign"), "overallStatusOverride"
        )
        start = _date(_text(parts, "recruitmentStart"))
        end = _date(_text(parts, "recruitmentEnd"))
        status, words = isrctn_status(override, start, end, today)
        sites = []
        centres = _child(parts, "trialCentres")
        for c in centres if centres is not None else []:
            if _local(c.tag) != "trialCentre":
                continue
            # ISRCTN lists centres without a status of their own: each follows the trial.
            sites.append(
                Site(
                    facility=_text(c, "name"),
                    city=_text(c, "city"),
                    country=_text(c, "country"),
                    registry_status=None,
                    status=status,
                )
            )
        out.append(
            Fetched(
                registry=ISRCTN,
                registry_id=ident,
                status=status,
                registry_status=words,
                updated_on=_date(trial.get("lastUpdated")),
                sites=sites,
                fetched_from=fetched_from,
                eligibility=isrctn_eligibility(parts),
            )
        )
    return out


# --------------------------------------------------------------------------- sources
def registry_id(trial: Trial) -> str | None:
    """The id the sync fetches: the first NCT id, else the first ISRCTN id (None: neither)."""
    ids = [str(i).strip().upper().replace(" ", "") for i in trial.registry_ids or []]
    for pattern in (NCT_RE, ISRCTN_RE):
        for i in ids:
            if pattern.match(i):
                return i
    return None


class HttpSource:
    """The live registries (base URLs from the settings), with a time-out and retries."""

    def __init__(
        self,
        ctgov_url: str,
        isrctn_url: str,
        *,
        timeout: float = 20.0,
        retries: int = 2,
        retry_wait: float = 2.0,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.ctgov_url = ctgov_url.rstrip("/")
        self.isrctn_url = isrctn_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.retry_wait = retry_wait
        self.today = today or (lambda: utcnow().date())

    def url_for(self, ident: str) -> str:
        if ident.startswith("NCT"):
            return f"{self.ctgov_url}/studies/{urllib.parse.quote(ident)}?format=json"
        return f"{self.isrctn_url}/trial/{urllib.parse.quote(ident)}/format/default"

    def _get(self, url: str) -> bytes:
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_wait * 2 ** (attempt - 1))
            req = urllib.request.Request(  # noqa: S310 - http(s) URLs from the settings
                url, headers={"Accept": "application/json, application/xml", "User-Agent": "Panel"}
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                    body = resp.read(MAX_BYTES + 1)
                if len(body) > MAX_BYTES:
                    raise SyncError(f"{url}: response larger than {MAX_BYTES} bytes")
                return body
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code == 404:
                    raise SyncError(f"{url}: not found in the registry (HTTP 404)") from None
                if exc.code < 500 and exc.code != 429:
                    raise SyncError(f"{url}: {last}") from None
            except TimeoutError:
                last = f"no answer within {self.timeout:g} s"
            except urllib.error.URLError as exc:
                reason = exc.reason
                last = (
                    f"no answer within {self.timeout:g} s"
                    if isinstance(reason, (TimeoutError, socket.timeout))
                    else f"network error ({reason})"
                )
            except (ConnectionError, OSError) as exc:
                last = f"network error ({exc.__class__.__name__})"
        tries = self.retries + 1
        raise SyncError(f"{url}: {last} ({tries} attempt{'s' if tries > 1 else ''})")

    def fetch(self, ident: str) -> Fetched:
        url = self.url_for(ident)
        body = self._get(url)
        if ident.startswith("NCT"):
            try:
                doc = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise SyncError(f"{url}: malformed record: not valid JSON") from None
            fetched = parse_ctgov(doc, fetched_from=url)
        else:
            found = [f for f in parse_isrctn(body, today=self.today(), fetched_from=url)]
            fetched = next((f for f in found if f.registry_id == ident), None)
            if fetched is None:
                raise SyncError(f"{url}: the response holds no record {ident}")
        if fetched.registry_id != ident:
            raise SyncError(f"{url}: the response is the record of {fetched.registry_id}")
        return fetched


class FileSource:
    """Saved responses: a file or a folder (searched recursively) of ``.json`` (a v2 study or
    ``{"studies": [...]}``) and ``.xml`` (ISRCTN) files. A file that cannot be read is reported,
    the others are used; of several records of one trial, the one updated last counts."""

    def __init__(self, path: str | Path, *, today: date) -> None:
        self.path = Path(path)
        self.records: dict[str, Fetched] = {}
        self.problems: list[str] = []
        if not self.path.exists():
            raise FileNotFoundError(str(path))
        files = (
            sorted(
                p
                for p in self.path.rglob("*")
                if p.is_file() and p.suffix.lower() in (".json", ".xml")
            )
            if self.path.is_dir()
            else [self.path]
        )
        for f in files:
            try:
                for rec in self._read(f, today):
                    # Several saved records of one trial: the one the registry updated last.
                    kept = self.records.get(rec.registry_id)
                    if kept is None or (rec.updated_on or date.min) >= (
                        kept.updated_on or date.min
                    ):
                        self.records[rec.registry_id] = rec
            except SyncError as exc:
                self.problems.append(f"{f}: {exc}")
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(f"{f}: cannot be read ({exc.__class__.__name__})")

    @staticmethod
    def _read(f: Path, today: date) -> list[Fetched]:
        data = f.read_bytes()
        if data.lstrip()[:1] == b"<":
            return parse_isrctn(data, today=today, fetched_from=str(f))
        try:
            doc = json.loads(data)
        except ValueError:
            raise SyncError("malformed record: neither JSON nor XML") from None
        if isinstance(doc, Mapping) and isinstance(doc.get("studies"), list):
            out = []
            for s in doc["studies"]:
                out.append(parse_ctgov(s, fetched_from=str(f)))
            return out
        return [parse_ctgov(doc, fetched_from=str(f))]

    def fetch(self, ident: str) -> Fetched:
        rec = self.records.get(ident)
        if rec is None:
            raise SyncError(f"no saved record for {ident} in {self.path}")
        return rec


# --------------------------------------------------------------------------- site mapping
#: Words that name a centre in registry site lists, beyond its own name (checked against the
#: facility name; then a city with a single centre).
SITE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "ROYAL_MARSDEN": ("royal marsden",),
    "GOSH": ("great ormond street",),
    "UCLH": ("university college london", "university college hospital"),
    "EVELINA": ("evelina",),
    "ST_GEORGES": ("st george", "saint george"),
    "BIRMINGHAM": ("birmingham children", "birmingham women"),
    "MANCHESTER": ("royal manchester children", "manchester university"),
    "LIVERPOOL": ("alder hey",),
    "NEWCASTLE": (
        "great north children",
        "newcastle upon tyne hospitals",
        "royal victoria infirmary",
    ),
    "LEEDS": ("leeds children", "leeds teaching hospitals", "st james"),
    "SHEFFIELD": ("sheffield children",),
    "NOTTINGHAM": (
        "nottingham children",
        "queens medical centre",
        "nottingham university hospitals",
    ),
    "LEICESTER": ("leicester royal infirmary", "university hospitals of leicester"),
    "CARDIFF": ("noah's ark", "noahs ark", "university hospital of wales"),
    "BRISTOL": ("bristol royal hospital for children", "university hospitals bristol"),
    "CAMBRIDGE": ("addenbrooke",),
    "OXFORD": ("oxford children", "john radcliffe", "oxford university hospitals"),
    "SOUTHAMPTON": (
        "southampton children",
        "southampton general",
        "university hospital southampton",
    ),
    "GLASGOW": ("royal hospital for children glasgow", "royal hospital for children, glasgow"),
    "EDINBURGH": ("royal hospital for children and young people", "sick children edinburgh"),
    "ABERDEEN": ("royal aberdeen children",),
    "BELFAST": ("royal belfast hospital for sick children", "royal belfast"),
}


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).replace("  ", " ").strip()


def map_site(site: Site, centres: Iterable[Mapping[str, Any]]) -> str | None:
    """The code of the centre a UK registry site is, or None when it cannot be told."""
    centres = list(centres)
    facility = _norm(site.facility)
    city = _norm(site.city)
    if facility:
        for c in centres:
            words = [_norm(c.get("name"))] + [_norm(a) for a in SITE_ALIASES.get(c["code"], ())]
            if any(w and w in facility for w in words):
                return c["code"]
    if city:
        in_city = [c["code"] for c in centres if _norm(c.get("city")) == city]
        if len(in_city) == 1:
            return in_city[0]
    return None


def is_uk(site: Site) -> bool:
    return _norm(site.country) in UK_COUNTRIES


# --------------------------------------------------------------------------- applying
@dataclass
class TrialResult:
    code: str
    registry_id: str | None
    ok: bool
    message: str
    changes: dict[str, Any] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)


@dataclass
class SyncSummary:
    results: list[TrialResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[TrialResult]:
        return [r for r in self.results if not r.ok]

    def lines(self) -> list[str]:
        out = [f"{r.code}: {r.message}" for r in self.results]
        for r in self.results:
            if r.unmapped:
                out.append(f"{r.code}: UK sites not mapped to a centre: " + "; ".join(r.unmapped))
        out.extend(f"warning: {p}" for p in self.problems)
        changed = sum(1 for r in self.results if r.ok and r.changes)
        out.append(
            f"{len(self.results)} trials: {sum(r.ok for r in self.results)} synced "
            f"({changed} changed), {len(self.failed)} failed."
        )
        return out


def _site_label(s: Site) -> str:
    return ", ".join(x for x in (s.facility, s.city) if x) or "(unnamed site)"


def site_rows(fetched: Fetched, centres: list[Mapping[str, Any]]) -> tuple[list[dict], list[str]]:
    """The UK sites mapped to centres (one row per centre: open if any of its sites is open)
    and the labels of the UK sites that could not be mapped."""
    rows: dict[str, dict[str, Any]] = {}
    unmapped: list[str] = []
    for s in fetched.sites:
        if not is_uk(s):
            continue
        code = map_site(s, centres)
        if code is None:
            unmapped.append(_site_label(s))
            continue
        row = {
            "centre": code,
            "status": s.status,
            "registry_status": s.registry_status,
            "facility": s.facility,
            "city": s.city,
        }
        if code not in rows or (s.status == "open" and rows[code]["status"] != "open"):
            rows[code] = row
    return [rows[k] for k in sorted(rows)], unmapped


def apply_fetched(
    trial: Trial, fetched: Fetched, *, now: datetime, centres: list[Mapping[str, Any]]
) -> TrialResult:
    """Record what the registry said about ``trial`` (see the module docstring)."""
    from panel.trials.registry import announce_if_stopped, normalise_record, save_trial

    sites, unmapped = site_rows(fetched, centres)
    before_sites = {s["centre"]: s.get("status") for s in trial.site_statuses or []}
    after_sites = {s["centre"]: s["status"] for s in sites}
    changes: dict[str, Any] = {}
    old_status = trial.status.value
    if old_status != fetched.status:
        changes["status"] = [old_status, fetched.status]
    if trial.registry_status != fetched.registry_status:
        changes["registry_status"] = [trial.registry_status, fetched.registry_status]
    old_updated = trial.registry_updated_on.isoformat() if trial.registry_updated_on else None
    new_updated = fetched.updated_on.isoformat() if fetched.updated_on else None
    if old_updated != new_updated:
        changes["registry_updated_on"] = [old_updated, new_updated]
    site_changes = {
        c: [before_sites.get(c), after_sites.get(c)]
        for c in sorted(set(before_sites) | set(after_sites))
        if before_sites.get(c) != after_sites.get(c)
    }
    if site_changes:
        changes["sites"] = site_changes
    # Eligibility: what the registry says now is kept; the criteria are never changed (a
    # difference from the reviewed baseline is a proposal for coordinators).
    if fetched.eligibility is not None:
        changes.update(elig.sync_changes(trial.registry_eligibility, fetched.eligibility))

    rec = {
        **normalise_record(trial.to_record()),
        "status": fetched.status,
        "status_verified_on": now.date().isoformat(),
        "status_source": fetched.source,
    }
    save_trial(rec, by=None, trial=trial, actor_label="sync-trials")
    recruiting = None if trial.is_study else trial.match_record()["status"]
    trial.registry_status = fetched.registry_status[:64]
    trial.registry_updated_on = fetched.updated_on
    trial.status_fetched_at = now
    trial.status_fetched_from = fetched.fetched_from[:500]
    trial.site_statuses = sites
    if fetched.eligibility is not None:
        trial.registry_eligibility = fetched.eligibility
    trial.last_sync = {
        "at": now.isoformat(timespec="seconds"),
        "from": fetched.fetched_from,
        "ok": True,
        "error": None,
        "changes": changes,
        "unmapped_uk_sites": unmapped,
        "eligibility_problem": fetched.eligibility_problem,
    }
    db.session.flush()
    # Open, but none of its sites recruiting any more: stopped as far as the matcher sees it
    # (a status change was announced by save_trial already).
    announce_if_stopped(trial, recruiting, by=None, actor_label="sync-trials")
    audit.record(
        "trial.synced",
        obj=trial,
        actor_label="sync-trials",
        details={
            "source": fetched.source,
            "from": fetched.fetched_from,
            "registry_status": fetched.registry_status,
            "status": fetched.status,
            "changes": changes,
            "unmapped_uk_sites": unmapped,
        },
    )
    if changes.get("status"):
        message = f"{changes['status'][0]} -> {changes['status'][1]} ({fetched.registry_status})"
    else:
        message = f"{fetched.status} ({fetched.registry_status}), status unchanged"
    if site_changes:
        message += "; sites: " + ", ".join(
            f"{c} {a or 'not listed'} -> {b or 'not listed'}" for c, (a, b) in site_changes.items()
        )
    if "eligibility_text" in changes:
        message += f"; eligibility text {changes['eligibility_text']}"
    if "age_limits" in changes:
        message += (
            f"; age limits {changes['age_limits'][0] or 'none'} -> {changes['age_limits'][1]}"
        )
    if trial.eligibility_proposal() is not None:
        message += " (eligibility proposal waiting for a coordinator)"
    if fetched.eligibility_problem:
        message += f"; warning: {fetched.eligibility_problem}"
    return TrialResult(trial.code, fetched.registry_id, True, message, changes, unmapped)


def _record_failure(trial: Trial, ident: str | None, error: str, now: datetime) -> None:
    trial.last_sync = {
        "at": now.isoformat(timespec="seconds"),
        "from": ident,
        "ok": False,
        "error": error,
        "changes": {},
        "unmapped_uk_sites": [],
    }
    db.session.flush()
    audit.record(
        "trial.sync_failed",
        obj=trial,
        actor_label="sync-trials",
        details={"registry_id": ident, "error": error},
    )


def sync_trials(source: Any, *, codes: Iterable[str] | None = None) -> SyncSummary:
    """Sync every trial of the registry (or those of ``codes``) from ``source``. It ends the
    caller's transaction (which must hold no writes) before asking the registries, so nothing is
    locked while the network is slow; then flushes its writes without committing them, each
    trial in its own savepoint, so one failure never stops or undoes the others."""
    from panel.trials import engine
    from panel.trials.matching import centre_rows

    centres = centre_rows() or engine.load_centres()
    query = select(Trial).where(Trial.is_study.is_(False)).order_by(Trial.code)
    wanted = set(codes) if codes else None
    summary = SyncSummary(problems=list(getattr(source, "problems", [])))
    # Every registry is asked first, with no transaction open: a transaction holds the
    # database's write lock while it lasts (SQLite's begin IMMEDIATE: the whole file, so every
    # sign-in waits) and the registries can take minutes when they are slow or out of reach.
    # The trials are read, that read is ended, the network is asked with nothing held, then
    # everything fetched is applied in one short stretch of writes.
    asked: list[tuple[int, str, str]] = []
    for trial in db.session.scalars(query).all():
        if wanted is not None and trial.code not in wanted:
            continue
        ident = registry_id(trial)
        if ident is None:
            ids = ", ".join(trial.registry_ids or []) or "none"
            summary.results.append(
                TrialResult(
                    trial.code,
                    None,
                    False,
                    f"skipped: no ClinicalTrials.gov or ISRCTN id to fetch (registry ids: {ids}); "
                    "check its status by hand",
                )
            )
            continue
        asked.append((trial.id, trial.code, ident))
    db.session.commit()  # only read so far: this ends the read, and its lock
    answers: list[tuple[int, str, Any, str | None]] = []
    for trial_id, _code, ident in asked:
        try:
            answers.append((trial_id, ident, source.fetch(ident), None))
        except SyncError as exc:
            answers.append((trial_id, ident, None, str(exc)))
    fetched_all = [(db.session.get(Trial, tid), ident, f, e) for tid, ident, f, e in answers]
    now = utcnow()
    for trial, ident, fetched, error in fetched_all:
        if error is not None:
            with db.session.begin_nested():
                _record_failure(trial, ident, error, now)
            summary.results.append(
                TrialResult(trial.code, ident, False, f"failed, status left as it was: {error}")
            )
            continue
        try:
            with db.session.begin_nested():
                result = apply_fetched(trial, fetched, now=now, centres=centres)
        except Exception as exc:  # noqa: BLE001 - one trial's failure never stops the others
            db.session.expire(trial)
            message = f"{exc.__class__.__name__}: {exc}"
            with db.session.begin_nested():
                _record_failure(trial, ident, message, now)
            summary.results.append(
                TrialResult(trial.code, ident, False, f"failed, status left as it was: {message}")
            )
            continue
        summary.results.append(result)
    summary.results.sort(key=lambda r: r.code)
    return summary


def source_from_config(config: Mapping[str, Any]) -> HttpSource:
    return HttpSource(
        config["CTGOV_API_URL"],
        config["ISRCTN_API_URL"],
        timeout=float(config.get("TRIAL_SYNC_TIMEOUT", 20)),
        retries=int(config.get("TRIAL_SYNC_RETRIES", 2)),
        retry_wait=float(config.get("TRIAL_SYNC_RETRY_WAIT", 2)),
    )


# --------------------------------------------------------------------------- checked by hand
CHECK_STATUSES = ("open", "not_yet_open", "suspended", "closed", "unknown")


def mark_checked(
    trial: Trial, *, status: str, source: str, by: Any, expected_version: int | None = None
) -> Trial:
    """A coordinator checked the trial's status (with the trial team, on the registry's page):
    the status they found and where, dated today. Audited (``trial.status_checked``)."""
    from panel.trials.registry import TrialError, TrialNotAllowed, normalise_record, save_trial

    if not Trial.can_edit(by):
        raise TrialNotAllowed("Only coordinators check a trial's status.")
    if status not in CHECK_STATUSES:
        raise TrialError(f"trial {trial.code}: choose the status you found")
    source = (source or "").strip()
    if not source:
        raise TrialError(
            f"trial {trial.code}: say where you checked the status (e.g. the trial team, "
            "or the registry's page)"
        )
    if len(source) > 200:
        raise TrialError(f"trial {trial.code}: the source is limited to 200 characters")
    from panel.privacy.guard import guard_texts

    guard_texts([("source", source)])
    today = utcnow().date()
    before = {"status": trial.status.value, "status_verified_on": trial.status_verified_on}
    rec = {
        **normalise_record(trial.to_record()),
        "status": status,
        "status_verified_on": today.isoformat(),
        "status_source": f"{source} (checked by {by.email})"[:300],
    }
    save_trial(rec, by=by, trial=trial, expected_version=expected_version)
    audit.record(
        "trial.status_checked",
        obj=trial,
        actor=by,
        details={
            "status": [before["status"], status],
            "previously_checked_on": before["status_verified_on"].isoformat()
            if before["status_verified_on"]
            else None,
            "source": source,
        },
    )
    return trial
