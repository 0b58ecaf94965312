"""Browser journeys through the referral form (panel-case/2) in headless Chromium: a referrer
picks the tumour type by typing (keyboard only), sees its module's sections appear, enters the
ALK example field by field (by the labels a person reads), saves a draft half-way, comes back,
completes and submits it; a rhabdomyosarcoma goes to an ECMC panel the same way. Screenshots go
to test-artifacts/screenshots/."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from panel.caseformat import convert
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


def pick_tumour(page, typed: str, name: str):
    """Type into the tumour picker and choose ``name`` with the arrow keys and Enter."""
    combo = page.get_by_role("combobox", name="Tumour type")
    combo.click()
    combo.press_sequentially(typed, delay=20)
    option = page.get_by_role("option").filter(has_text=name).first
    expect(option).to_be_visible()
    # Arrow down until the wanted option is the active one, then Enter.
    for _ in range(15):
        if option.get_attribute("aria-selected") == "true":
            break
        combo.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    combo.press("Enter")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(combo).to_have_value(re.compile(re.escape(name)))


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

    # 0. The tumour type first, typed and chosen with the keyboard: its sections appear.
    expect(page.get_by_role("heading", name="Neuroblastoma: diagnosis")).to_be_hidden()
    pick_tumour(page, "neuroblasto", "Neuroblastoma, NOS")
    expect(page.get_by_role("heading", name="Neuroblastoma: diagnosis")).to_be_visible()
    expect(page.get_by_test_id("tumour-derived")).to_contain_text("IVa Neuroblastoma")
    page.get_by_label("Topography (ICD-O-3 site code)").fill("C74.9")

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
    page.get_by_label("Risk group", exact=True).select_option(label="High risk")
    page.get_by_label("Primary site", exact=True).select_option(label="Adrenal")
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
    page.get_by_label("Protein change (HGVS), variant 1").fill("F1174L")
    page.get_by_label("VAF (%), variant 1").fill("23")
    page.get_by_label("Origin, variant 1").select_option(label="Somatic")
    page.get_by_label("No alterations found").check()
    shoot(page, shots, backend, "5-biology", "nb-disease")

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
    shoot(page, shots, backend, "7-response-fitness", "nb-response")

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
    assert doc == convert.v1_to_v2(expected)
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
        # The tumour type from the plain list, then "Update form" shows its sections.
        expect(page.get_by_label("SIOPEN score at diagnosis")).to_be_hidden()
        tumour = page.get_by_role("combobox", name="Tumour type")  # the plain select
        tumour.select_option(label="Neuroblastoma, NOS (9500/3)")
        page.get_by_role("button", name="Update form").click()
        expect(tumour).to_have_value("9500/3")
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


def test_a_rhabdomyosarcoma_is_picked_by_typing_and_referred_to_an_ecmc_panel(
    page, live_server, artifacts_dir, backend
):
    """The tumour picker by keyboard: neuroblastoma first (its sections appear), then an
    alveolar rhabdomyosarcoma (the neuroblastoma sections go, the sarcoma section comes, with
    its FOXO1 question); the required fields of the core and the module, then submission to
    the ECMC panel. Stored: the core and the sarcoma module only."""
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, REFERRER)
    page.goto(live_server.url + "/cases/new")
    nb_heading = page.get_by_role("heading", name="Neuroblastoma: diagnosis")
    sarcoma_heading = page.get_by_role("heading", name="Sarcoma", exact=True)
    expect(nb_heading).to_be_hidden()
    expect(sarcoma_heading).to_be_hidden()
    expect(page.get_by_role("button", name="Update form")).to_be_hidden()  # JavaScript is on

    pick_tumour(page, "neuroblastoma", "Neuroblastoma, NOS")
    expect(nb_heading).to_be_visible()
    expect(page.get_by_role("link", name="Neuroblastoma: diagnosis")).to_be_visible()

    # Change the tumour type: a synonym, and the keyboard only.
    combo = page.get_by_role("combobox", name="Tumour type")
    combo.fill("")
    pick_tumour(page, "rhabdo", "Alveolar rhabdomyosarcoma")
    expect(nb_heading).to_be_hidden()
    expect(page.get_by_role("link", name="Neuroblastoma: diagnosis")).to_be_hidden()
    expect(sarcoma_heading).to_be_visible()
    derived = page.get_by_test_id("tumour-derived")
    expect(derived).to_contain_text("IXa Rhabdomyosarcomas")
    expect(derived).to_contain_text("Rhabdomyosarcoma and Ewing sarcoma")
    # The module's questions for a rhabdomyosarcoma: FOXO1, not the Ewing fusion.
    expect(page.get_by_label("FOXO1 fusion")).to_be_visible()
    expect(page.get_by_label("Ewing sarcoma fusion")).to_be_hidden()
    missing = page.get_by_test_id("missing-panel")
    expect(missing).to_contain_text("Risk group at diagnosis")
    expect(missing).not_to_contain_text("INRG stage")
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.screenshot(path=str(shots / f"{backend}-form-sarcoma-picked.png"))

    # The core.
    page.get_by_label("Panel", exact=True).select_option("ECMC-NORTH")
    page.get_by_label("Clinical question").fill(
        "Second relapse of an alveolar rhabdomyosarcoma: which early-phase trial?"
    )
    yes_no(page, "Discussed at the local MDT", "Yes")
    page.get_by_label("When").fill("1")
    page.get_by_label("Age at diagnosis, years").fill("9")
    page.get_by_label("Age at diagnosis, months").fill("0")
    page.get_by_label("Age now, years").fill("11")
    page.get_by_label("Age now, months").fill("3")
    page.get_by_label("Sex", exact=True).select_option(label="Male")
    page.get_by_label("Disease status", exact=True).select_option(label="Refractory")
    page.get_by_label("Episode", exact=True).fill("1")
    page.get_by_label("Months from diagnosis to this event").fill("8")
    page.get_by_label("Months since last treatment").fill("1")
    page.get_by_role("group", name="Disease sites").get_by_label("Lung", exact=True).check()
    yes_no(page, "Measurable disease", "Yes")
    page.get_by_label("Bone marrow infiltration").fill("0")
    page.get_by_label("Molecular profiling at relapse").select_option(label="Done")
    page.get_by_role("button", name="Add an alteration").click()
    page.get_by_label("Gene, alteration 1").fill("FOXO1")
    page.get_by_label("Alteration type, alteration 1").select_option(label="Fusion / rearrangement")
    page.get_by_label("Fusion partner, alteration 1").fill("PAX3")
    page.get_by_label("At relapse, alteration 1").select_option(label="Yes")
    page.get_by_label("Phase, line 1").select_option(label="Induction")
    page.get_by_label("Regimen, line 1").select_option("IVA")
    page.get_by_label("Cycles, line 1").fill("9")
    page.get_by_label("Best response, line 1").select_option(label="Partial response (PR)")
    page.get_by_label("Start (month), line 1").fill("0")
    page.get_by_label("End (month), line 1").fill("7")
    toxicities = re.compile(r"Toxicities that matter for trials\s*, line 1")
    page.get_by_role("group", name=toxicities).get_by_label("Hearing loss").check()
    page.get_by_label("Performance scale").select_option(label="Lansky play-performance scale")
    page.get_by_label("Performance score").select_option("70")
    page.get_by_label("GFR", exact=True).fill("88")
    yes_no(page, "Family aware of the referral", "Yes")
    # The module.
    page.get_by_label("Histological subtype").select_option(label="Rhabdomyosarcoma, alveolar")
    page.get_by_label("Risk group at diagnosis").select_option(label="Very high risk")
    page.get_by_label("FOXO1 fusion").select_option(label="PAX3::FOXO1")
    sites = page.get_by_role("group", name="Metastatic sites at diagnosis")
    expect(sites).to_be_hidden()
    yes_no(page, "Metastatic at diagnosis", "Yes")
    expect(sites).to_be_visible()
    yes_no(page, "Metastatic at diagnosis", "No")
    expect(missing).to_contain_text("Everything required is entered")
    shoot(page, shots, backend, "sarcoma-module", "sarcoma")
    shoot(page, shots, backend, "sarcoma-molecular", "molecular")

    page.get_by_test_id("save-submit").click()
    expect(page).to_have_url(re.compile(r"/cases/[A-Z]+-\d{4}-\d{4}$"))
    ref = page.url.rsplit("/", 1)[1]
    page.screenshot(path=str(shots / f"{backend}-form-sarcoma-submitted.png"))
    status, doc = stored_case(live_server, ref)
    assert status == "submitted" and doc["panel"] == "ECMC-NORTH"
    assert doc["tumour"] == {"morphology": "8920/3"}
    assert doc["modules"] == {
        "sarcoma": {
            "subtype": "rms_alveolar",
            "risk_group": "very_high",
            "foxo1_fusion": "pax3_foxo1",
            "metastatic_at_diagnosis": False,
        }
    }
    assert doc["molecular"]["alterations"] == [
        {"gene": "FOXO1", "type": "fusion", "partner": "PAX3", "at_relapse": True}
    ]
    assert doc["treatment"]["lines"] == [
        {
            "phase": "induction",
            "regimen": "IVA",
            "cycles": 9,
            "best_response": "PR",
            "start_month": 0,
            "end_month": 7,
            "toxicities": ["hearing"],
        }
    ]
    assert doc["local_mdt"] == {"discussed": True, "months_ago": 1}
    assert errors == []
