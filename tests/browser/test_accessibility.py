"""WCAG 2.2 AA on every page (issue 16): axe-core on every page of the route list (the app's
``url_map``, which the access matrix declares route by route), as each role that can reach it,
at 1366 px and at 390 px; plus the sign-in steps, the family's pages (code entry, letter,
documents, follow-up question form) and the letters in HTML.

Besides axe's WCAG 2.0/2.1/2.2 A and AA rules, each page must: not scroll sideways at 390 px;
have a skip link that moves the keyboard focus to the main content; label every form control
(a placeholder is not a label); have exactly one ``h1``.

One live server on the demo data, plus a few objects made with the app's operations (a case
on the coming NAP meeting, an uploaded series, a family code); one sign-in per role (its
browser context is reused); every problem is collected and reported at once, naming the page,
role, width, rule and nodes. The figures per page go to test-artifacts/accessibility.json
(``docs/accessibility.md`` keeps the before/after). Markup does not depend on the database,
so the test runs on SQLite only."""

from __future__ import annotations

import io
import itertools
import json
import time

import pytest
from flask import url_for
from sqlalchemy import select

from tests.support import synth
from tests.support.accessibility import Finding, check_page, report
from tests.support.journeys import (
    CHAIR,
    COORDINATOR,
    DEMO,
    REFERRER,
    forget_last_totp,
    in_app,
    totp_secret,
    user,
)

pytestmark = pytest.mark.browser

WIDTHS = (1366, 390)
ROLES = {
    "anonymous": None,
    "referrer": REFERRER,
    "member": f"james.okafor@{DEMO}",
    "chair": CHAIR,
    "coordinator": COORDINATOR,
    "admin": f"sam.taylor@{DEMO}",
}

#: GET routes that are not pages, and why they are not audited here.
NOT_PAGES = {
    "static": "static files",
    "core.healthz": "JSON health check",
    "cases.tumour_types": "JSON (the referral form's tumour picker; audited inside the form)",
    "reports.cases_csv": "CSV download",
    "reports.trial_outcomes_csv": "CSV download",
    "meetings.ics": "calendar file",
    # The PDF routes answer the "Preparing the PDF" page until their pdf.render job is done:
    # that page (both states) is audited in tests/browser/test_pdf_preparing.py.
    "meetings.agenda_pdf": "PDF (printed by a job; its preparing page: test_pdf_preparing.py)",
    "feedback.letter_pdf": "PDF (printed by a job; its preparing page: test_pdf_preparing.py)",
    "feedback.family_letter_pdf": "PDF (printed by a job; its preparing page: test_pdf_preparing.py)",
    "feedback.pack": "zip download (its PDFs printed by jobs; preparing page: test_pdf_preparing.py)",
    "imaging.export": "zip download",
    "imaging.download": "file download",
    "imaging.preview": "PNG thumbnail",
    "imaging.frame": "PNG frame",
    "imaging.partial": "an htmx fragment of the images card, audited inside the case page",
    "imaging.network": "an htmx fragment (images from the hospital), audited inside the case page",
    "feedback.record_readability": "POST-only htmx fragment (the readability hint of the record editor)",
    "trials.readability": "POST-only htmx fragment (the readability hint of the trial editor)",
    "accounts.login_totp": "reached only in the sign-in (audited there, see _sign_in)",
    "accounts.enrol_totp": "reached only in the sign-in (audited there, see _sign_in)",
}

#: Endpoints audited for every value that opens (the case page in each state, both letters,
#: an upload done and one whose files still wait);
#: the others once per role, with the first value that opens (a stored letter sheet is the
#: letter page of feedback.letter, which shows the latest one).
EVERY_VALUE = {"cases.show", "feedback.letter", "imaging.upload_progress"}


def _small_png() -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 90, 60)).save(buf, format="PNG")
    buf.seek(0)
    return buf


def _world(live_server, tmp_path) -> dict:
    """Values for the URL variables: the demo's cases (in each state), a case put on the coming
    NAP meeting, a series uploaded to it, the sent case's letter sheets, a trial, a person."""
    from panel.accounts import operations as account_ops
    from panel.accounts.models import Panel
    from panel.cases.models import Case
    from panel.core.db import db
    from panel.feedback import family
    from panel.feedback.documents import documents_for
    from panel.imaging import ingest
    from panel.imaging.models import FileStatus, StoredFile
    from panel.meetings import operations as meeting_ops
    from panel.meetings.models import Meeting
    from panel.trials.models import Trial

    with in_app(live_server) as app:
        cases = list(db.session.scalars(select(Case).order_by(Case.id)))
        sent = next(
            c for c in cases if c.status.value == "feedback_sent" and c.is_referrer(user(REFERRER))
        )
        meetings = list(db.session.scalars(select(Meeting).order_by(Meeting.starts_at)))
        past = next(m for m in meetings if m.panel.code == "NAP" and m.active_items)
        coming = next(m for m in meetings if m.panel.code == "NAP" and m is not past)
        submitted = [c for c in cases if c.status.value == "submitted" and c.panel.code == "NAP"]
        scheduled = submitted[0]  # the others stay in triage (the information request form)
        meeting_ops.add_case(coming, scheduled, by=user(COORDINATOR))
        # A failed job of the scheduled case: /admin/jobs/ with its failed list and Retry.
        from panel.core.db import utcnow
        from panel.core.models import Job

        db.session.add(
            Job(
                key="a11y:failed-job",
                kind="trials.rematch",
                state="failed",
                attempts=5,
                max_attempts=5,
                last_error="RuntimeError (details are in the worker's log)",
                finished_at=utcnow(),
                case_id=scheduled.id,
            )
        )
        by_state: dict[str, Case] = {}  # one case per state and panel
        for c in cases:
            by_state.setdefault(f"{c.status.value}:{c.panel.code}", c)
        series = synth.make_ct_series(tmp_path / "ct", 3, rows=64, cols=64)
        ct_upload = ingest.receive(
            scheduled,
            user(REFERRER),
            "CT chest",
            [(p.name, io.BytesIO(p.read_bytes())) for p in series.paths],
        )
        db.session.commit()  # the files' jobs run now (eager in tests)
        series_uid = db.session.scalar(
            select(StoredFile.series_uid)
            .where(StoredFile.case_id == scheduled.id, StoredFile.series_uid.is_not(None))
            .limit(1)
        )
        # An upload whose files wait for a worker: its page polls, with queued rows.
        from panel.core import jobs

        run_ready, jobs.run_ready = jobs.run_ready, lambda: 0
        try:
            waiting = ingest.receive(
                scheduled,
                user(REFERRER),
                "MRI spine",
                [(f"mri-{n}.png", _small_png()) for n in range(3)],
            )
            db.session.commit()
        finally:
            jobs.run_ready = run_ready
            db.session.info.pop("panel_jobs_ready", None)  # they stay queued
        # A held-back photo with two proposed boxes: the review queue and its box editor.
        photo = io.BytesIO()
        from PIL import Image

        Image.new("RGB", (320, 200), (90, 120, 150)).save(photo, format="PNG")
        photo.seek(0)
        ingest.receive(scheduled, user(REFERRER), "Photo of the film", [("photo.png", photo)])
        db.session.commit()
        held = db.session.scalar(
            select(StoredFile).where(
                StoredFile.case_id == scheduled.id, StoredFile.content_type == "image/png"
            )
        )
        held.status, held.hold_reason = FileStatus.HELD_BACK, "a photo"
        held.pixel_text, held.proposed_boxes = "held", [[10, 10, 80, 20], [200, 150, 60, 30]]
        db.session.commit()
        # A person who must use two-factor and has not enrolled yet: their sign-in shows the
        # enrolment page.
        account_ops.create_user(
            email=f"new.admin@{DEMO}", name="New Admin", is_admin=True, password=_password()
        )
        _, plain_code = family.create_code(sent, by=user(REFERRER))
        reset_token = account_ops.issue_reset_link(user(f"tom.whitfield@{DEMO}"))
        db.session.commit()
        order = ["feedback_sent", "scheduled", "submitted", "info_requested", "draft"]
        refs = sorted(
            {c.reference: c for c in by_state.values()}.values(),
            key=lambda c: (
                order.index(c.status.value) if c.status.value in order else len(order),
                c.id,
            ),
        )
        refs = [sent.reference] + [c.reference for c in refs if c is not sent]
        if scheduled.reference in refs:  # the scheduled case has the images
            refs.remove(scheduled.reference)
            refs.insert(1, scheduled.reference)
        meeting_values = [
            {"meeting_id": m.id, "item_id": m.active_items[0].id, "position": 1}
            for m in (coming, past)
        ]
        html_docs = [d.id for d in documents_for(sent) if d.format == "html"]
        trial = db.session.scalar(select(Trial.code).order_by(Trial.code).limit(1))
        groups = {
            "ref": [{"ref": r} for r in refs],
            "meeting_id": meeting_values,
            "kind": [{"kind": "clinician"}, {"kind": "family"}],
            "code": [{"code": trial}],
            "index": [{"index": 0}],
            "user_id": [{"user_id": user(REFERRER).id}],
            "panel_id": [{"panel_id": db.session.scalar(select(Panel.id).order_by(Panel.id))}],
            "token": [{"token": reset_token}],
        }
        special = {
            "feedback.sent_document": [
                {"ref": sent.reference, "document_id": d} for d in html_docs
            ],
            "imaging.viewer": [{"ref": scheduled.reference, "series_uid": series_uid}],
            "imaging.review_file": [{"ref": scheduled.reference, "file_id": held.id}],
            "imaging.upload_progress": [
                {"ref": scheduled.reference, "upload_id": ct_upload.id},
                {"ref": scheduled.reference, "upload_id": waiting.id},
            ],
            # The 3-month check of the sent case: not due yet, its page says from when.
            "outcomes.answer_check": [{"ref": sent.reference, "months": 3}],
        }
        rules = {}
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint.startswith(("api.", "api_v2.")):
                continue
            if rule.endpoint in NOT_PAGES:
                continue
            rules[rule.endpoint] = sorted(rule.arguments)
        urls: dict[str, list[str]] = {}
        for endpoint, args in sorted(rules.items()):
            if endpoint in special:
                combos = special[endpoint]
            else:
                used = [a for a in args if a in groups]
                if set(args) - {"item_id", "position"} - set(used):
                    combos = []  # a variable we have no value for: reported below
                else:
                    combos = [
                        {k: v for d in combo for k, v in d.items()}
                        for combo in itertools.product(*(groups[a] for a in used))
                    ]
            urls[endpoint] = [
                url_for(endpoint, **{k: v for k, v in c.items() if k in args}) for c in combos
            ]
        # The family letter's large-print and easy-read previews (issue 16), in HTML.
        urls["feedback.letter"] += [
            url_for("feedback.letter", ref=sent.reference, kind="family", layout=layout)
            for layout in ("large_print", "easy_read")
        ]
        return {"urls": urls, "plain_code": plain_code, "sent": sent.reference}


def _password() -> str:
    from panel.demo import DEMO_PASSWORD

    return DEMO_PASSWORD


class Audit:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.figures: dict[str, dict] = {}
        self.reached: set[str] = set()
        self.public: set[str] = set()  # pages that open without an account
        self.visits = 0
        self.probing = self.checking = 0.0

    def check(self, page, name: str, role: str) -> None:
        started = time.monotonic()
        found, counts = check_page(page, name, role, WIDTHS)
        self.checking += time.monotonic() - started
        self.findings += found
        self.visits += 1
        for width, (violations, nodes) in counts.items():
            self.figures[f"{name} | {role} | {width}"] = {
                "violations": violations,
                "nodes": nodes,
                "other": sum(1 for f in found if f.width == width and f.rule in OWN_RULES),
            }


OWN_RULES = {"one-h1", "control-label", "no-sideways-scroll", "skip-link", "skip-to-form"}


def _sign_in(page, live_server, email: str, audit: Audit, role: str) -> None:
    """journeys.sign_in, auditing the second step (the code, or the enrolment) on the way."""
    from playwright.sync_api import expect

    forget_last_totp(live_server, email)
    page.goto(live_server.url + "/login")
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Password").fill(_password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/login/verify" in page.url:
        audit.check(page, "accounts.login_totp " + "/login/verify", role)
        page.get_by_label("6-digit code").fill(_totp_now(live_server, email))
        page.get_by_role("button", name="Verify").click()
    elif "/login/enrol" in page.url:
        audit.check(page, "accounts.enrol_totp /login/enrol", role)
        return
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def _totp_now(live_server, email: str) -> str:
    import pyotp

    return pyotp.TOTP(totp_secret(live_server, email)).now()


def _visit_all(page, urls: dict[str, list[str]], base: str, audit: Audit, role: str) -> None:
    """Every page this role can open: asked first without rendering (the context's own
    cookies; most routes refuse most roles), then loaded and checked. Pages that open without
    an account (sign-in, password reset, the family's code entry) are checked once, as the
    anonymous visitor: their content is the same for everyone, and the staff menu a signed-in
    person would also see there is checked on every other page."""
    for endpoint, candidates in urls.items():
        if role != "anonymous" and endpoint in audit.public:
            continue
        for url in candidates:
            started = time.monotonic()
            probe = page.context.request.get(base + url, max_redirects=0)
            opens = probe.status == 200 and "text/html" in probe.headers.get("content-type", "")
            probe.dispose()
            audit.probing += time.monotonic() - started
            if not opens:
                continue
            page.goto(base + url)
            audit.check(page, f"{endpoint} {url}", role)
            audit.reached.add(endpoint)
            if role == "anonymous":
                audit.public.add(endpoint)
            if endpoint not in EVERY_VALUE:
                break


def test_every_page_meets_wcag_22_aa(request, browser, artifacts_dir, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("markup does not depend on the database: run once, on SQLite")
    live_server = request.getfixturevalue("live_server")  # not built for the skipped backend
    started = time.monotonic()
    world = _world(live_server, tmp_path)
    urls, base = world["urls"], live_server.url
    audit = Audit()
    missing_values = sorted(e for e, u in urls.items() if not u)
    for role, email in ROLES.items():
        context = browser.new_context(viewport={"width": WIDTHS[0], "height": 860})
        page = context.new_page()
        if email:
            _sign_in(page, live_server, email, audit, role)
        _visit_all(page, urls, base, audit, role)
        if role == "referrer":
            # The referral form has its own skip link past the list of sections (checked on
            # every page that has one, see form_skip_problem): it must be there.
            page.goto(base + "/cases/new")
            skip_to_form = page.locator("a.skip-to-form").count()
            # The printable sheet with a new family code (the answer to a POST, never stored).
            page.goto(base + f"/cases/{world['sent']}")
            page.get_by_test_id("family-code-create").click()
            page.wait_for_load_state()
            audit.check(page, "feedback.family_code_create (the code sheet)", role)
            # An error page, as people meet it.
            page.goto(base + "/cases/NB-1900-0000")
            audit.check(page, "error 404 /cases/NB-1900-0000", role)
        context.close()

    # The enrolment step of a person who must use two-factor and has not enrolled yet.
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 860})
    _sign_in(context.new_page(), live_server, f"new.admin@{DEMO}", audit, "admin (not enrolled)")
    context.close()

    # The family: with the code, the letter with its documents and question form, and every
    # other letter sheet of theirs.
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 860})
    page = context.new_page()
    page.goto(base + "/family")  # checked as the anonymous visitor above
    page.get_by_label("Access code").fill(world["plain_code"])
    page.get_by_role("button", name="Open the letter").click()
    page.wait_for_url("**/family/letter")
    audit.check(page, "feedback.family_letter /family/letter", "family")
    audit.reached.add("feedback.family_letter")
    for href in page.locator("#documents a[href*='document=']").evaluate_all(
        "els => els.filter(e => !e.href.includes('.pdf')).map(e => e.getAttribute('href'))"
    ):
        page.goto(base + href)
        audit.check(page, f"feedback.family_letter {href}", "family")
    # After the family's one follow-up question: the page that confirms it was sent.
    page.goto(base + "/family/letter")
    page.get_by_label("Your question").fill("How long would each hospital stay be, roughly?")
    page.get_by_role("button", name="Send my question").click()
    page.wait_for_load_state()
    audit.check(page, "feedback.family_letter /family/letter (question sent)", "family")
    context.close()

    (artifacts_dir / "accessibility.json").write_text(
        json.dumps(audit.figures, indent=1, sort_keys=True)
    )
    (artifacts_dir / "accessibility.txt").write_text(
        f"{audit.visits} page visits: {audit.checking:.0f} s checking, {audit.probing:.0f} s asking"
        f" which pages open, {time.monotonic() - started:.0f} s in all\n"
        + report(audit.findings, audit.visits)
    )
    unreached = sorted(set(urls) - audit.reached)
    assert skip_to_form == 1, "the referral form has no link past its list of sections"
    assert not missing_values, (
        f"routes with a URL variable the test has no value for: {missing_values}"
    )
    assert not unreached, (
        f"pages no role could open (give the test a value, or list it in NOT_PAGES): {unreached}"
    )
    assert not audit.findings, report(audit.findings, audit.visits)
