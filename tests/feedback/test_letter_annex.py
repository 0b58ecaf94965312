"""The clinician letter's annex holds the whole clinical summary (issue 14, fault 10): treatment
history, response, fitness, the ALK variant and every biology field present, generated from the
case format's field table, for the ALK example (tests/data/case-example-alk.json)."""

from __future__ import annotations

import html as html_lib
import re

from panel.caseformat.schema import get_path
from panel.caseformat.v2 import FIELDS_V2
from panel.cases.operations import to_document
from panel.feedback import letters


def _annex(client, case) -> str:
    page = client.get(f"/cases/{case.reference}/letters/clinician").get_data(as_text=True)
    return html_lib.unescape(page.split('class="annex"')[1])


def test_annex_holds_every_clinical_field_of_the_alk_example(
    app, client, login, approved_recommendation, feedback_people
):
    """Does the annex show treatment history (lines, prior therapies), response, fitness
    (performance status, organ function), the ALK variant (F1174L, VAF, origin) and every field
    of the case format that the case fills, but for the referral header and the family?"""
    rec = approved_recommendation
    login(client, feedback_people["nap_coordinator"])
    annex = _annex(client, rec.case)
    for key in ("tumour", "patient", "disease", "molecular", "module-neuroblastoma", "treatment"):
        assert f'data-testid="annex-{key}"' in annex, key
    assert "F1174L" in annex and "Somatic" in annex and "23" in annex  # the ALK variant
    assert "ALK variants" in annex and "ALK status" in annex
    assert "Rapid COJEC" in annex and "BuMel (busulfan, melphalan)" in annex  # treatment lines
    assert "Prior anti-GD2 antibodies" in annex and "Dinutuximab beta" in annex
    assert "End of induction: overall response" in annex and "Stable disease (SD)" in annex
    assert "Lansky play-performance scale" in annex and "Adequate organ function" in annex
    assert "Molecular profiling at relapse" in annex and "MYCN" in annex

    # Generated from the field table: every field the case fills (outside the referral header
    # and the family section) has its row, so nothing is left out by a hand list.
    doc = to_document(rec.case)
    paths = set(re.findall(r'data-path="([^"]+)"', annex))
    expected = {
        path
        for path in FIELDS_V2
        if get_path(doc, path) is not None
        and not path.startswith("family.")
        and path not in ("schema", "reference", "panel", "referring_centre", "urgency")
        and path != "clinical_question"
    }
    assert expected <= paths, sorted(expected - paths)
    assert not any(p.startswith("family.") for p in paths)


def test_annex_sections_come_from_the_case_format(approved_recommendation):
    """Does ``annex_sections`` leave out only the referral and the family sections?"""
    from panel.cases.display import SECTIONS

    doc = to_document(approved_recommendation.case)
    keys = [s["key"] for s in letters.annex_sections(doc)]
    core = [k for k, _, _ in SECTIONS if k not in letters.ANNEX_LEFT_OUT and k != "local_mdt"]
    # The neuroblastoma module's section follows the molecular findings; the example has no
    # local MDT, so that section is empty and left out.
    at = core.index("molecular") + 1
    assert keys == [*core[:at], "module-neuroblastoma", *core[at:]]
