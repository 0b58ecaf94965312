"""Do Panel's packages import each other in a circle?

Every module under ``panel/`` is parsed with ``ast`` (imports inside functions count, since a
circle through a function-level import is still a circle in the design); each import is
reduced to its package (``panel.cases.views`` -> ``panel.cases``) and the test fails on any
cycle in that package graph, printing it with the imports that make it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "panel"

#: Cycles we accept, each with its reason: ``frozenset({"panel.a", "panel.b"}): "why"``.
KNOWN: dict[frozenset[str], str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str | None:
    """``panel.X`` for a module inside a package under panel/, else None."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "panel" and (ROOT / parts[1]).is_dir():
        return ".".join(parts[:2])
    return None


def package_graph() -> dict[str, dict[str, list[str]]]:
    """``{from_package: {to_package: ["file:line", ...]}}`` over every import under panel/."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        source = _package(module)
        if source is None:
            continue
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    if not is_package:
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                to = _package(target)
                if to is not None and to != source:
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    if where not in graph[source][to]:
                        graph[source][to].append(where)
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_inside_functions():
    """Does the parser find an import written inside a function (triage's suggestions import
    the trial matching inside a function)?"""
    graph = package_graph()
    assert any(
        w.startswith("panel/meetings/triage.py") for w in graph["panel.meetings"]["panel.trials"]
    )


def test_no_package_imports_another_in_a_circle():
    """Is the package graph under panel/ free of cycles (imports inside functions included)?"""
    graph = package_graph()
    report = []
    for component in cycles(graph):
        if frozenset(component) in KNOWN:
            continue
        lines = [" <-> ".join(component)]
        for a in component:
            for b in component:
                for where in graph.get(a, {}).get(b, []):
                    lines.append(f"    {a} -> {b}  ({where})")
        report.append("\n".join(lines))
    assert not report, "package import cycles:\n" + "\n".join(report)


def test_core_imports_no_domain_package():
    """Does core stay below the domains (domains register with core, core imports none of them)?"""
    graph = package_graph()
    domains = {
        "panel.accounts",
        "panel.cases",
        "panel.imaging",
        "panel.trials",
        "panel.meetings",
        "panel.feedback",
        "panel.outcomes",
        "panel.reports",
        "panel.api",
        "panel.ops",
    }
    assert not domains & set(graph.get("panel.core", {})), dict(graph["panel.core"])
