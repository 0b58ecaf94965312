"""Load test (issue #8): many people using Panel at once against gunicorn on PostgreSQL.

    .venv/bin/python bench/load.py                                  # 50 users, 60 s, 20,000 cases
    .venv/bin/python bench/load.py --users 20 --seconds 15 --cases 2000

It creates a fresh PostgreSQL database (``PANEL_BENCH_DATABASE_URL``, default
postgresql://postgres@127.0.0.1:5432/panel_load), migrates it, loads the demo data plus
``--cases`` synthetic cases and starts gunicorn in production mode with ``--workers`` processes
on loopback (the preparation, server start and sign-in are bench/pages.py's). Every demo
account signs in once (password + TOTP); each simulated user then gets its own HTTP session
with a copy of its account's cookies, so the default login rate limit is never hit. The API rate
limit is raised for the run (as bench/pages.py does).

``--users`` threads (default 50) then run for ``--seconds`` (default 60), each a person with a
short think time between requests (``--think``, mean seconds), doing a realistic mix:

* referrers: their dashboard, one of their own case pages, the API case list (personal token);
* coordinators: the triage queue, a meeting agenda, a case page of their panel, the dashboard,
  and now and then an autosave of the minutes of an agenda item (each coordinator its own
  item, sending the version the previous save returned);
* panel members: the home page (their review list), a case page, presentation mode, and now
  and then a comment on a case (a POST with its CSRF token).

It prints requests, throughput, p50/p95/p99 per kind of request and overall, and errors (an
answer other than 2xx/3xx, or an exception). The goal is zero errors.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("PANEL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/panel_load")

import pages  # noqa: E402 - bench/pages.py: prepare, start_server, sign_in, api_token, pct
import requests  # noqa: E402

DOMAIN = "demo.example.org"
REFERRERS = ["aisha.rahman", "tom.whitfield", "priya.natarajan"]
COORDINATORS = ["rachel.moore", "daniel.price"]
MEMBERS = [
    "james.okafor",
    "sophie.lindqvist",
    "ben.ashworth",
    "chloe.evans",
    "helen.carter",
    "fiona.macleod",
]
# Share of the simulated users per role (the rest are members).
MIX = {"referrer": 0.4, "coordinator": 0.2}
COMMENTS = [
    "Agree with discussing this at the next meeting.",
    "Worth checking the marrow result before the meeting.",
    "The MIBG response looks partial; restaging after two more cycles would help.",
    "Could the biopsy be sent for ALK sequencing before we decide?",
]
MINUTES = (
    "Panel reviewed the imaging and biology. Response to induction is partial; "
    "the options of an ALK inhibitor trial and further chemotherapy were discussed."
)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


# --------------------------------------------------------------------------- targets
@dataclass
class Account:
    key: str
    role: str
    cookies: object = None
    token: str | None = None
    own_cases: list[str] = field(default_factory=list)  # referrer: their cases
    cases: list[str] = field(default_factory=list)  # staff: open cases of their panels
    meetings: list[tuple[int, int]] = field(default_factory=list)  # (meeting id, number of items)
    items: list[tuple[int, int]] = field(
        default_factory=list
    )  # coordinator: (meeting, item) to minute

    @property
    def email(self) -> str:
        return f"{self.key}@{DOMAIN}"


def load_targets(url: str, accounts: list[Account]) -> None:
    """What each account may open: its cases, its panels' open cases, meetings and items."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        for acc in accounts:
            uid = conn.execute(
                text("SELECT id FROM users WHERE email = :e"), {"e": acc.email}
            ).scalar()
            if acc.role == "referrer":
                acc.own_cases = list(
                    conn.execute(
                        text(
                            "SELECT reference FROM cases WHERE created_by_id = :u ORDER BY updated_at DESC LIMIT 200"
                        ),
                        {"u": uid},
                    ).scalars()
                )
                continue
            panels = list(
                conn.execute(
                    text("SELECT DISTINCT panel_id FROM panel_roles WHERE user_id = :u"), {"u": uid}
                ).scalars()
            )
            params = {"p": panels}
            acc.cases = list(
                conn.execute(
                    text(
                        "SELECT reference FROM cases WHERE panel_id = ANY(:p) AND status IN "
                        "('submitted', 'scheduled', 'discussed', 'recommendation') ORDER BY updated_at DESC LIMIT 300"
                    ),
                    params,
                ).scalars()
            )
            acc.meetings = [
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT m.id, count(a.id) FROM meetings m JOIN agenda_items a ON a.meeting_id = m.id "
                        "WHERE m.panel_id = ANY(:p) AND m.status = 'published' GROUP BY m.id ORDER BY m.starts_at LIMIT 5"
                    ),
                    params,
                )
            ]
            if acc.role == "coordinator":
                acc.items = [
                    tuple(r)
                    for r in conn.execute(
                        text(
                            "SELECT a.meeting_id, a.id FROM agenda_items a JOIN meetings m ON m.id = a.meeting_id "
                            "WHERE m.panel_id = ANY(:p) AND m.status = 'published' AND a.outcome_status = 'pending' "
                            "ORDER BY a.id LIMIT 100"
                        ),
                        params,
                    )
                ]
    engine.dispose()
    for acc in accounts:
        have = acc.own_cases if acc.role == "referrer" else acc.cases
        if not have or (acc.role != "referrer" and not acc.meetings):
            raise SystemExit(f"no cases or meetings for {acc.email}: is the demo data loaded?")


# --------------------------------------------------------------------------- simulated users
class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []

    def add(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(ms)
            if error:
                self.errors[kind] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{kind}: {error}")


class User:
    def __init__(
        self,
        n: int,
        acc: Account,
        base: str,
        stats: Stats,
        deadline: float,
        think: float,
        item: tuple[int, int] | None,
    ) -> None:
        self.n, self.acc, self.base, self.stats, self.deadline, self.think = (
            n,
            acc,
            base,
            stats,
            deadline,
            think,
        )
        self.rng = random.Random(n)
        self.s = requests.Session()
        self.s.cookies.update(acc.cookies)
        self.item = item  # coordinator: the agenda item this person minutes
        self.minutes_version: int | None = None
        self.csrf: str | None = None

    # one request, timed and checked
    def call(
        self, kind: str, method: str, path: str, *, expect_json: bool = False, **kw
    ) -> requests.Response | None:
        t0 = time.perf_counter()
        error = None
        r = None
        try:
            r = self.s.request(method, self.base + path, allow_redirects=False, timeout=30, **kw)
            if not 200 <= r.status_code < 400:
                error = f"HTTP {r.status_code} {method} {path}"
            elif r.status_code in (301, 302, 303) and "/login" in r.headers.get("Location", ""):
                error = f"signed out: {method} {path} -> {r.headers['Location']}"
            elif expect_json:
                r.json()
        except (requests.RequestException, ValueError) as exc:
            error = f"{type(exc).__name__} {method} {path}: {exc}"[:200]
        self.stats.add(kind, (time.perf_counter() - t0) * 1000, error)
        return None if error else r

    def pick(self, items):
        return items[self.rng.randrange(len(items))]

    def meeting(self) -> tuple[int, int]:
        return self.pick(self.acc.meetings)

    # the mix per role: (weight, action)
    def referrer_actions(self):
        acc = self.acc
        return [
            (4, lambda: self.call("referrer dashboard", "GET", "/")),
            (
                4,
                lambda: self.call(
                    "referrer case page", "GET", f"/cases/{self.pick(acc.own_cases)}"
                ),
            ),
            (
                2,
                lambda: self.call(
                    "API case list",
                    "GET",
                    f"/api/v1/cases?page={self.rng.randint(1, 3)}",
                    headers={"Authorization": f"Bearer {acc.token}"},
                    expect_json=True,
                ),
            ),
        ]

    def coordinator_actions(self):
        acc = self.acc
        return [
            (3, lambda: self.call("triage queue", "GET", "/triage")),
            (3, lambda: self.call("meeting agenda", "GET", f"/meetings/{self.meeting()[0]}")),
            (3, lambda: self.call("case page", "GET", f"/cases/{self.pick(acc.cases)}")),
            (2, lambda: self.call("coordinator dashboard", "GET", "/")),
            (1, self.autosave_minutes),
        ]

    def member_actions(self):
        acc = self.acc

        def present():
            mid, count = self.meeting()
            return self.call(
                "presentation mode", "GET", f"/meetings/{mid}/present/{self.rng.randint(1, count)}"
            )

        return [
            (3, lambda: self.call("member review list", "GET", "/")),
            (3, lambda: self.call("case page", "GET", f"/cases/{self.pick(acc.cases)}")),
            (2, present),
            (0.4, self.comment),
        ]

    def comment(self):
        ref = self.pick(self.acc.cases)
        page = self.call("case page", "GET", f"/cases/{ref}")
        if page is None:
            return
        match = CSRF.search(page.text)
        if not match:
            self.stats.add("POST comment", 0, f"no CSRF token on /cases/{ref}")
            return
        self.call(
            "POST comment",
            "POST",
            f"/cases/{ref}/comments",
            data={
                "csrf_token": match.group(1),
                "body": self.pick(COMMENTS),
                "visibility": "internal",
            },
        )

    def autosave_minutes(self):
        if self.item is None:
            return self.call("meeting agenda", "GET", f"/meetings/{self.meeting()[0]}")
        mid, iid = self.item
        path = f"/meetings/{mid}/items/{iid}/minutes"
        if self.minutes_version is None or self.csrf is None:
            page = self.call("minutes editor", "GET", path)
            if page is None:
                return None
            self.csrf = CSRF.search(page.text).group(1)
            self.minutes_version = int(VERSION.search(page.text).group(1))
        r = self.call(
            "POST minutes autosave",
            "POST",
            path,
            expect_json=True,
            headers={"Accept": "application/json", "X-CSRFToken": self.csrf},
            data={
                "csrf_token": self.csrf,
                "version": self.minutes_version,
                "action": "save",
                "discussion": f"{MINUTES} (draft {self.rng.randint(1, 999)})",
                "outcome": "",
            },
        )
        if r is not None:
            self.minutes_version = r.json()["version"]
        else:
            self.minutes_version = None  # read the page again next time
        return r

    def run(self) -> None:
        actions = {
            "referrer": self.referrer_actions,
            "coordinator": self.coordinator_actions,
            "member": self.member_actions,
        }[self.acc.role]()
        weights = [w for w, _ in actions]
        time.sleep(self.rng.uniform(0, min(2.0, self.think * 4)))  # people do not all start at once
        while time.monotonic() < self.deadline:
            self.rng.choices(actions, weights)[0][1]()
            time.sleep(self.rng.uniform(0, 2 * self.think))


# --------------------------------------------------------------------------- main
def report(stats: Stats, seconds: float) -> int:
    rows = sorted(stats.times.items(), key=lambda kv: -len(kv[1]))
    everything = [ms for _, values in rows for ms in values]
    errors = sum(stats.errors.values())
    print(
        f"\n{'request':<24}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for kind, values in rows:
        print(
            f"{kind:<24}{len(values):>7}{len(values) / seconds:>8.1f}{pages.pct(values, 50):>9.1f}"
            f"{pages.pct(values, 95):>9.1f}{pages.pct(values, 99):>9.1f}{stats.errors[kind]:>8}"
        )
    print(
        f"{'all':<24}{len(everything):>7}{len(everything) / seconds:>8.1f}{pages.pct(everything, 50):>9.1f}"
        f"{pages.pct(everything, 95):>9.1f}{pages.pct(everything, 99):>9.1f}{errors:>8}"
    )
    for sample in stats.samples:
        print("  error:", sample)
    print(
        f"\n{len(everything)} requests in {seconds:.1f} s, {len(everything) / seconds:.1f} req/s, "
        f"{errors} errors ({'goal met' if errors == 0 else 'GOAL MISSED: zero errors'})."
    )
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think", type=float, default=0.25, help="mean think time between requests (s)"
    )
    args = parser.parse_args()
    print(
        f"== load: {args.users} users for {args.seconds:.0f} s, gunicorn {args.workers} workers, PostgreSQL, "
        f"{args.cases} synthetic cases"
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = pages.prepare("postgresql", tmp, args.cases)
        accounts = (
            [Account(k, "referrer") for k in REFERRERS]
            + [Account(k, "coordinator") for k in COORDINATORS]
            + [Account(k, "member") for k in MEMBERS]
        )
        load_targets(url, accounts)
        for acc in accounts:
            if acc.role == "referrer":
                acc.token = pages.api_token(url, acc.email)
        port = pages.free_port()
        proc = pages.start_server(url, tmp, port, args.workers, secrets.token_urlsafe(48))
        base = f"http://127.0.0.1:{port}"
        server_log: list[str] = []  # drain gunicorn's stderr so a full pipe never blocks it
        drain = threading.Thread(
            target=lambda: server_log.extend(
                line.decode(errors="replace") for line in iter(proc.stderr.readline, b"")
            ),
            daemon=True,
        )
        drain.start()
        try:
            for acc in accounts:  # one sign-in per account; its simulated people share the cookies
                acc.cookies = pages.sign_in(base, url, acc.email).cookies
            by_role = defaultdict(list)
            for acc in accounts:
                by_role[acc.role].append(acc)
            n_ref = round(args.users * MIX["referrer"])
            n_coord = round(args.users * MIX["coordinator"])
            roles = (
                ["referrer"] * n_ref
                + ["coordinator"] * n_coord
                + ["member"] * (args.users - n_ref - n_coord)
            )
            stats = Stats()
            started = time.monotonic()
            deadline = started + args.seconds
            people, seen = [], Counter()
            for n, role in enumerate(roles):
                acc = by_role[role][seen[role] % len(by_role[role])]
                # Each coordinator person minutes its own agenda item (no two autosave one item).
                item = (
                    acc.items[(seen[role] // len(by_role[role])) % len(acc.items)]
                    if acc.items
                    else None
                )
                seen[role] += 1
                people.append(User(n, acc, base, stats, deadline, args.think, item))
            threads = [threading.Thread(target=p.run, daemon=True) for p in people]
            print(
                f"  {len(people)} users: {dict(Counter(roles))}; running {args.seconds:.0f} s ..."
            )
            for t in threads:
                t.start()
            for t in threads:
                t.join(args.seconds + 60)
            elapsed = time.monotonic() - started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                proc.kill()
            drain.join(10)
    errors = report(stats, elapsed)
    worker_errors = [line.rstrip() for line in server_log if "ERROR" in line or "Traceback" in line]
    if worker_errors:
        print("server log errors:", *worker_errors[:10], sep="\n  ")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
