"""``flask --app panel ...`` from any folder: the commands find ``config.py`` by the package's
path, and relative file arguments are read from the working directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import synth

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")

pytestmark = pytest.mark.multiprocess  # each test runs the CLI in new processes


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # The venv's editable install exposes only the ``panel`` package (of another checkout),
    # never the project folder. Reproduce that for this checkout: a folder holding nothing but
    # a link to this ``panel``, so the project folder (and its config.py) is not on sys.path.
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if not (site / "panel").exists():
        (site / "panel").symlink_to(ROOT / "panel", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    env.update(
        PYTHONPATH=str(site),
        PANEL_ENV="testing",
        PANEL_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        PANEL_STORAGE_DIR=str(tmp_path / "storage"),
        PANEL_SECRET_KEY="x" * 40,
    )
    data = tmp_path / "data"
    return subprocess.run(
        [str(FLASK), "--app", "panel", *args],
        cwd=data,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_match_and_deidentify_run_from_a_folder_of_data(tmp_path):
    """Do `match` and `deidentify` work when run from a folder of data (not the project
    folder), with relative paths?"""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "case-example-alk.json", data / "case.json")
    shutil.copy(ROOT / "panel" / "data" / "trials.json", data / "trials.json")
    synth.make_ct_series(data / "scans", 1, rows=16, cols=16)

    matched = _run(tmp_path, "match", "case.json", "--trials", "trials.json")
    assert matched.returncode == 0, matched.stderr[-2000:]
    assert "No module named 'config'" not in matched.stderr
    assert json.loads(matched.stdout)["matches"]

    cleaned = _run(tmp_path, "deidentify", "scans", "clean")
    assert cleaned.returncode == 0, cleaned.stderr[-2000:]
    assert len([p for p in (data / "clean").rglob("*") if p.is_file()]) == 1
