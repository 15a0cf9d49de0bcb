"""Shape rules of the product code: small functions and files, and one writer of a document's status."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("enclave", "ingest", "gateway", "services", "boot")
MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 400
LIFECYCLE = REPO / "enclave" / "documents" / "lifecycle.py"


def _product_files() -> list[Path]:
    files = [p for root in PRODUCT for p in (REPO / root).rglob("*.py")]
    # Alembic revisions are frozen history, written once and never edited.
    return sorted(p for p in files if "migrations/versions" not in p.as_posix() and "static" not in p.parts)


def test_no_product_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_no_product_file_is_longer_than_four_hundred_lines() -> None:
    long = [
        f"{p.relative_to(REPO)} ({n} lines)"
        for p in _product_files()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    ]
    assert long == []


def status_writes(source: str) -> list[int]:
    """Lines that write a `status`: `x.status = …` (also in tuple targets and `+=`), `.values(status=…)`
    (SQL UPDATE) and `Document(…, status=…)`. `self.status` is an object's own field (an HTTP status of
    an error), never a document's."""

    def targets(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.Tuple | ast.List):
            return [t for elt in node.elts for t in targets(elt)]
        return [node]

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            tgts = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(
                isinstance(t, ast.Attribute)
                and t.attr == "status"
                and not (isinstance(t.value, ast.Name) and t.value.id == "self")
                for tg in tgts
                for t in targets(tg)
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("values", "Document") and any(k.arg == "status" for k in node.keywords):
                lines.append(node.lineno)
    return sorted(lines)


def test_only_the_lifecycle_module_writes_a_documents_status() -> None:
    writers = [
        f"{p.relative_to(REPO)}:{line}"
        for p in _product_files()
        if p != LIFECYCLE
        for line in status_writes(p.read_text())
    ]
    assert writers == []
    assert status_writes(LIFECYCLE.read_text()), "the lifecycle module is where status is written"


def test_the_status_write_finder_sees_each_form() -> None:
    planted = (
        "doc.status = 'ready'\n"
        "row.status, row.error = 'failed', 'x'\n"
        "s.execute(update(Document).values(status='queued'))\n"
        "Document(id='1', status='queued')\n"
        "print(doc.status)\n"
        "self.status = 404\n"
    )
    assert status_writes(planted) == [1, 2, 3, 4]
