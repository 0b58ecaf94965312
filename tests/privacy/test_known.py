"""The patient's own name, found in short text however it is written (panel.privacy.known)."""

from __future__ import annotations

import pytest

from panel.privacy import PATIENT_NAME, identifier_kinds, mentions_name, name_parts


def test_name_parts_normalise_case_carets_accents_and_empty_components():
    assert name_parts(["SMITH^OLIVER^^"]) == {"SMITH", "OLIVER"}
    assert name_parts(["O'Brien^Zoë^J"]) == {"OBRIEN", "BRIEN", "ZOE"}
    assert name_parts(["SMITH-JONES^AVA"]) == {"SMITH", "JONES", "AVA"}
    assert name_parts(["ANONYMOUS^LI"], ignore=["ANONYMOUS"]) == frozenset()


@pytest.mark.parametrize(
    "text",
    ["Oliver Smith", "SMITH^OLIVER", "smith, oliver", "for OLIVER", "Dr Smith's list", "Olivér"],
)
def test_any_part_in_any_form_is_a_mention(text):
    assert mentions_name(text, name_parts(["SMITH^OLIVER^^"]))


@pytest.mark.parametrize("text", ["SMITHFIELD IMAGING", "OLIVERS", "SIEMENS", ""])
def test_only_whole_words_count(text):
    assert not mentions_name(text, name_parts(["SMITH^OLIVER"]))


def test_identifier_kinds_combines_the_name_and_the_scanner():
    parts = name_parts(["SMITH^OLIVER"])
    assert identifier_kinds("SMITH 943 476 5919", parts) == (PATIENT_NAME, "nhs_number")
    assert identifier_kinds("Mother Sarah Jones", parts) == ("person_name",)
    assert identifier_kinds("syngo MI.PET/CT 2012A", parts) == ()
