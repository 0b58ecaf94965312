"""Put the project first for a benchmark run as a script (``python bench/x.py``): the project's
root on ``sys.path``, and its ``tests`` folder (a namespace package: no ``__init__.py``)
registered as ``tests`` before any installed package of that name. textstat's wheel ships a
top-level ``tests`` package, which would otherwise hide ours (``from tests.support ...``)."""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> Path:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.machinery.PathFinder.find_spec("tests", [str(ROOT)])
    if spec is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["tests"] = module
    return ROOT
