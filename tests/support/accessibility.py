"""Accessibility checks of a page in the browser (Playwright): axe-core's WCAG 2.0/2.1/2.2 A and
AA rules, and the checks axe does not make (the page scrolls sideways, the skip link leaves
focus somewhere else than the main content, a form control named only by its placeholder or
not at all, no single ``h1``).

axe-core is vendored under ``tests/support/vendor/axe-core/`` (see its VERSION file). It is
evaluated in the page through the DevTools protocol, so the pages' Content-Security-Policy
(no inline script) stays on while they are checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

#: The axe rule tags of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

_AXE_RUN = """async (tags) => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
  });
  return r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({
      target: n.target.join(' '),
      summary: (n.failureSummary || '').split('\\n').slice(0, 2).join(' ').trim(),
    })),
  }));
}"""

#: Our own checks. A control counts as labelled by a <label> (for= or around it), aria-label,
#: aria-labelledby or title; a placeholder is not a label (it disappears as the user types).
_PAGE_FACTS = """() => {
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && getComputedStyle(el).visibility !== 'hidden';
  const unlabelled = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(type) || !visible(el)) continue;
    const named = (el.labels && [...el.labels].some(l => l.textContent.trim()))
      || (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(
           id => id && document.getElementById(id) && document.getElementById(id).textContent.trim())
      || (el.getAttribute('title') || '').trim();
    if (!named) {
      const name = el.id ? '#' + el.id : (el.name ? `[name=${el.name}]` : el.tagName.toLowerCase());
      unlabelled.push(`${el.tagName.toLowerCase()}${name.startsWith('#') || name.startsWith('[') ? name : ''}`);
    }
  }
  const root = document.documentElement;
  return {
    h1: document.querySelectorAll('h1').length,
    unlabelled,
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    // What sticks out (only when the page does): the outermost elements past the right edge
    // that no scrolling or clipping box holds.
    wide: root.scrollWidth <= root.clientWidth ? [] : [...document.querySelectorAll('body *')]
      .filter(el => {
        if (el.getBoundingClientRect().right <= root.clientWidth + 1) return false;
        if (el.parentElement.getBoundingClientRect().right > root.clientWidth + 1) return false;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== 'visible') return false;
        }
        return true;
      })
      .slice(0, 3)
      .map(el => el.outerHTML.slice(0, 100)),
  };
}"""


@dataclass
class Finding:
    """One problem on one page, seen as one role at one width."""

    page: str
    role: str
    width: int
    rule: str
    detail: str
    nodes: list[str] = field(default_factory=list)

    def line(self) -> str:
        shown = "\n".join(f"      {n}" for n in self.nodes[:6])
        more = f"\n      ... and {len(self.nodes) - 6} more" if len(self.nodes) > 6 else ""
        head = f"  {self.page} | {self.role} | {self.width} px | {self.rule}: {self.detail}"
        return head + (f"\n{shown}{more}" if self.nodes else "")


def ensure_axe(page: Page) -> None:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;0")


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG A/AA violations on the page as it is now, scrolled to its end: there a
    sticky action bar (the referral form's, the record's) sits in its own place instead of over
    the fields near the fold, which axe would count as partly hidden targets (WCAG 2.5.8). A
    field reached by the keyboard is scrolled clear of the bar (scroll-padding in panel.css)."""
    ensure_axe(page)
    page.evaluate(_SCROLL_TO, "end")
    violations = page.evaluate(_AXE_RUN, WCAG_TAGS)
    page.evaluate(_SCROLL_TO, "top")
    return violations


#: Scroll at once: Bootstrap makes scrolling smooth (``scroll-behavior: smooth`` unless the
#: person asks for reduced motion), and a smooth scroll of a long page kept each check waiting
#: for its animation (0.3-0.8 s a scroll, most of the accessibility pass's time).
_SCROLL_TO = """(where) => window.scrollTo({
  top: where === 'end' ? document.documentElement.scrollHeight : 0, behavior: 'instant'})"""


def page_facts(page: Page) -> dict:
    return page.evaluate(_PAGE_FACTS)


_FIRST_TABBABLE = """() => {
  const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
  const first = [...document.querySelectorAll(sel)].find(el =>
    !el.disabled && el.tabIndex >= 0 && (el.type || '') !== 'hidden' && el.getClientRects().length
    && getComputedStyle(el).visibility !== 'hidden');
  if (!first) return null;
  if (!first.matches('a.skip-link')) return {skip: false, tag: first.outerHTML.slice(0, 80)};
  first.focus();
  return {skip: true, href: first.getAttribute('href')};
}"""


def skip_link_problem(page: Page) -> str | None:
    """Is the first stop of the keyboard the skip link, and does following it (Enter) put the
    keyboard focus on the main content? ``None`` when it does."""
    first = page.evaluate(_FIRST_TABBABLE)
    if first is None or not first["skip"]:
        return "the first tab stop is not a skip link: " + (
            first["tag"] if first else "no tab stop"
        )
    page.keyboard.press("Enter")
    focused = page.evaluate(
        "() => { const a = document.activeElement;"
        " return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') : 'nothing'; }"
    )
    if focused != "main#main":
        return f"after the skip link ({first['href']}) the focus is on {focused}, not main#main"
    return None


_TAB_STOPS_BEFORE = """(selector) => {
  const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
  const stops = [...document.querySelectorAll(sel)].filter(el =>
    !el.disabled && el.tabIndex >= 0 && (el.type || '') !== 'hidden' && el.getClientRects().length
    && getComputedStyle(el).visibility !== 'hidden');
  const target = document.querySelector(selector);
  return stops.indexOf(target);
}"""

#: At most this many key presses (Tab, Enter) from the top of a long form to its first field.
MAX_KEYS_TO_FIRST_FIELD = 10


def form_skip_problem(page: Page) -> str | None:
    """On a long form with a "skip to the first question" link (a.skip-to-form): is that link
    near the top of the tab order, and do Enter then Tab land on a form field? ``None`` when
    they do, or when the page has no such link."""
    if not page.locator("a.skip-to-form").count():
        return None
    before = page.evaluate(_TAB_STOPS_BEFORE, "a.skip-to-form")
    page.locator("a.skip-to-form").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    field = page.evaluate(
        "() => document.activeElement.matches('input, select, textarea')"
        " ? '' : document.activeElement.outerHTML.slice(0, 80)"
    )
    keys = before + 1 + 2  # Tabs to reach the link, Enter, one Tab
    if field:
        return f"the form's skip link leads to {field}, not to a field"
    if keys > MAX_KEYS_TO_FIRST_FIELD:
        return f"{keys} key presses to the first field (at most {MAX_KEYS_TO_FIRST_FIELD})"
    return None


_NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def check_page(page: Page, name: str, role: str, widths: tuple[int, ...]) -> tuple[list, dict]:
    """Every check on the page now loaded, at each width in turn (the first is the desktop
    width, where the skip link is tried; the sideways scroll is checked below 500 px).
    Returns the findings and, per width, the number of axe violations and nodes."""
    findings: list[Finding] = []
    counts: dict[int, tuple[int, int]] = {}
    facts = page_facts(page)
    if facts["h1"] != 1:
        findings.append(Finding(name, role, widths[0], "one-h1", f"{facts['h1']} h1 elements"))
    if facts["unlabelled"]:
        findings.append(
            Finding(
                name,
                role,
                widths[0],
                "control-label",
                "form controls without a label (a placeholder is not one)",
                facts["unlabelled"],
            )
        )
    for i, width in enumerate(widths):
        if i:
            page.set_viewport_size({"width": width, "height": 860})
            page.evaluate(_NEXT_FRAME)  # the resize handlers have run
        violations = axe_violations(page)
        counts[width] = (len(violations), sum(len(v["nodes"]) for v in violations))
        for v in violations:
            findings.append(
                Finding(
                    name,
                    role,
                    width,
                    v["id"],
                    f"{v['help']} ({v['impact']})",
                    [f"{n['target']}  -- {n['summary']}" for n in v["nodes"]],
                )
            )
        if width < 500:
            facts = page_facts(page)
            if facts["scrollWidth"] > facts["clientWidth"]:
                findings.append(
                    Finding(
                        name,
                        role,
                        width,
                        "no-sideways-scroll",
                        f"the page is {facts['scrollWidth']} px wide in a {facts['clientWidth']} px window",
                        facts["wide"],
                    )
                )
        if i == 0:
            problem = skip_link_problem(page)
            if problem:
                findings.append(Finding(name, role, width, "skip-link", problem))
            problem = form_skip_problem(page)
            if problem:
                findings.append(Finding(name, role, width, "skip-to-form", problem))
    page.set_viewport_size({"width": widths[0], "height": 860})
    return findings, counts


def report(findings: list[Finding], audited: int) -> str:
    rules: dict[str, int] = {}
    for f in findings:
        rules[f.rule] = rules.get(f.rule, 0) + 1
    summary = ", ".join(f"{r} x{n}" for r, n in sorted(rules.items(), key=lambda x: -x[1]))
    return (
        f"{len(findings)} accessibility problems on {audited} page visits ({summary}):\n"
        + "\n".join(f.line() for f in findings)
    )
