"""The family's pages on any phone (issue 16): the code entry, the letter, the list of documents
and the follow-up question form, at 320, 390 and 768 px.

- **Fit**: no sideways scroll (the document is no wider than the window), and the headings,
  buttons, fields and labels lie inside the window and do not overlap one another; axe-core's
  WCAG 2.2 A/AA rules at 320 and 768 px (tests/support/accessibility.py).
- **Keyboard only** (``page.keyboard``, no clicks): every link, button and field of each page is
  reached with Tab, each shows a visible focus indicator (a computed outline or box-shadow);
  the family types the code and sends it with Enter, opens another letter from the list of
  documents, writes and sends the follow-up question, and leaves.
- **200% text** (WCAG 1.4.4, resize text): the root font size doubled at 390 and 320 px; no
  sideways scroll, nothing clipped or overlapping, the headings and buttons wholly in view.

Screenshots (``test-artifacts/screenshots/family-*.png``) at 320 and 768 px and at 200% text.
One live server on the demo data (its sent case, with family codes made by its referrer);
markup does not depend on the database, so the test runs on SQLite only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.accessibility import axe_violations
from tests.support.journeys import COORDINATOR, REFERRER, in_app, shots_dir, user

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 768)
AXE_WIDTHS = (320, 768)
HEIGHT = 800
QUESTION = "How long would each hospital stay be, and can we stay with our child?"

# Everything a keyboard can reach (visible, enabled, in the tab order), each given a stable id
# so the Tab walk can tell which were reached.
_TABBABLE = """() => {
  const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
  const visible = el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
  const found = [...document.querySelectorAll(sel)].filter(el =>
    !el.disabled && el.tabIndex >= 0 && (el.type || '') !== 'hidden'
    && (visible(el) || el.matches('.visually-hidden-focusable')));
  return found.map((el, i) => {
    el.dataset.kbd = String(i);
    const name = (el.getAttribute('aria-label') || el.textContent || el.value || el.name || '')
      .replace(/\\s+/g, ' ').trim().slice(0, 40);
    return `${el.tagName.toLowerCase()} "${name}"`;
  });
}"""

# The focused element: its id (data-kbd), what it is, and whether a focus indicator is drawn.
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  const shadow = !!cs.boxShadow && cs.boxShadow !== 'none';
  const box = el.getBoundingClientRect();
  return {
    kbd: el.dataset.kbd === undefined ? null : el.dataset.kbd,
    what: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.textContent || el.name || '')
      .replace(/\\s+/g, ' ').trim().slice(0, 40)}"`,
    ring: outline || shadow,
    style: `outline: ${cs.outlineStyle} ${cs.outlineWidth}; box-shadow: ${cs.boxShadow}`,
    inView: box.width > 0 && box.height > 0 && box.left >= -1
      && box.right <= document.documentElement.clientWidth + 1,
  };
}"""

# The layout: sideways scroll, and the key elements (headings, buttons, fields, labels, the
# header's parts) inside the window, unclipped and not overlapping each other.
_LAYOUT = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const sel = 'h1, h2, h3, .btn, button, input:not([type=hidden]), textarea, label,'
    + ' .family-brand, .alert, .family-code-input';
  const els = [...document.querySelectorAll(sel)].filter(el =>
    el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
    && !el.closest('.visually-hidden, .visually-hidden-focusable, .letter-sheet, .family-body'));
  const name = el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
    + ` "${(el.textContent || el.value || '').replace(/\\s+/g, ' ').trim().slice(0, 30)}"`;
  const problems = [];
  const boxes = els.map(el => [el, el.getBoundingClientRect()]);
  for (const [el, b] of boxes) {
    if (b.left < -1 || b.right > width + 1) {
      problems.push(`${name(el)} sticks out: ${Math.round(b.left)}..${Math.round(b.right)} px`
        + ` in a ${width} px window`);
    }
    // Text cut off inside its own box (a fixed-size button, a heading with hidden overflow).
    const cs = getComputedStyle(el);
    if (!['INPUT', 'TEXTAREA'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 2
        && cs.overflowX !== 'visible') {
      problems.push(`${name(el)} clips its text (${el.scrollWidth} > ${el.clientWidth} px)`);
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ba] = boxes[i], [b, bb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ba.right, bb.right) - Math.max(ba.left, bb.left);
      const h = Math.min(ba.bottom, bb.bottom) - Math.max(ba.top, bb.top);
      if (w > 2 && h > 2) problems.push(`${name(a)} overlaps ${name(b)} (${Math.round(w)}x${Math.round(h)} px)`);
    }
  }
  if (root.scrollWidth > width) {
    // What sticks out: the outermost elements past the right edge that no scrolling box holds.
    const wide = [...document.querySelectorAll('body *')].filter(el => {
      if (el.getBoundingClientRect().right <= width + 1) return false;
      if (el.parentElement.getBoundingClientRect().right > width + 1) return false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return false;
      }
      return true;
    }).slice(0, 3).map(el => el.outerHTML.slice(0, 120));
    problems.unshift(`the page is ${root.scrollWidth} px wide in a ${width} px window: ${wide}`);
  }
  return problems;
}"""

_BIG_TEXT = "() => { document.documentElement.style.fontSize = '200%'; }"
_NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@pytest.fixture
def family_world(request, backend):
    """A live server on the demo data and a function that makes a new family code for its
    sent case (one question per code, so each walk has its own)."""
    if backend != "sqlite":
        pytest.skip("markup does not depend on the database: run once, on SQLite")
    live_server = request.getfixturevalue("live_server")
    from sqlalchemy import select

    from panel.cases.models import Case
    from panel.core.db import db
    from panel.feedback import documents, family
    from panel.feedback.letters import recommendation_for

    def sent_case() -> Case:
        return next(
            c
            for c in db.session.scalars(select(Case).order_by(Case.id))
            if c.status.value == "feedback_sent" and c.is_referrer(user(REFERRER))
        )

    # A second letter for the family (the panel's answer to one of the questions), so the list
    # of documents has a letter to open.
    with in_app(live_server):
        case = sent_case()
        documents.issue_addendum(recommendation_for(case), case.questions[:1], by=user(COORDINATOR))
        db.session.commit()

    def new_code() -> str:
        with in_app(live_server):
            _, plain = family.create_code(sent_case(), by=user(REFERRER))
            db.session.commit()
            return plain

    return live_server, new_code


def _layout_problems(page: Page, where: str) -> list[str]:
    page.evaluate(_NEXT_FRAME)
    return [f"{where}: {p}" for p in page.evaluate(_LAYOUT)]


def _axe_problems(page: Page, where: str) -> list[str]:
    return [
        f"{where}: axe {v['id']} ({v['impact']}): " + "; ".join(n["target"] for n in v["nodes"][:4])
        for v in axe_violations(page)
    ]


def _open_letter(page: Page, base: str, code: str) -> None:
    page.goto(base + "/family")
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Open the letter").click()
    page.wait_for_url("**/family/letter")


def _other_documents(page: Page) -> list[str]:
    return page.locator("#documents a[href*='document=']").evaluate_all(
        "els => els.filter(e => !e.href.includes('.pdf')).map(e => e.getAttribute('href'))"
    )


# --------------------------------------------------------------------------- fit and axe
@pytest.mark.parametrize("width", WIDTHS)
def test_family_pages_fit_the_screen(family_world, browser, artifacts_dir, width):
    """At each width: no sideways scroll, headings, buttons and fields inside the window and
    not overlapping, and (at 320 and 768 px) no axe-core WCAG 2.2 A/AA violation, on the code
    entry, the letter with its documents and question form, each other letter, and the page
    after the question was sent."""
    live_server, new_code = family_world
    base = live_server.url
    shots = shots_dir(artifacts_dir)
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    page = context.new_page()
    problems: list[str] = []

    def check(where: str, shot: str | None = None) -> None:
        problems.extend(_layout_problems(page, where))
        if width in AXE_WIDTHS:
            problems.extend(_axe_problems(page, where))
        if shot and width in AXE_WIDTHS:
            page.screenshot(path=str(shots / f"family-{shot}-{width}.png"), full_page=True)

    page.goto(base + "/family")
    check("code entry", "enter")
    page.get_by_label("Access code").fill("AAAAA-BBBBB")
    page.get_by_role("button", name="Open the letter").click()
    expect(page.get_by_test_id("family-message")).to_be_visible()
    check("code entry, wrong code", "enter-wrong")
    page.get_by_label("Access code").fill(new_code())
    page.get_by_role("button", name="Open the letter").click()
    page.wait_for_url("**/family/letter")
    check("letter", "letter")
    others = _other_documents(page)
    assert others, "the demo's sent case has more than one letter for the family"
    for href in others:
        page.goto(base + href)
        check(f"letter {href}", "document")
    page.goto(base + "/family/letter")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Send my question").click()
    expect(page.get_by_test_id("question-pending")).to_be_visible()
    check("letter after the question", "question-sent")
    context.close()
    assert not problems, f"{len(problems)} problems at {width} px:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- keyboard only
def _tab_cycle(page: Page, where: str, problems: list[str]) -> None:
    """Tab from the top of the page through every stop: each reachable element is reached, and
    each shows a focus indicator and is in view."""
    # After the page's script ran (it shows the Print button): a stop that appears after the
    # list was taken would be unlisted, and the walk must not stop there.
    page.wait_for_load_state("load")
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
    names = page.evaluate(_TABBABLE)
    reached: set[str] = set()
    for _ in range(len(names) + 8):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            if reached:
                break  # past the last stop: the browser's own controls
            continue
        if focused["kbd"] is None:
            continue  # a stop not in the list (none is expected): go on to the next
        reached.add(focused["kbd"])
        if not focused["ring"]:
            problems.append(
                f"{where}: no focus indicator on {focused['what']} ({focused['style']})"
            )
        if not focused["inView"]:
            problems.append(f"{where}: {focused['what']} is focused outside the window")
    missed = [n for i, n in enumerate(names) if str(i) not in reached]
    if missed:
        problems.append(f"{where}: not reached with Tab: {missed}")


def _tab_to(page: Page, selector: str, where: str, limit: int = 120) -> None:
    """Press Tab until ``selector`` has the keyboard focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{where}: Tab never reached {selector}")


@pytest.mark.parametrize("width", WIDTHS)
def test_family_pages_by_keyboard_only(family_world, browser, artifacts_dir, width):
    """With the keyboard only: every link, button and field of each page is reached with Tab
    and shows a focus indicator; the family types the code and presses Enter, opens another
    letter from the list of documents, writes and sends the question, and leaves."""
    live_server, new_code = family_world
    base = live_server.url
    shots = shots_dir(artifacts_dir)
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    page = context.new_page()
    problems: list[str] = []

    def focus_shot(name: str) -> None:  # what the focus ring looks like (390 px only)
        if width != 390:
            return
        box = page.evaluate(
            "() => { const el = document.activeElement; el.scrollIntoView({block: 'center', behavior: 'instant'});"
            " const b = el.getBoundingClientRect(); return {y: b.top + window.scrollY}; }"
        )
        top = max(0, box["y"] - 150)
        page.screenshot(
            path=str(shots / f"family-focus-{name}-{width}.png"),
            full_page=True,
            clip={"x": 0, "y": top, "width": width, "height": 320},
        )

    page.goto(base + "/family")
    _tab_cycle(page, "code entry", problems)
    page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
    page.goto(base + "/family")
    _tab_to(page, "#code", "code entry")
    page.keyboard.type(new_code())
    page.keyboard.press("Tab")
    focus_shot("open-button")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/family/letter")

    _tab_cycle(page, "letter", problems)
    page.goto(base + "/family/letter")
    _tab_to(page, "#documents a[href*='document=']:not([href*='.pdf'])", "letter")
    target = page.evaluate("() => document.activeElement.getAttribute('href')")
    focus_shot("read-link")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/family/letter\?document=\d+"))
    assert target in page.url
    _tab_cycle(page, "another letter", problems)

    page.goto(base + "/family/letter")
    _tab_to(page, "textarea#text", "letter")
    page.keyboard.type(QUESTION)
    focus_shot("question")
    _tab_to(page, "#question button[type=submit]", "letter", limit=3)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("question-pending")).to_be_visible()
    _tab_cycle(page, "letter after the question", problems)

    page.goto(base + "/family/letter")
    _tab_to(page, "[data-testid=family-leave]", "letter")
    focus_shot("leave")
    page.keyboard.press("Enter")
    page.wait_for_url("**/family")
    expect(page.get_by_test_id("family-message")).to_contain_text("You have left the page")
    page.goto(base + "/family/letter")
    page.wait_for_url("**/family")  # the session is over
    context.close()
    assert not problems, f"{len(problems)} problems at {width} px:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- 200% text
@pytest.mark.parametrize("width", (390, 320))
def test_family_pages_at_200_percent_text(family_world, browser, artifacts_dir, width):
    """With the text at 200% (the root font size doubled): no sideways scroll, and the headings,
    buttons and fields wholly in the window, unclipped and not overlapping, on every family
    page."""
    live_server, new_code = family_world
    base = live_server.url
    shots = shots_dir(artifacts_dir)
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    page = context.new_page()
    problems: list[str] = []

    def check(where: str, shot: str) -> None:
        page.evaluate(_BIG_TEXT)
        problems.extend(_layout_problems(page, f"{where} at 200% text"))
        page.screenshot(path=str(shots / f"family-{shot}-{width}-200pct.png"), full_page=True)

    page.goto(base + "/family")
    check("code entry", "enter")
    page.get_by_label("Access code").fill(new_code())
    page.get_by_role("button", name="Open the letter").click()
    page.wait_for_url("**/family/letter")
    check("letter", "letter")
    for href in _other_documents(page):
        page.goto(base + href)
        check(f"letter {href}", "document")
    page.goto(base + "/family/letter")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Send my question").click()
    expect(page.get_by_test_id("question-pending")).to_be_visible()
    check("letter after the question", "question-sent")
    context.close()
    assert not problems, f"{len(problems)} problems at {width} px:\n" + "\n".join(problems)
