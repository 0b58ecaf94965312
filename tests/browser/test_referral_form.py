"""Browser journey through the referral form in headless Chromium: a referrer enters the ALK
example field by field (by the labels a person reads), saves a draft half-way, comes back,
completes and submits it. Screenshots of each section go to test-artifacts/screenshots/."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.journeys import REFERRER, sign_in

pytestmark = pytest.mark.browser

EXAMPLE = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "case-example-alk.json").read_text()
)


def shoot(page, shots: Path, backend: str, name: str, section: str | None = None):
    if section:
        page.evaluate(
            f"document.getElementById('s-{section}').scrollIntoView({{block: 'start', behavior: 'instant'}})"
        )
    page.screenshot(path=str(shots / f"{backend}-form-{name}.png"))


def yes_no(page, legend: str, answer: str):
    page.get_by_role("group", name=legend, exact=True).get_by_text(answer, exact=True).click()


def stored_case(live_server, ref: str):
    from sqlalchemy import select

    from panel.cases import operations
    from panel.cases.models import Case
    from panel.core.db import db

    with live_server.app_.app_context():
        case = db.session.scalar(select(Case).where(Case.reference == ref))
        return case.status.value, operations.to_document(case)


def test_referrer_fills_in_saves_comes_back_and_submits(page, live_server, artifacts_dir, backend):
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, REFERRER)
    page.goto(live_server.url + "/cases/new")
    expect(page.get_by_role("heading", name="New referral")).to_be_visible()
    expect(page.get_by_test_id("missing-panel")).to_contain_text("What is still missing")
    shoot(page, shots, backend, "0-new")

    # 1. Panel & question
    page.get_by_label("Panel", exact=True).select_option("NAP")
    expect(page.get_by_label("Referring centre")).to_have_value(
        "NEWCASTLE"
    )  # the referrer's centre
    page.get_by_label("Urgency").select_option(label="Routine")
    page.get_by_label("Clinical question").fill(EXAMPLE["clinical_question"])
    expect(page.locator("#f-clinical_question-count")).to_have_text(
        f"{len(EXAMPLE['clinical_question'])} / 4000"
    )
    shoot(page, shots, backend, "1-referral", "referral")

    # 2. Patient: ages in years and months
    page.get_by_label("Age at diagnosis, years").fill("2")
    page.get_by_label("Age at diagnosis, months").fill("6")
    page.get_by_label("Age now, years").fill("4")
    page.get_by_label("Age now, months").fill("4")
    page.get_by_label("Sex", exact=True).select_option(label="Female")

    # 3. Diagnosis: the SIOPEN score appears only when mIBG was avid
    page.get_by_label("INRG stage").select_option("M")
    page.get_by_label("Risk group").select_option(label="High risk")
    page.get_by_label("Primary site").select_option(label="Adrenal")
    siopen_dx = page.get_by_label("SIOPEN score at diagnosis")
    expect(siopen_dx).to_be_hidden()
    page.get_by_label("mIBG at diagnosis").select_option(label="Avid")
    expect(siopen_dx).to_be_visible()
    siopen_dx.fill("24")
    shoot(page, shots, backend, "2-patient-diagnosis", "patient")

    # Save the draft half-way, leave, and come back.
    page.get_by_test_id("save-draft").click()
    expect(page).to_have_url(re.compile(r"/cases/NB-\d{4}-\d{4}/edit$"))
    ref = re.search(r"(NB-\d{4}-\d{4})", page.url).group(1)
    expect(page.get_by_text(f"Draft {ref} saved.")).to_be_visible()
    shoot(page, shots, backend, "3-draft-saved")
    page.goto(live_server.url + "/")
    page.goto(live_server.url + f"/cases/{ref}/edit")
    expect(page.get_by_label("Clinical question")).to_have_value(EXAMPLE["clinical_question"])
    expect(page.get_by_label("Age at diagnosis, years")).to_have_value("2")
    expect(page.get_by_label("Age now, months")).to_have_value("4")
    expect(page.get_by_label("SIOPEN score at diagnosis")).to_have_value("24")
    expect(page.locator('[data-state-for="patient"] .bi-check-circle-fill')).to_be_visible()

    # 4. Current disease
    pattern = page.get_by_label("Relapse pattern")
    expect(pattern).to_be_hidden()
    page.get_by_label("Disease status", exact=True).select_option(label="Relapsed")
    expect(pattern).to_be_visible()
    pattern.select_option(label="Metastatic")
    page.get_by_label("Episode", exact=True).fill("1")
    page.get_by_label("Months from diagnosis to this event").fill("22")
    page.get_by_label("Months since last treatment").fill("3")
    sites = page.get_by_role("group", name="Disease sites")
    sites.get_by_label("Bone", exact=True).check()
    sites.get_by_label("Bone marrow", exact=True).check()
    yes_no(page, "Measurable disease", "No")
    page.get_by_label("Bone marrow infiltration").fill("10")
    page.get_by_label("mIBG now").select_option(label="Avid")
    expect(page.get_by_label("FDG-PET now")).to_be_hidden()
    page.get_by_label("SIOPEN score now").fill("12")
    shoot(page, shots, backend, "4-current-disease", "disease")

    # 5. Tumour biology: ALK variants appear when the status is mutation
    page.get_by_label("MYCN").select_option(label="Amplified")
    page.get_by_label("Molecular profiling at relapse").select_option(label="Done")
    add_variant = page.get_by_role("button", name="Add a variant")
    expect(add_variant).to_be_hidden()
    page.get_by_label("ALK status").select_option(label="Mutation")
    add_variant.click()
    page.get_by_label("Protein change (e.g. F1174L), variant 1").fill("F1174L")
    page.get_by_label("Variant allele fraction (%), variant 1").fill("23")
    page.get_by_label("Origin, variant 1").select_option(label="Somatic")
    page.get_by_label("No other alterations found").check()
    shoot(page, shots, backend, "5-biology", "biology")

    # 6. Treatment history: enter two lines in the wrong order, then move one up
    lines = [
        ("Induction", "Rapid COJEC", "8", "Partial response (PR)"),
        ("Maintenance", "Dinutuximab beta", "5", "Complete response (CR)"),
        ("Consolidation", "BuMel (busulfan, melphalan)", "1", "Complete response (CR)"),
    ]
    for n, (phase, regimen, cycles, best) in enumerate(lines, start=1):
        if n > 1:
            page.get_by_role("button", name="Add a treatment line").click()
        page.get_by_label(f"Phase, line {n}").select_option(label=phase)
        page.get_by_label(f"Regimen, line {n}").select_option(label=regimen)
        page.get_by_label(f"Cycles, line {n}").fill(cycles)
        page.get_by_label(f"Best response, line {n}").select_option(label=best)
    page.get_by_role("button", name="Move line 3 up").click()
    expect(page.get_by_label("Phase, line 2")).to_have_value("consolidation")
    expect(page.get_by_label("Phase, line 3")).to_have_value("maintenance")
    page.get_by_role("group", name="Prior high-dose chemotherapy").get_by_label(
        "BuMel (busulfan, melphalan)"
    ).check()
    page.get_by_label("Prior autologous stem cell transplants").fill("1")
    yes_no(page, "Prior mIBG therapy", "No")
    page.get_by_role("group", name="Prior anti-GD2 antibodies").get_by_label(
        "Dinutuximab beta"
    ).check()
    page.get_by_role("group", name="Prior ALK inhibitors").get_by_label("None").check()
    shoot(page, shots, backend, "6-treatment", "treatment")

    # 7. Response
    page.get_by_label("Overall response", exact=True).select_option("PR")
    page.get_by_label("mIBG", exact=True).select_option(label="Avid")
    page.get_by_label("SIOPEN score", exact=True).fill("4")
    page.get_by_label("Bone marrow response").select_option("CR")
    page.get_by_label("Current overall response").select_option("SD")

    # 8. Fitness
    page.get_by_label("Performance scale").select_option(label="Lansky play-performance scale")
    page.get_by_label("Performance score").select_option("80")
    page.get_by_label("Life expectancy").fill("12")
    yes_no(page, "Adequate organ function", "Yes")
    shoot(page, shots, backend, "7-response-fitness", "response")

    # 9. Family: the parents' questions as a list
    yes_no(page, "Family aware of the referral", "Yes")
    page.get_by_label("Furthest the family can travel").fill("500")
    for n, question in enumerate(EXAMPLE["family"]["questions"], start=1):
        page.get_by_role("button", name="Add a question").click()
        page.get_by_label(f"Question {n}", exact=True).fill(question)
    expect(page.get_by_test_id("missing-panel")).to_contain_text("Everything required is entered")
    expect(page.locator("[data-missing-count]")).to_have_text("0")
    shoot(page, shots, backend, "8-family", "family")

    page.get_by_test_id("save-submit").click()
    expect(page).to_have_url(live_server.url + f"/cases/{ref}")
    page.screenshot(path=str(shots / f"{backend}-form-9-submitted.png"))
    status, doc = stored_case(live_server, ref)
    assert status == "submitted"
    expected = copy.deepcopy(EXAMPLE)
    del expected["disease"]["fdg_pet"]  # does not apply when mIBG now is avid
    assert doc.pop("reference") == ref
    assert doc == expected
    assert errors == []


def test_identifier_and_missing_fields_are_shown_where_they_are(
    page, live_server, artifacts_dir, backend
):
    """The guard's highlight and the refused submission, as the referrer sees them."""
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, REFERRER)
    page.goto(live_server.url + "/cases/new")
    page.get_by_label("Panel", exact=True).select_option("NAP")
    page.get_by_label("Clinical question").fill(
        "Relapse at 4 years, NHS number 943 476 5919. Mum asks about <b>trials</b> abroad; which is suitable?"
    )
    page.get_by_test_id("save-draft").click()
    note = page.get_by_test_id("guard-note")
    expect(note).to_be_visible()
    expect(note.locator("mark")).to_have_text("943 476 5919NHS number")
    expect(page.get_by_label("Clinical question")).to_have_value(re.compile("943 476 5919"))
    page.screenshot(path=str(shots / f"{backend}-form-guard.png"))

    page.get_by_label("Clinical question").fill(
        "Relapse at 4 years. Which early-phase trial is suitable?"
    )
    page.get_by_test_id("save-submit").click()
    expect(page.get_by_test_id("form-alert")).to_contain_text("Not submitted yet")
    expect(page.get_by_test_id("submit-missing")).to_contain_text("Age at diagnosis")
    page.screenshot(path=str(shots / f"{backend}-form-submit-refused.png"))
    page.get_by_test_id("submit-missing").get_by_role("link", name="Sex").click()
    expect(page.get_by_label("Sex", exact=True)).to_be_in_viewport()

    # Two tabs on the same draft: the second save is a conflict, and what was typed stays.
    ref = re.search(r"(NB-\d{4}-\d{4})", page.url).group(1)
    other = page.context.new_page()
    other.set_viewport_size({"width": 1366, "height": 768})
    other.goto(live_server.url + f"/cases/{ref}/edit")
    other.get_by_label("Urgency").select_option(label="Urgent")
    other.get_by_test_id("save-draft").click()
    expect(other.get_by_text(f"Draft {ref} saved.")).to_be_visible()
    page.goto(live_server.url + f"/cases/{ref}/edit?stale=1")
    other.get_by_label("Clinical question").fill("A newer question from the other tab?")
    other.get_by_test_id("save-draft").click()
    expect(other.get_by_text(f"Draft {ref} saved.")).to_be_visible()
    page.get_by_label("Clinical question").fill("My question, typed in the stale tab?")
    page.get_by_test_id("save-draft").click()
    expect(page.get_by_test_id("conflict")).to_contain_text("someone else saved this referral")
    expect(page.get_by_label("Clinical question")).to_have_value(
        "My question, typed in the stale tab?"
    )
    page.screenshot(path=str(shots / f"{backend}-form-conflict.png"))
    other.close()


def test_the_form_works_without_javascript(browser, live_server, artifacts_dir, backend):
    """Progressive enhancement: list buttons post the form; conditional fields stay visible."""
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 768}
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, REFERRER)
        page.goto(live_server.url + "/cases/new")
        expect(page.get_by_label("SIOPEN score at diagnosis")).to_be_visible()
        page.get_by_label("Panel", exact=True).select_option("NAP")
        page.get_by_label("Clinical question").fill("Which trial suits a second relapse?")
        page.get_by_role("button", name="Add a question").click()
        expect(page.get_by_label("Question 1", exact=True)).to_be_visible()
        expect(page.get_by_label("Clinical question")).to_have_value(
            "Which trial suits a second relapse?"
        )
        page.get_by_label("Question 1", exact=True).fill("How long would treatment last?")
        page.get_by_role("button", name="Add a treatment line").click()
        page.get_by_label("Regimen, line 2").select_option(
            label="TEMIRI (temozolomide, irinotecan)"
        )
        page.get_by_role("button", name="Move line 2 up").click()
        expect(page.get_by_label("Regimen, line 1")).to_have_value("TEMIRI")
        page.evaluate(
            "document.getElementById('s-treatment').scrollIntoView({block: 'start', behavior: 'instant'})"
        )
        page.screenshot(path=str(shots / f"{backend}-form-no-js.png"))
        page.get_by_test_id("save-draft").click()
        expect(page).to_have_url(re.compile(r"/cases/NB-\d{4}-\d{4}/edit$"))
        ref = re.search(r"(NB-\d{4}-\d{4})", page.url).group(1)
        status, doc = stored_case(live_server, ref)
        assert status == "draft"
        assert doc["family"]["questions"] == ["How long would treatment last?"]
        assert doc["treatment"]["lines"] == [{"regimen": "TEMIRI"}]
    finally:
        context.close()
