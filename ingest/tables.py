"""Tables kept whole: the rows of a parsed table (unstructured's `text_as_html`), rendered as Markdown in
row groups that each repeat the header row and never cut a row in two.

A chunk holding "Total net sales | 82,959" then also holds "Three Months Ended July 1, 2023": the
numbers keep their row and column headers in search and in the snippet a citation shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
OVERSIZED_ROW_FACTOR = 4  # a single row longer than this many chunks is cut (see Table.pieces)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def header_lines(self) -> str:
        return f"{_line(self.header)}\n|{'---|' * len(self.header)}"

    def markdown(self) -> str:
        return "\n".join([self.header_lines(), *(_line(r) for r in self.rows)])

    def pieces(self, size: int) -> list[str]:
        """Markdown tables of at most `size` characters, each with the header row and whole rows. A row that
        does not fit with the header goes alone; only a row over OVERSIZED_ROW_FACTOR times `size` (a cell
        holding pages of text) is cut, each part under the header."""
        head = self.header_lines()
        if len(head) > size // 2:
            return self.pairs(size)
        out: list[str] = []
        group: list[str] = []
        used = len(head)
        for row in self.rows:
            line = _line(row)
            if group and used + 1 + len(line) > size:
                out.append("\n".join([head, *group]))
                group, used = [], len(head)
            if len(head) + 1 + len(line) > OVERSIZED_ROW_FACTOR * size:
                step = max(1, size - len(head) - 1)
                out.extend(f"{head}\n{line[i : i + step]}" for i in range(0, len(line), step))
                continue
            group.append(line)
            used += 1 + len(line)
        if group or not out:
            out.append("\n".join([head, *group]))
        return out

    def pairs(self, size: int) -> list[str]:
        """A table too wide for its header row to lead every part (hundreds of columns): each row as
        `header: value` pairs, cut only between cells, every part of a row led by the row's first cell."""
        out: list[str] = []
        for row in self.rows:
            key = f"{self.header[0]}: {row[0]}" if self.header and row else ""
            cells = [f"{h}: {v}" for h, v in zip(self.header[1:], row[1:], strict=False) if v]
            part: list[str] = [key] if key else []
            used = len(key)
            step = max(1, size - len(key) - 2)
            # A cell holding pages of text is cut into parts of a chunk each; none of it is dropped.
            for cell in (c[i : i + step] for c in cells for i in range(0, len(c), step)):
                if part and part != [key] and used + 2 + len(cell) > size:
                    out.append("; ".join(part))
                    part, used = ([key] if key else []), len(key)
                part.append(cell)
                used += 2 + len(cell)
            if part:
                out.append("; ".join(part))
        return out or [self.markdown()[:size]]


def _line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


class _Rows(HTMLParser):
    """Rows of cells (colspan repeated), and whether each row is a header row (<thead> or all <th>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[list[str], bool]] = []
        self._cell: list[str] | None = None
        self._span = 1
        self._all_th = True
        self._thead = False
        self._depth = 0  # nested tables are read as text of the outer cell

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
        if self._depth > 1:
            return
        if tag == "thead":
            self._thead = True
        elif tag == "tr":
            self.rows.append(([], self._thead))
            self._all_th = True
        elif tag in ("td", "th") and self.rows:
            self._close_cell()
            self._cell = []
            self._all_th = self._all_th and tag == "th"
            span = dict(attrs).get("colspan") or "1"
            self._span = min(int(span), 50) if span.isdigit() and int(span) > 0 else 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        if self._depth > 1 or (tag == "table" and self._depth > 0):
            return
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_cell()
            if self.rows:
                cells, head = self.rows[-1]
                self.rows[-1] = (cells, head or (self._all_th and bool(cells)))
        elif tag == "thead":
            self._thead = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None and self.rows:
            text = _SPACE.sub(" ", "".join(self._cell)).strip()
            self.rows[-1][0].extend([text] * self._span)
        self._cell = None


def parse_html_table(html: str) -> Table | None:
    """The table in `html`, or None when it has no cells. The leading header rows (or, without any, the
    first row) become one header row; columns empty in every row and rows with no text are dropped."""
    p = _Rows()
    p.feed(html)
    p.close()
    rows = [(cells, head) for cells, head in p.rows if any(cells)]
    if not rows:
        return None
    width = max(len(cells) for cells, _ in rows)
    grid = [cells + [""] * (width - len(cells)) for cells, _ in rows]
    keep = [j for j in range(width) if any(r[j] for r in grid)]
    grid = [[r[j] for j in keep] for r in grid]
    n_head = next((i for i, (_, head) in enumerate(rows) if not head), 1) or 1
    header = [_join_header([r[j] for r in grid[:n_head]]) for j in range(len(keep))]
    return _merge_spanned(header, grid[n_head:])


def _merge_spanned(header: list[str], body: list[list[str]]) -> Table:
    """Neighbouring columns under one header cell (a colspan over "$" and "82,959") become one column."""
    groups: list[list[int]] = []
    for j, h in enumerate(header):
        if groups and h and header[groups[-1][0]] == h:
            groups[-1].append(j)
        else:
            groups.append([j])
    rows = tuple(tuple(" ".join(r[j] for j in g if r[j]) for g in groups) for r in body)
    return Table(tuple(header[g[0]] for g in groups), rows)


def _join_header(parts: list[str]) -> str:
    """Stacked header cells of one column ("Three Months Ended" over "July 1, 2023") as one."""
    out: list[str] = []
    for p in parts:
        if p and (not out or out[-1] != p):
            out.append(p)
    return " ".join(out)
