"""The OpenAPI document: served without a token, describes every route, and its panel-case/1
schema agrees with the validator on every field of the format."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest

from panel.api.openapi import EXAMPLE_CASE, case_schema
from panel.api.parsing import loads
from panel.caseformat import schema as case_format
from panel.caseformat.fields import FIELDS, VALUE_SETS, FieldSpec
from tests.support.factories import example
from tests.support.openapi import documented_and_served

PANELS = {"NAP", "ECMC-NORTH"}
CENTRES = {"NEWCASTLE", "BRISTOL", "LEEDS"}


@pytest.fixture(scope="module")
def validator():
    return jsonschema_rs.Draft202012Validator(case_schema())


def test_document_is_public_and_describes_every_route(app, client):
    """Is every /api/v1 route (and method) in the document, with bearer security?"""
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    documented, served = documented_and_served(app, doc, "/api/v1")
    assert documented == served
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "field"]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


def test_document_is_valid_json_schema_throughout(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


@pytest.mark.parametrize(
    "doc",
    [example("alk"), example("refractory"), EXAMPLE_CASE],
    ids=["alk", "refractory", "openapi-example"],
)
def test_examples_are_valid(validator, doc):
    assert validator.is_valid(doc), [e.message for e in validator.iter_errors(doc)]
    assert case_format.validate(doc, panels=PANELS | {"NAP"}, centres=CENTRES) == []
    assert case_format.missing_for_submit(doc) == []


def test_every_field_of_the_format_is_in_the_schema():
    """Does the generated schema name every field of FIELDS, and nothing else?"""
    schema = case_schema()

    def paths(node: dict[str, Any], prefix: str = "") -> set[str]:
        out = set()
        for key, sub in node.get("properties", {}).items():
            types = sub.get("type")
            if types == ["object", "null"]:
                out |= paths(sub, f"{prefix}{key}.")
            else:
                out.add(prefix + key)
        return out

    base = {p for p, f in FIELDS.items() if not f.is_projection}
    assert paths(schema) == base


# --------------------------------------------------------------------------- drift
def _samples(spec: FieldSpec, path: str) -> list[Any]:
    """Values around every edge of a field: in and out of range, set and type."""
    t = spec.type
    wrong = ["3", True, {"a": 1}, None]
    if t in ("int", "number"):
        lo = spec.minimum if spec.minimum is not None else -5
        hi = spec.maximum if spec.maximum is not None else 10**6
        values = [lo, hi, lo - 1, hi + 1, (lo + hi) // 2]
        if t == "int":
            values += [1.5, 2.0]
        else:
            values += [lo + 0.5, hi - 0.25]
        if spec.step:
            values += [spec.step * 3, spec.step * 3 + 1]
        return values + wrong
    if t == "bool":
        return [True, False, 0, "true", None]
    if t == "enum":
        return [*VALUE_SETS[spec.value_set].codes, "bogus", "", 3, None]
    if t == "enum_list":
        codes = VALUE_SETS[spec.value_set].codes
        return [[], [codes[0]], list(codes), [codes[0], codes[0]], ["bogus"], [3], "x", None]
    if t == "text":
        limit = case_format.MAX_TEXT.get(path, case_format.DEFAULT_MAX_TEXT)
        return ["", "a", "x" * limit, "x" * (limit + 1), 3, ["a"], None]
    if t == "text_list":
        n = spec.max_items or 5
        return [
            [],
            ["a"],
            [""],
            ["  "],
            [" a "],
            [3],
            ["x" * 1000],
            ["x" * 1001],
            ["q"] * n,
            ["q"] * (n + 1),
            "a",
            None,
        ]
    if t == "code":
        return ["NAP", "NEWCASTLE", 3, True, None]
    if t == "object_list":
        out: list[Any] = [[], [{}], [{"bogus": 1}], ["x"], [None], "x", None, [{}] * 50, [{}] * 51]
        for item in spec.item_fields:
            out += [[{item.path: v}] for v in _samples(item, f"{path}[0].{item.path}")]
        return out
    raise AssertionError(t)


def _cases() -> dict[str, list[Any]]:
    """Sample values by dotted path: every field, every section, and keys that do not exist."""
    out: dict[str, list[Any]] = {}
    for path, spec in FIELDS.items():
        if not spec.is_projection and path != "schema":
            out[path] = _samples(spec, path)
    for section in sorted({p.rsplit(".", 1)[0] for p in FIELDS if "." in p and "[" not in p}):
        out[section] = [{}, None, "x", [], 3]
    out.update({"unknown_key": [1, None], "patient.initials": ["AB"], "biology.alk.gene": ["ALK"]})
    return out


CASES = _cases()


def _document(path: str, value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "panel-case/1"}
    case_format.set_path(doc, path, copy.deepcopy(value))
    return doc


@pytest.mark.parametrize("path", list(CASES))
def test_schema_and_validator_agree(validator, path):
    """For every field of the format, at and around every edge: does the JSON Schema accept
    exactly what the API accepts (its JSON parser, then the validator)? Configured codes are
    the validator's business alone, so code fields are only checked for type."""
    disagreements = []
    for value in CASES[path]:
        doc = _document(path, value)
        by_schema = validator.is_valid(doc)
        problems = case_format.validate(loads(json.dumps(doc)), panels=None, centres=None)
        if by_schema != (not problems):
            disagreements.append(
                (value if len(repr(value)) < 80 else repr(value)[:80], by_schema, problems)
            )
    assert not disagreements


def test_the_file_routes_are_documented_with_closed_shapes(app, client):
    """The three file routes (issue 18) are in the document; the answers whose shape is fixed
    allow no other member; the upload takes multipart with a binary array ``files``."""
    doc = client.get("/api/v1/openapi.json").get_json()
    files = doc["paths"]["/cases/{ref}/files"]
    assert files["get"]["operationId"] == "listFiles"
    assert files["post"]["operationId"] == "uploadFiles"
    assert doc["paths"]["/jobs/{job_id}"]["get"]["operationId"] == "getJob"
    body = files["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["files"]["items"] == {"type": "string", "format": "binary"}
    assert set(files["post"]["responses"]) >= {"202", "403", "404", "413", "415", "422"}
    schemas = doc["components"]["schemas"]
    for name in ("FilesAccepted", "CaseFiles", "FileSeries", "FileDocument", "FileUpload"):
        assert schemas[name]["additionalProperties"] is False, name
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name
    assert set(schemas["CaseFiles"]["properties"]) == {
        "series",
        "documents",
        "held_back",
        "refused",
        "uploads",
    }
    assert schemas["FileSeries"]["properties"]["state"]["enum"] == [
        "stored",
        "held_back",
        "partly_held_back",
    ]
