"""Panels declare what they take (issue 20): the NAP takes neuroblastoma, the ECMC panels any
tumour type. ``Panel.refusal_for`` / ``Panel.takes`` / ``Case.can_go_to`` say it once; saving,
submitting (web form, JSON API, ``import-case``) and refer-on ask them.

Storage shapes assumed (before the lead's panel-case/2 switch lands):

* a non-neuroblastoma case is a case whose stored body is set by hand to a v2-shaped body
  (``{"tumour": {"morphology": "8920/3"}, "modules": {}, ...}``, which ``Case.tumour`` reads);
* the create/update paths (form, API, CLI) still take ``panel-case/1`` documents, whose tumour is
  always neuroblastoma; they are tested against a scoped test panel (``SARC``, which takes
  rhabdomyosarcoma only), so the refusal path is the real one with either storage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from panel.accounts.models import Panel
from panel.cases import forms
from panel.cases import operations as ops
from panel.cases.models import Case
from panel.core.errors import Refused
from panel.meetings import triage
from tests.support.web import Api, csrf_token, post_form

DATA = Path(__file__).resolve().parent.parent / "data"
RHABDO = {"morphology": "8920/3"}
NAP_REFUSES_RHABDO = (
    "The CCLG Neuroblastoma National Advisory Panel takes neuroblastoma only; this case is "
    "alveolar rhabdomyosarcoma (8920/3): refer it to a panel that takes it: "
    "ECMC-LONDON-SOUTH, ECMC-MIDLANDS-WEST or ECMC-NORTH."
)
ECMC = ("ECMC-NORTH", "ECMC-MIDLANDS-WEST", "ECMC-LONDON-SOUTH")


def example() -> dict:
    return json.loads((DATA / "case-example-alk.json").read_text())


def _panel(db_session, code: str) -> Panel:
    return db_session.scalar(select(Panel).where(Panel.code == code))


def _as_v2(case: Case, tumour: dict) -> None:
    """Store ``case`` as a v2-shaped body with ``tumour`` (what the lead's switch will store)."""
    from panel.caseformat import convert

    body = convert.v1_to_v2({**case.data, "schema": "panel-case/1"})
    body.pop("schema", None)
    body["tumour"] = dict(tumour)
    body["modules"] = {}
    case.data = body


@pytest.fixture
def sarc(db_session):
    """A test panel that takes alveolar rhabdomyosarcoma only (so a v1 neuroblastoma document
    is refused by it, on every path that still takes v1 documents)."""
    panel = Panel(
        code="SARC",
        name="Test Sarcoma Panel",
        scope="national",
        takes_iccc=[],
        takes_morphology=["8920/3"],
        takes_words="rhabdomyosarcoma",
    )
    db_session.add(panel)
    db_session.commit()
    return panel


SARC_REFUSES_NB = (
    "The Test Sarcoma Panel takes rhabdomyosarcoma only; this case is neuroblastoma (9500/3): "
    "refer it to a panel that takes it: NAP, ECMC-LONDON-SOUTH, ECMC-MIDLANDS-WEST or ECMC-NORTH."
)


# --------------------------------------------------------------------------- the rule
def test_the_nap_takes_neuroblastoma_and_refuses_others_with_a_clear_message(db_session):
    nap = _panel(db_session, "NAP")
    assert nap.takes_iccc == ["IVa"] and nap.takes_words == "neuroblastoma"
    assert "factsheet" in nap.takes_source and "undated" in nap.takes_source
    for tumour in (
        {"morphology": "9500/3"},
        {"morphology": "9500/3", "topography": "C74.9"},
        {"morphology": "9490/3"},  # ganglioneuroblastoma: ICCC-3 IVa, as panel-case/1 records it
        {},  # not recorded yet: not refused (the form offers every panel until it is known)
    ):
        assert nap.takes(tumour), tumour
        assert nap.refusal_for(tumour) is None
    assert nap.refusal_for(RHABDO) == NAP_REFUSES_RHABDO
    assert not nap.takes({"morphology": "9260/3"})  # Ewing sarcoma, site unknown
    assert not nap.takes({"morphology": "9260/3", "topography": "C41.4"})
    unlisted = nap.refusal_for({"morphology": "8000/3"})
    assert unlisted.startswith("The CCLG Neuroblastoma National Advisory Panel takes")
    assert "this case is 8000/3" in unlisted


@pytest.mark.parametrize("code", ECMC)
def test_the_ecmc_panels_take_any_tumour(db_session, code):
    panel = _panel(db_session, code)
    assert panel.takes_any_tumour and "any relapsed or refractory" in panel.takes_words
    for morphology in ("9500/3", "8920/3", "9260/3", "8960/3", "9440/3", "8000/3"):
        assert panel.takes({"morphology": morphology}), morphology


def test_case_can_go_to_reads_its_tumour_in_either_storage(db_session, people, make_case):
    nap, north = _panel(db_session, "NAP"), _panel(db_session, "ECMC-NORTH")
    case = make_case(people["referrer"])  # v1 body: neuroblastoma
    assert case.can_go_to(nap) and case.can_go_to(north)
    _as_v2(case, RHABDO)
    assert case.tumour == RHABDO
    assert not case.can_go_to(nap) and case.can_go_to(north)
    assert nap.refusal_for(case) == NAP_REFUSES_RHABDO
    db_session.rollback()


def test_every_packaged_panel_has_its_scope_and_words_with_sources():
    from panel.caseformat import tumours

    data = json.loads((Path(__file__).resolve().parents[2] / "panel/data/panels.json").read_text())
    for p in data["panels"]:
        takes, words = p["takes"], p["family_words"]
        for fact in (takes, words):
            assert fact["source"] and "source_date" in fact and fact["checked_on"], p["code"]
        for sub in takes["iccc"]:
            assert sub in tumours._load()["iccc_subgroups"], sub
        for code in takes["morphology"]:
            assert tumours.get_tumour_type(code) is not None, code


# --------------------------------------------------------------------------- operations
def test_a_neuroblastoma_case_at_the_nap_is_unaffected(db_session, people, make_case):
    case = make_case(people["referrer"], submit=True)
    assert case.panel.code == "NAP" and case.status.value == "submitted"


def test_saving_to_a_panel_that_does_not_take_the_case_is_refused(db_session, people, sarc):
    with pytest.raises(ops.InvalidCase) as exc:
        ops.create_case({**example(), "panel": "SARC"}, by=people["referrer"])
    assert exc.value.field == "panel" and exc.value.problems[0].message == SARC_REFUSES_NB
    db_session.rollback()
    case = ops.create_case(example(), by=people["referrer"]).case
    db_session.commit()
    with pytest.raises(ops.InvalidCase, match="Test Sarcoma Panel takes rhabdomyosarcoma only"):
        ops.update_case(
            case, {**example(), "panel": "SARC"}, by=people["referrer"], expected_version=None
        )
    db_session.rollback()


def test_submitting_a_case_its_panel_does_not_take_is_refused(db_session, people, make_case):
    case = make_case(people["referrer"])
    _as_v2(case, RHABDO)
    db_session.commit()
    with pytest.raises(ops.InvalidCase) as exc:
        ops.submit_case(case, by=people["referrer"])
    assert exc.value.field == "panel" and exc.value.problems[0].message == NAP_REFUSES_RHABDO
    db_session.rollback()
    assert db_session.get(Case, case.id).submitted_at is None


# --------------------------------------------------------------------------- the web form
def _form_pairs(doc: dict) -> list[tuple[str, str]]:
    data = forms.CaseFormData.from_document(doc)
    pairs = [(k, v) for k, v in data.values.items() if v != ""]
    pairs += [(k, v) for k, vs in data.multi.items() for v in vs]
    for path, rows in data.rows.items():
        for i, row in enumerate(rows):
            for key, v in row.items():
                pairs.append((f"{path}[{i}]" + (f".{key}" if key else ""), v))
    return pairs


def _panel_options(html: str) -> list[str]:
    select_html = re.search(r'<select[^>]*name="panel".*?</select>', html, re.DOTALL).group(0)
    return re.findall(r'<option value="([^"]+)"', select_html)


def test_the_form_offers_only_the_panels_that_take_the_case(app, client, login, people, sarc):
    login(client, people["referrer"])
    html = client.get("/cases/new").get_data(as_text=True)
    options = _panel_options(html)
    assert "NAP" in options and set(ECMC) <= set(options) and "SARC" not in options


def test_the_form_shows_the_refusal_on_the_panel_field(
    app, client, login, people, sarc, db_session
):
    login(client, people["referrer"])
    data = MultiDict(_form_pairs({**example(), "panel": "SARC"}))
    data["csrf_token"] = csrf_token(app, client)
    data["action"] = "save"
    resp = client.post("/cases/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(
        r'data-error-for="panel">The Test Sarcoma Panel takes rhabdomyosarcoma only', html
    )
    assert (
        db_session.scalar(select(Case).where(Case.created_by_id == people["referrer"].id)) is None
    )


def test_the_form_submit_shows_the_refusal(app, client, login, people, make_case, db_session):
    case = make_case(people["referrer"])
    _as_v2(case, RHABDO)
    db_session.commit()
    login(client, people["referrer"])
    resp = post_form(app, client, f"/cases/{case.reference}/submit", {})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(
        r'data-error-for="panel">The CCLG Neuroblastoma National Advisory Panel takes '
        r"neuroblastoma only; this case is alveolar rhabdomyosarcoma \(8920/3\)",
        html,
    )
    db_session.expire_all()
    assert db_session.get(Case, case.id).submitted_at is None


# --------------------------------------------------------------------------- API and CLI
def test_the_api_answers_422_with_the_message(app, client, db_session, people, sarc):
    from panel.api import tokens

    token = tokens.create_token(people["referrer"], "t", by=people["referrer"]).secret
    db_session.commit()
    api = Api(client, token)
    resp = api.post("/api/v1/cases", json={**example(), "panel": "SARC"})
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["field"] == "panel" and SARC_REFUSES_NB in json.dumps(body)


def test_the_api_submit_answers_422_with_the_message(app, client, db_session, people, make_case):
    from panel.api import tokens

    token = tokens.create_token(people["referrer"], "t", by=people["referrer"]).secret
    api = Api(client, token)
    case = make_case(people["referrer"])
    _as_v2(case, RHABDO)
    db_session.commit()
    resp = api.post(f"/api/v1/cases/{case.reference}/submit")
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["field"] == "panel"
    assert NAP_REFUSES_RHABDO in json.dumps(resp.get_json())


def test_import_case_prints_the_message(app, db_session, people, sarc, tmp_path):
    path = tmp_path / "sarc.json"
    path.write_text(json.dumps({**example(), "panel": "SARC"}))
    result = app.test_cli_runner().invoke(
        args=["import-case", str(path), "--referrer", people["referrer"].email]
    )
    assert result.exit_code != 0
    assert f"panel: {SARC_REFUSES_NB}" in " ".join(result.output.split())
    assert (
        db_session.scalar(select(Case).where(Case.created_by_id == people["referrer"].id)) is None
    )


# --------------------------------------------------------------------------- refer on
@pytest.fixture
def rhabdo_at_north(db_session, people, make_case):
    """A submitted case at ECMC-NORTH whose tumour is alveolar rhabdomyosarcoma (v2 body)."""
    case = make_case(people["referrer"], submit=True)
    north = _panel(db_session, "ECMC-NORTH")
    case.panel_id, case.panel = north.id, north
    _as_v2(case, RHABDO)
    case.data = {**case.data, "panel": "ECMC-NORTH"}
    db_session.commit()
    return case


def test_refer_on_offers_only_the_panels_that_take_the_case(db_session, rhabdo_at_north):
    codes = [p.code for p in triage.referable_panels(rhabdo_at_north)]
    assert codes == ["ECMC-LONDON-SOUTH", "ECMC-MIDLANDS-WEST"]


def test_refer_on_refuses_a_panel_that_does_not_take_the_case(
    app, client, login, db_session, people, rhabdo_at_north
):
    coord, nap = people["north_coordinator"], _panel(db_session, "NAP")
    with pytest.raises(Refused) as exc:
        triage.refer_on(rhabdo_at_north, nap, reason="Second look", by=coord)
    assert exc.value.field == "panel" and exc.value.message == NAP_REFUSES_RHABDO
    db_session.rollback()

    login(client, coord)
    page = client.get(f"/cases/{rhabdo_at_north.reference}/refer-on").get_data(as_text=True)
    assert "ECMC-LONDON-SOUTH" in page and "NAP ·" not in page
    resp = post_form(
        app,
        client,
        f"/cases/{rhabdo_at_north.reference}/refer-on",
        {"panel": nap.id, "reason": "Second look"},
    )
    assert resp.status_code == 422
    assert "takes neuroblastoma only; this case is alveolar rhabdomyosarcoma" in (
        resp.get_data(as_text=True)
    )
    db_session.expire_all()
    assert db_session.get(Case, rhabdo_at_north.id).panel.code == "ECMC-NORTH"
    # A panel id that does not exist is refused as before, never a 500.
    resp = post_form(
        app,
        client,
        f"/cases/{rhabdo_at_north.reference}/refer-on",
        {"panel": 2**40, "reason": "Second look"},
    )
    assert resp.status_code == 422


def test_a_neuroblastoma_case_is_still_referred_on_from_the_nap(db_session, people, make_case):
    case = make_case(people["referrer"], submit=True)
    codes = [p.code for p in triage.referable_panels(case)]
    assert codes == ["ECMC-LONDON-SOUTH", "ECMC-MIDLANDS-WEST", "ECMC-NORTH"]
    north = _panel(db_session, "ECMC-NORTH")
    triage.refer_on(case, north, reason="Early-phase trial", by=people["nap_coordinator"])
    db_session.commit()
    assert case.panel.code == "ECMC-NORTH"
