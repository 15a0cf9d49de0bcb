"""Chunking by section: blocks of one page and one section are packed up to a size; long ones are split.

Each chunk keeps its page number and the title of the section it came from, so citations can point at a
page. Splitting of oversized blocks uses LangChain's recursive splitter, the field's standard.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter


@dataclass(frozen=True)
class Block:
    text: str
    page: int | None
    is_title: bool = False


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
    def __init__(self, chunk_chars: int, overlap: int) -> None:
        self.size = chunk_chars
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_chars, chunk_overlap=overlap, separators=["\n\n", "\n", ". ", " ", ""]
        )

    def chunks(self, blocks: Iterable[Block]) -> Iterator[Chunk]:
        section: str | None = None
        buf: list[str] = []
        buf_page: int | None = None
        buf_len = 0

        def flush() -> Iterator[Chunk]:
            nonlocal buf, buf_len
            if buf:
                yield Chunk("\n".join(buf), buf_page, section)
            buf, buf_len = [], 0

        for block in blocks:
            text = block.text.strip()
            if not text:
                continue
            if block.is_title:
                yield from flush()
                section = text[:300]
                buf_page = block.page
                buf, buf_len = [text], len(text)
                continue
            if len(text) > self.size:
                if buf != [section]:  # a lone section title rides along as context, not as a chunk
                    yield from flush()
                buf, buf_len = [], 0
                for piece in self.splitter.split_text(text):
                    yield Chunk(piece, block.page, section)
                continue
            if buf and (block.page != buf_page or buf_len + len(text) + 1 > self.size):
                yield from flush()
            if not buf:
                buf_page = block.page
            buf.append(text)
            buf_len += len(text) + 1
        yield from flush()
