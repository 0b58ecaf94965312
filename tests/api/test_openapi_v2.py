"""The /api/v2 OpenAPI document (issue 20): public, describes exactly the v2 routes, and its
panel-case/2 schema, generated from FIELDS_V2 and the modules, agrees with validate_v2; v1's
document says its case is panel-case/1 for neuroblastoma and panel-case/2 otherwise."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema_rs
import pytest

from panel.api.openapi import EXAMPLE_CASE, EXAMPLE_CASE_V2, case_schema_v2
from panel.api.parsing import loads
from panel.caseformat import convert, v2
from panel.caseformat.schema import DEFAULT_MAX_TEXT, MAX_LIST_ITEMS, MAX_QUESTION, set_path
from tests.support.factories import example, sarcoma_v2
from tests.support.openapi import documented_and_served

PANELS = {"NAP", "ECMC-NORTH"}
CENTRES = {"NEWCASTLE", "BRISTOL", "LEEDS"}


@pytest.fixture(scope="module")
def validator():
    return jsonschema_rs.Draft202012Validator(case_schema_v2())


def _component_validator(doc: dict[str, Any], name: str):
    """A validator of one component schema of an OpenAPI document (its $refs resolved)."""
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )


def test_v2_document_is_public_and_describes_every_v2_route(app, client):
    resp = client.get("/api/v2/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/api/v2"}]
    assert doc["security"] == [{"bearerAuth": []}]
    documented, served = documented_and_served(app, doc, "/api/v2")
    assert documented == served
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    assert "/api/v1 only" in doc["info"]["description"]
    # Every reference resolves, and nothing unreferenced is carried over from v1.
    text = json.dumps(doc)
    for ref in set(re.findall(r'"#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in doc["components"][ref[0]], ref
    assert "LetterList" not in doc["components"]["schemas"]
    case = doc["components"]["schemas"]["Case"]["properties"]["case"]
    assert case == {"$ref": "#/components/schemas/PanelCaseV2"}


def test_v2_document_is_valid_json_schema_throughout(client):
    doc = client.get("/api/v2/openapi.json").get_json()
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


@pytest.mark.parametrize(
    "doc",
    [
        sarcoma_v2(),
        EXAMPLE_CASE_V2,
        convert.v1_to_v2(example("alk")),
        convert.v1_to_v2(example("refractory")),
        convert.v1_to_v2(EXAMPLE_CASE),
    ],
    ids=["sarcoma", "openapi-example", "alk", "refractory", "v1-openapi-example"],
)
def test_v2_examples_are_valid(validator, doc):
    assert validator.is_valid(doc), [e.message for e in validator.iter_errors(doc)]
    assert v2.validate_v2(doc, panels=PANELS, centres=CENTRES) == []
    assert v2.missing_for_submit_v2(doc) == []


def test_every_field_of_panel_case_2_is_in_the_schema():
    def paths(node: dict[str, Any], prefix: str = "") -> set[str]:
        out = set()
        for key, sub in node.get("properties", {}).items():
            if sub.get("type") == ["object", "null"]:
                out |= paths(sub, f"{prefix}{key}.")
            else:
                out.add(prefix + key)
        return out

    assert paths(case_schema_v2()) == set(v2.FIELDS_V2)


def test_v1_document_says_which_format_each_case_is_in(client):
    """v1's case is a oneOf: panel-case/1 (neuroblastoma) or panel-case/2 (any other tumour);
    POST and PUT take either. A v1 and a v2 document each match exactly one branch."""
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    case = schemas["Case"]["properties"]["case"]
    assert case["oneOf"] == [
        {"$ref": "#/components/schemas/PanelCase"},
        {"$ref": "#/components/schemas/PanelCaseV2"},
    ]
    assert "neuroblastoma" in case["description"]
    assert schemas["PanelCase"]["title"] == "panel-case/1"
    assert schemas["PanelCaseV2"]["title"] == "panel-case/2"
    body = doc["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]
    assert {e["value"]["schema"] for e in body["examples"].values()} == {
        "panel-case/1",
        "panel-case/2",
    }
    one_of = _component_validator(doc, "Case")
    header = {
        "reference": "NB-2026-0001",
        "workflow_status": "draft",
        "version": 1,
        "panel": "NAP",
        "referring_centre": "NEWCASTLE",
        "urgency": "routine",
        "created_by": "a@example.org",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "submitted_at": None,
    }
    for document in (example(), sarcoma_v2()):
        envelope = {**header, "case": document}
        assert one_of.is_valid(envelope), [e.message for e in one_of.iter_errors(envelope)]
    assert not one_of.is_valid({**header, "case": {**sarcoma_v2(), "schema": "panel-case/1"}})


# --------------------------------------------------------------------------- drift
def _samples(spec: v2.FieldSpecV2, path: str) -> list[Any]:
    """Values around the edges of a field of panel-case/2 (as tests/api/test_openapi.py does for
    panel-case/1)."""
    t = spec.type
    wrong = ["3", True, {"a": 1}, None]
    if t in ("int", "number"):
        lo = spec.minimum if spec.minimum is not None else -5
        hi = spec.maximum if spec.maximum is not None else 10**6
        values = [lo, hi, lo - 1, hi + 1, (lo + hi) // 2]
        values += [1.5, 2.0] if t == "int" else [lo + 0.5, hi - 0.25]
        if spec.step:
            values += [spec.step * 3, spec.step * 3 + 1]
        return values + wrong
    if t == "bool":
        return [True, False, 0, "true", None]
    codes = v2.V2_VALUE_SETS[spec.value_set].codes if spec.value_set else ()
    if t == "enum":
        return [*codes, "bogus", "", 3, None]
    if t == "enum_list":
        return [[], [codes[0]], list(codes), [codes[0], codes[0]], ["bogus"], [3], "x", None]
    if t == "text":
        limit = v2.MAX_TEXT.get(path, DEFAULT_MAX_TEXT)
        return ["", "a", "x" * limit, "x" * (limit + 1), 3, ["a"], "a\x00b", None]
    if t == "text_list":
        n = spec.max_items or 5
        return [[], ["a"], [""], ["  "], [3], ["x" * MAX_QUESTION], ["x" * (MAX_QUESTION + 1)]] + [
            ["q"] * n,
            ["q"] * (n + 1),
            "a",
            None,
        ]
    if t == "code":
        if spec.pattern:  # shapes only: whether a code is in the list is the validator's
            return ["C49", "C49.2", "c49.2", "8920", "9999/x", 3, True, None]
        return ["NAP", "NEWCASTLE", 3, True, None]
    if t == "object_list":
        out: list[Any] = [[], [{}], [{"bogus": 1}], ["x"], [None], "x", None]
        out += [[{}] * MAX_LIST_ITEMS, [{}] * (MAX_LIST_ITEMS + 1)]
        for item in spec.item_fields:
            out += [[{item.path: v}] for v in _samples(item, f"{path}[0].{item.path}")]
        return out
    raise AssertionError(t)


def _cases() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for path, spec in v2.FIELDS_V2.items():
        if path not in ("schema", "tumour.morphology"):
            out[path] = _samples(spec, path)
    out["tumour.morphology"] = ["8920/3", "9500/3", "8920", "892/3", 3, None]
    for section in sorted({p.rsplit(".", 1)[0] for p in v2.FIELDS_V2 if "." in p}):
        out[section] = [{}, None, "x", [], 3]
    out.update({"unknown_key": [1, None], "tumour.iccc_group": ["IX"], "modules.other": [{}]})
    return out


CASES = _cases()


@pytest.mark.parametrize("path", list(CASES))
def test_v2_schema_and_validator_agree(validator, path):
    """For every field of panel-case/2: does the JSON Schema accept exactly what the API
    accepts? (No tumour type is set, so no module is checked against one.)"""
    disagreements = []
    for value in CASES[path]:
        doc: dict[str, Any] = {"schema": "panel-case/2"}
        set_path(doc, path, copy.deepcopy(value))
        by_schema = validator.is_valid(doc)
        problems = v2.validate_v2(loads(json.dumps(doc)), panels=None, centres=None)
        if by_schema != (not problems):
            disagreements.append((repr(value)[:80], by_schema, problems))
    assert not disagreements
