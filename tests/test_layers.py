"""The package's import graph: no cycle between modules, and no module importing one of a
layer above its own (every import counts, also those inside functions). Run it alone with
`pytest tests/test_layers.py`; docs/development.md draws the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "infogan_bench"

# bottom to top; a module may import its own layer and those below it
LAYERS = [
    ["errors"],
    ["config", "scoring.metrics"],
    ["rundir", "device", "data"],
    ["tracking", "nets"],
    ["scoring"],
    ["analysis"],
    ["training"],
    ["sweeping", "bench"],
    ["cli"],
]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """Index of the most specific LAYERS prefix of module ('' is the package itself)."""
    best, rank = -1, 0
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert best >= 0, f"infogan_bench.{module} is in no layer: add it to LAYERS"
    return rank


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (names without the
    'infogan_bench.' prefix; 'from infogan_bench.x import y' counts y if it is a module)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for full in names:
                if full.startswith("infogan_bench."):
                    short = full.removeprefix("infogan_bench.")
                    if short in modules:
                        targets.add(short)
        graph[name] = targets - {name, ""}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_module_imports_another_in_a_cycle():
    assert _cycle(import_graph()) is None, " -> ".join(_cycle(import_graph()) or [])


def test_no_module_imports_from_a_layer_above_its_own():
    graph = import_graph()
    upward = [
        f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
        for m, targets in sorted(graph.items())
        if m
        for t in sorted(targets)
        if _layer(t) > _layer(m)
    ]
    assert not upward, "; ".join(upward)


@pytest.mark.parametrize("graph", [{"a": {"b"}, "b": {"c"}, "c": {"a"}}])
def test_the_cycle_finder_finds_one(graph):
    assert _cycle(graph) == ["a", "b", "c", "a"]
