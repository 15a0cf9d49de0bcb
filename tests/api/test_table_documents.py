"""A document with a table, through the API: the chunk that holds a row also holds the table's header,
so a hit on "Total net sales" shows which quarter its number belongs to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Api

HEADER = "| Line item | Quarter | Amount (USD millions) |"
ROWS = [(f"Cost centre {i:03d}", f"Q{i % 4 + 1} 2023", f"{1000 + i:,}") for i in range(120)]
ROWS.append(("Total net sales", "Q3 2023", "82,959"))


def _docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Condensed statement of operations", level=1)
    d.add_paragraph("The table below lists each line item by quarter.")
    table = d.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, HEADER.strip("| ").split(" | "), strict=True):
        cell.text = text
    for values in ROWS:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            cell.text = text
    d.save(path)


def _xlsx(path: Path) -> None:
    """The table on the second sheet: its chunks carry page 2."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Summary"
    wb.active.append(["Figures are unaudited and in millions of US dollars."])
    sheet = wb.create_sheet("Operations")
    sheet.append(HEADER.strip("| ").split(" | "))
    for values in ROWS:
        sheet.append(list(values))
    wb.save(path)


# Word files carry no page numbers (unstructured reads none from .docx); a workbook's page is its sheet.
@pytest.mark.parametrize(
    ("name", "build", "page"), [("operations.docx", _docx, None), ("operations.xlsx", _xlsx, 2)]
)
def test_every_chunk_of_a_large_table_keeps_the_header_with_whole_rows_and_its_page(
    tenant: Api, tmp_path: Path, name: str, build: Callable[[Path], None], page: int | None
) -> None:
    path = tmp_path / name
    build(path)
    doc = tenant.upload(path)[0]
    done = tenant.wait_done([doc["id"]])[doc["id"]]
    assert done["status"] == "ready" and done["chunks"] > 3, done

    hit = next(h for h in tenant.search("Total net sales 82,959", top_k=5) if "82,959" in h["text"])
    assert HEADER in hit["text"] and "| Total net sales | Q3 2023 | 82,959 |" in hit["text"]
    assert hit["page"] == page
    for query in ("Cost centre 007 Q4 2023", "Cost centre 064", "Cost centre 118 amount"):
        for h in tenant.search(query, top_k=10):
            if "Cost centre" in h["text"]:
                assert HEADER in h["text"], h["text"][:200]
                rows = [ln for ln in h["text"].splitlines() if ln.startswith("| Cost centre")]
                assert rows and all(ln.count("|") == 4 for ln in rows), h["text"]  # whole rows only
                assert h["page"] == page
