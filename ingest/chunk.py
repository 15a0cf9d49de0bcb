"""Chunking by section: blocks of one page and one section are packed up to a size; long ones are split.

Each chunk keeps its page number and the title of the section it came from, so citations can point at a
page. Splitting of oversized blocks uses LangChain's recursive splitter, the field's standard; a table is
never given to it: a table too large for one chunk is cut between rows, each part with the header row
(ingest/tables.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.tables import Table


@dataclass(frozen=True)
class Block:
    text: str
    page: int | None
    is_title: bool = False
    table: Table | None = None  # its rows, when the block is a table (then `text` is its Markdown)


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int | None
    section: str | None

    def embedding_text(self, doc_title: str | None) -> str:
        """What the models see: the document and section titles give a short chunk its context."""
        heads = [h for h in (doc_title, self.section) if h]
        if len(heads) == 2 and heads[1].lower().startswith(heads[0].lower()):
            heads = heads[1:]
        head = " — ".join(heads)
        if head and not self.text.startswith(head):
            return f"{head}\n{self.text}"
        return self.text


class Chunker:
    """Packs blocks into chunks of up to `chunk_chars`.

    A section title or a new page closes the chunk being built, unless it is still shorter than
    `min_chars`: then the next section (or page) is packed into it, so a run of tiny sections (a PDF's
    headings, a table's rows) does not become a run of tiny chunks. A chunk keeps the page and the section
    title it starts in.
    """

    def __init__(self, chunk_chars: int, overlap: int, min_chars: int = 0) -> None:
        self.size = chunk_chars
        self.min_chars = min(min_chars, chunk_chars)
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_chars, chunk_overlap=overlap, separators=["\n\n", "\n", ". ", " ", ""]
        )

    def chunks(self, blocks: Iterable[Block]) -> Iterator[Chunk]:
        section: str | None = None  # the latest title
        buf: list[str] = []
        buf_page: int | None = None
        buf_section: str | None = None  # the title the chunk being built starts in
        buf_len = 0
        holds_table = False  # a table in the chunk being built: never handed to the splitter

        def flush() -> Iterator[Chunk]:
            nonlocal buf, buf_len, holds_table
            if buf:
                yield Chunk("\n".join(buf), buf_page, buf_section)
            buf, buf_len, holds_table = [], 0, False

        def start(page: int | None) -> None:
            nonlocal buf_page, buf_section
            buf_page, buf_section = page, section

        for block in blocks:
            text = block.text.strip()
            if not text:
                continue
            if block.is_title:
                if buf_len >= self.min_chars or buf_len + len(text) + 1 > self.size:
                    yield from flush()
                section = text[:300]
                if not buf:
                    start(block.page)
                buf.append(text)
                buf_len += len(text) + 1
                continue
            if block.table is not None and len(text) > self.size:
                if (intro := self._intro(buf, buf_len, section)) is None:
                    yield from flush()
                buf, buf_len, holds_table = [], 0, False
                yield from self._table_chunks(block, intro, section)
                continue
            if len(text) > self.size:
                if buf == [section]:  # a lone section title rides along as context, not as a chunk
                    buf, buf_len = [], 0
                elif (
                    buf and buf_len < self.min_chars and not holds_table
                ):  # a small start is split together with the block
                    text = " ".join([*buf, text])
                    buf, buf_len = [], 0
                else:
                    yield from flush()
                    start(block.page)
                for piece in self.splitter.split_text(text):
                    yield Chunk(piece, buf_page if buf_page is not None else block.page, buf_section)
                continue
            page_break = block.page != buf_page and buf_len >= self.min_chars
            if buf and (page_break or buf_len + len(text) + 1 > self.size):
                yield from flush()
            if not buf:
                start(block.page)
            buf.append(text)
            buf_len += len(text) + 1
            holds_table = holds_table or block.table is not None
        yield from flush()

    def _intro(self, buf: list[str], buf_len: int, section: str | None) -> str | None:
        """What is being built before a large table, to lead its first part: a lone section title rides
        along as context (""), a small start ("Table 3: net sales") leads it; None: flush it as a chunk."""
        if not buf or buf == [section]:
            return ""
        return "\n".join(buf) if buf_len < self.min_chars else None

    def _table_chunks(self, block: Block, intro: str | None, section: str | None) -> Iterator[Chunk]:
        assert block.table is not None
        lead = f"{intro}\n" if intro else ""
        for i, piece in enumerate(block.table.pieces(self.size - len(lead))):
            yield Chunk(f"{lead}{piece}" if i == 0 else piece, block.page, section)
