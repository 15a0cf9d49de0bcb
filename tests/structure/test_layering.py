"""The layers of the code base: the shared core imports nothing above it, product modules form no import
circle, and the import-linter contracts in pyproject.toml hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("enclave", "ingest", "gateway", "services", "boot")
ABOVE_CORE = ("gateway", "ingest", "services", "bench", "boot")


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PRODUCT, "bench", exclude_type_checking_imports=True)


def test_the_core_imports_nothing_above_it() -> None:
    graph = _graph()
    offending = sorted(
        f"{imp['importer']} imports {imp['imported']} (line {imp['line_number']})"
        for module in graph.find_descendants("enclave") | {"enclave"}
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] in ABOVE_CORE
        for imp in graph.get_import_details(importer=module, imported=imported)
    )
    assert offending == []


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v) & modules:
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

    sys.setrecursionlimit(10_000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_among_product_modules() -> None:
    graph = _graph()
    # A package's __init__ that re-exports is not a circle of its own; there are none such here, and the
    # check counts imports inside functions too (a lazy import is still a dependency).
    modules = {m for root in PRODUCT for m in graph.find_descendants(root) | {root}}
    assert _cycles(graph, modules) == []


def test_a_planted_circle_is_found(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The circle finder itself works: two modules importing each other are reported."""
    pkg = tmp_path / "circlepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circlepkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from circlepkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circlepkg")
    assert _cycles(graph, graph.modules) == [["circlepkg.a", "circlepkg.b"]]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
