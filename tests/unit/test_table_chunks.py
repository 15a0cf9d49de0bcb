"""Tables become chunks that keep their header row with every row group and never cut a row."""

from __future__ import annotations

from ingest.chunk import Block, Chunker
from ingest.tables import Table, parse_html_table

QUARTERS = (  # as in a 10-Q: a heading over two quarters, each over a "$" cell and a number cell
    "<table><thead><tr><th></th><th colspan='4'>Three Months Ended</th></tr>"
    "<tr><th>Segment</th><th colspan='2'>July 1, 2023</th><th colspan='2'>June 25, 2022</th></tr></thead>"
    "<tbody><tr><td>iPhone</td><td>$</td><td>39,669</td><td>$</td><td>40,665</td><td> </td></tr></tbody>"
    "</table>"
)


def _table_block(rows: int, page: int = 3) -> Block:
    html = "<table><tr><td>Region</td><td>Quarter</td><td>Net sales</td></tr>" + "".join(
        f"<tr><td>Region {i}</td><td>Q{i % 4 + 1} 2023</td><td>{80_000 + i:,}</td></tr>" for i in range(rows)
    )
    table = parse_html_table(html + "</table>")
    assert table is not None
    return Block(table.markdown(), page, table=table)


def test_stacked_header_rows_become_one_header_and_spanned_cells_one_column() -> None:
    assert parse_html_table(QUARTERS) == Table(
        ("Segment", "Three Months Ended July 1, 2023", "Three Months Ended June 25, 2022"),
        (("iPhone", "$ 39,669", "$ 40,665"),),
    )


def test_without_header_cells_the_first_row_is_the_header() -> None:
    table = parse_html_table(
        "<table><tr><td>Name</td><td>Cups</td></tr><tr><td>Ottawa | East</td></tr></table>"
    )
    assert table is not None
    assert table.header == ("Name", "Cups") and table.rows == (("Ottawa | East", ""),)
    assert table.markdown() == "| Name | Cups |\n|---|---|\n| Ottawa \\| East |  |"
    assert parse_html_table("<table><tr><td> </td></tr></table>") is None


def test_a_small_table_is_one_chunk_with_its_header_and_page() -> None:
    chunks = list(Chunker(chunk_chars=1500, overlap=100).chunks([_table_block(5, page=4)]))
    assert len(chunks) == 1 and chunks[0].page == 4
    assert chunks[0].text.startswith("| Region | Quarter | Net sales |\n|---|---|---|\n| Region 0 |")


def test_a_large_table_splits_into_chunks_that_each_hold_the_header_and_whole_rows() -> None:
    block = _table_block(200, page=7)
    assert len(block.text) > 5 * 600
    chunks = list(
        Chunker(chunk_chars=600, overlap=100, min_chars=200).chunks(
            [Block("Net sales by region", 7, is_title=True), block, Block("After the table.", 8)]
        )
    )
    tables = [c for c in chunks if "Region" in c.text]
    assert len(tables) > 5
    rows_seen: list[str] = []
    for c in tables:
        lines = c.text.splitlines()
        assert lines[:2] == ["| Region | Quarter | Net sales |", "|---|---|---|"], c.text
        assert len(c.text) <= 600 and c.page == 7 and c.section == "Net sales by region"
        for line in lines[2:]:
            assert line.startswith("| Region ") and line.count("|") == 4, line  # a whole row
            rows_seen.append(line)
    assert rows_seen == [f"| Region {i} | Q{i % 4 + 1} 2023 | {80_000 + i:,} |" for i in range(200)]
    assert chunks[-1].text == "After the table." and chunks[-1].page == 8


def test_a_short_lead_in_joins_the_first_part_and_a_row_is_never_split_even_when_long() -> None:
    long_row = "<tr><td>Notes</td><td>" + "long note " * 90 + "</td><td>1</td></tr>"
    html = "<table><tr><th>Item</th><th>Detail</th><th>Count</th></tr>" + long_row * 3 + "</table>"
    table = parse_html_table(html)
    assert table is not None
    blocks = [Block("Table 3 lists the notes.", 2), Block(table.markdown(), 2, table=table)]
    chunks = list(Chunker(chunk_chars=600, overlap=50, min_chars=100).chunks(blocks))
    assert chunks[0].text.startswith("Table 3 lists the notes.\n| Item | Detail | Count |")
    assert len(chunks) == 3
    for c in chunks:
        assert "| Item | Detail | Count |" in c.text and c.text.rstrip().endswith("| 1 |")


def test_a_small_table_packed_with_text_is_never_handed_to_the_splitter() -> None:
    table = _table_block(3, page=1)
    long = "The quarter went well. " * 120
    chunks = list(Chunker(chunk_chars=600, overlap=50, min_chars=500).chunks([table, Block(long, 1)]))
    assert chunks[0].text == table.text  # kept whole, on its own, not split together with the paragraph


def test_a_table_too_wide_for_its_header_becomes_header_value_pairs_in_a_few_chunks() -> None:
    """Hundreds of columns (a correlation matrix exported to CSV): a header row on every part would be
    larger than a chunk; each row becomes `header: value` pairs, cut between cells, each part keyed by the
    row's first cell — a handful of chunks, not thousands."""
    from ingest.tables import Table

    header = ("Marker", *(f"Frequency of marker {i} unstimulated" for i in range(300)))
    rows = tuple((f"row{r}", *(f"0.{r}{i:03d}" for i in range(300))) for r in range(10))
    pieces = Table(header, rows).pieces(1000)
    assert len(pieces) < 200, len(pieces)
    assert all(len(p) <= 1000 for p in pieces)
    for p in pieces:
        assert p.startswith("Marker: row"), p[:40]
    assert any("Frequency of marker 299 unstimulated: 0.9299" in p for p in pieces)
    joined = "\n".join(pieces)
    assert all(f"Frequency of marker {i} unstimulated: 0.3{i:03d}" in joined for i in range(300))


def test_a_long_cell_of_a_wide_table_is_cut_into_parts_and_nothing_is_dropped() -> None:
    from ingest.tables import Table

    header = ("Marker", *(f"Frequency of marker {i} unstimulated" for i in range(300)))
    notes = " ".join(f"note{i}" for i in range(600))  # one cell of about 4,500 characters
    row = ("row0", notes, *(f"0.{i:03d}" for i in range(299)))
    pieces = Table(header, (row,)).pieces(1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "note599" in "".join(pieces)
