"""The fuzz targets (fuzz/targets.py), run briefly: Hypothesis feeds them bytes here; long,
coverage-guided runs use atheris (`python -m fuzz.run TARGET -max_total_time=...`, see
docs/operations.md). A finding is an AssertionError or any other exception from a target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets

ROOT = Path(__file__).resolve().parents[2]
SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]
EXAMPLES = int(os.environ.get("PANEL_FUZZ_EXAMPLES", "300"))

TEXTY = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(
        st.sampled_from(
            [
                "NHS",
                "943 476 5919",
                "12/03/2019",
                "NE1 4LP",
                "07700 900123",
                "Oliver",
                "Smith",
                "Dr",
                "born",
                "\u200b",
                "\n",
                "../",
                "C:\\",
                "IM0001.dcm",
                "%00",
                "@",
                "MRN",
                " ",
            ]
        ),
        max_size=30,
    ).map(lambda p: " ".join(p).encode()),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESS)
@given(TEXTY)
def test_identifier_scanner_never_crashes_and_spans_are_inside(data):
    """Does the scanner give well-formed findings for any text?"""
    targets.scanner(data)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESS)
@given(TEXTY)
def test_upload_names_never_escape_or_keep_an_identifier(data):
    """Is any upload name either refused or reduced to a safe, identifier-free base name?"""
    targets.upload_names(data)


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "title",
                    "status",
                    "sites",
                    "criteria",
                    "kind",
                    "condition",
                    "field",
                    "op",
                    "value",
                    "any",
                    "all",
                    "not",
                    "text",
                    "phase",
                    "biology.mycn",
                    "patient.age_now_months",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SUPPRESS)
@given(
    st.one_of(st.binary(max_size=40), JSONISH.map(lambda v: __import__("json").dumps(v).encode()))
)
def test_trial_rule_validator_answers_for_any_json(data):
    """Does the validator return messages (never raise) and do accepted rules compile and run?"""
    targets.trial_rules(data)


@settings(max_examples=max(20, EXAMPLES // 8), deadline=None, suppress_health_check=SUPPRESS)
@given(st.binary(min_size=3, max_size=120))
def test_dicom_deidentifier_refuses_or_deidentifies_mutated_files(data):
    """Is a mutated planted DICOM file always refused cleanly or stored without identifiers?"""
    targets.dicom(data)


@pytest.mark.multiprocess
def test_atheris_runner_works(tmp_path):
    """Does the coverage-guided runner start, find coverage and finish a short run cleanly?
    (atheris is a test dependency: without it this fails, it does not skip.)"""
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz.run", "upload_names", "-runs=2000", "-seed=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "cov:" in proc.stderr and "Done 2000 runs" in proc.stderr
