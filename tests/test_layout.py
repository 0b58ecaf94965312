"""The test harness's own rules: test modules share code only through ``tests/support``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):  # imports inside functions count too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def test_no_test_module_imports_another_test_module():
    """Does every test module (and conftest) take shared code from tests.support, never from
    another test module, conftest or helper file?"""
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        for line, module in _imported_modules(path):
            if module == "tests" or not module.startswith("tests."):
                continue
            parts = module.split(".")
            if parts[1] == "support":
                continue
            # ``from tests import support`` is fine; anything else under tests/ is a test module.
            offences.append(f"{path.relative_to(TESTS.parent)}:{line} imports {module}")
    assert not offences, "\n".join(offences)
