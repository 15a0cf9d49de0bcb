"""OCR with Tesseract, driven by unstructured's OCR-only strategy: images, and the pages of a PDF that have
no text layer (the other pages keep the fast text path). Runs in the parser child (ingest/parser_pool.py),
so its memory and time limits apply; a page budget keeps one long scan from holding a worker for hours.

A document that needs more OCR pages than the budget fails with a sentence naming ENCLAVE_OCR_MAX_PAGES
(rather than being indexed in part without anyone noticing).
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.guards import DocumentError

if TYPE_CHECKING:
    from enclave.settings import Settings

OCR_DPI = 300  # Tesseract reads best at 300 dpi or more
MAX_PAGE_PIXELS = 40_000_000  # a huge page is rendered at a lower resolution instead of exhausting memory
MIN_TEXT_CHARS = 16  # a PDF page with less text than this and a picture on it is a scan (a stamped number)


@dataclass(frozen=True)
class OcrOptions:
    languages: tuple[str, ...] = ("eng",)
    max_pages: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> OcrOptions:
        langs = tuple(x.strip() for x in settings.ocr_languages.replace(",", "+").split("+") if x.strip())
        return cls(langs or ("eng",), settings.ocr_max_pages)

    @property
    def label(self) -> str:
        return "+".join(self.languages)


def over_budget(needed: int, opts: OcrOptions, what: str) -> DocumentError:
    return DocumentError(
        f"This {what} needs OCR on at least {needed:,} pages; this Enclave reads at most "
        f"{opts.max_pages:,} pages of a document with OCR (ENCLAVE_OCR_MAX_PAGES). Split it into smaller "
        "files, or raise the setting."
    )


def nothing_found(what: str, opts: OcrOptions) -> DocumentError:
    return DocumentError(
        f"OCR found no text in {what} (Tesseract, languages {opts.label}, ENCLAVE_OCR_LANGUAGES). If it "
        "holds text, upload a sharper scan (300 dpi or more), or set the languages it is written in."
    )


@functools.cache
def _installed_languages() -> frozenset[str]:
    import unstructured_pytesseract

    return frozenset(unstructured_pytesseract.get_languages(config=""))


def check_available(opts: OcrOptions) -> None:
    """Tesseract and every configured language are installed, or a sentence saying what to install."""
    if not shutil.which("tesseract"):
        raise DocumentError(
            "Reading text from images and scanned pages needs OCR (Tesseract), which is not installed on "
            "this Enclave. Ask the operator to install tesseract-ocr, or upload a document with selectable "
            "text."
        )
    missing = [lang for lang in opts.languages if lang not in _installed_languages()]
    if missing:
        packages = " ".join(f"tesseract-ocr-{m.replace('_', '-').lower()}" for m in missing)
        raise DocumentError(
            f"OCR language {', '.join(missing)} (ENCLAVE_OCR_LANGUAGES={opts.label}) is not installed on "
            f"this Enclave. Ask the operator to install {packages}, or change the setting."
        )


def _partition_image(path: Path, page: int, opts: OcrOptions) -> list[Any]:
    from unstructured.partition.image import partition_image

    return partition_image(
        filename=str(path), strategy="ocr_only", languages=list(opts.languages), starting_page_number=page
    )


# --- images -----------------------------------------------------------------------------------------


def image_frames(path: Path) -> int:
    """Pages in an image file (a multi-page TIFF has several)."""
    from pi_heif import register_heif_opener
    from PIL import Image

    register_heif_opener()
    with Image.open(path) as img:
        return max(1, int(getattr(img, "n_frames", 1)))


def ocr_image(path: Path, opts: OcrOptions) -> Iterator[tuple[int, list[Any]]]:
    """(page, elements) for each frame of the image, page numbers from 1."""
    frames = image_frames(path)
    if frames > opts.max_pages:
        raise over_budget(frames, opts, "image")
    check_available(opts)
    if frames == 1:
        yield 1, _partition_image(path, 1, opts)
        return
    from PIL import Image

    with Image.open(path) as img, tempfile.TemporaryDirectory() as tmp:
        for i in range(frames):
            img.seek(i)
            frame = Path(tmp) / f"frame-{i + 1}.png"
            img.convert("RGB").save(frame)
            yield i + 1, _partition_image(frame, i + 1, opts)
            frame.unlink()


# --- scanned PDF pages ------------------------------------------------------------------------------


def _resources_have(obj: Any, key: str, depth: int = 0) -> bool:
    """Whether a page (or form XObject) uses `key` ("/Font") or an image, forms followed 3 levels deep."""
    res = obj.get("/Resources")
    if res is None or depth > 3:
        return False
    if key == "/Font" and res.get("/Font"):
        return True
    for xobj in (res.get("/XObject") or {}).values():
        subtype = xobj.get("/Subtype")
        if key == "/Image" and subtype == "/Image":
            return True
        if subtype == "/Form" and _resources_have(xobj, key, depth + 1):
            return True
    return False


def has_image(page: Any) -> bool:
    return _resources_have(page.obj, "/Image")


def scanned_pages(path: Path) -> int:
    """Pages that surely need OCR: a picture and no font to draw text with. Counted before any page is
    read, so that a long scan fails at once instead of after the budget's worth of OCR."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            return sum(has_image(p) and not _resources_have(p.obj, "/Font") for p in pdf.pages)
    except Exception:  # odd structures: the per-page decision while parsing still applies the budget
        return 0


def pages_with_images(path: Path, pages: list[int]) -> list[int]:
    """Of `pages` (numbered from 1), those with a picture: a page with neither text nor picture is blank."""
    import pikepdf

    with pikepdf.open(path) as pdf:
        return [p for p in pages if has_image(pdf.pages[p - 1])]


def _dpi(page: Any) -> int:
    try:
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        inches = abs(x1 - x0) * abs(y1 - y0) / 72 / 72
    except (TypeError, ValueError, AttributeError):
        return OCR_DPI
    if inches <= 0:
        return OCR_DPI
    return max(36, min(OCR_DPI, int(math.sqrt(MAX_PAGE_PIXELS / inches))))


def ocr_pdf_pages(path: Path, pages: list[int], opts: OcrOptions) -> Iterator[tuple[int, list[Any]]]:
    """(page, elements) for each of `pages` (numbered from 1): rendered with poppler, read by Tesseract."""
    import pikepdf
    from pdf2image import convert_from_path

    check_available(opts)
    with pikepdf.open(path) as pdf:
        dpis = {p: _dpi(pdf.pages[p - 1]) for p in pages}
    with tempfile.TemporaryDirectory() as tmp:
        for p in pages:
            (image,) = convert_from_path(
                str(path),
                dpi=dpis[p],
                first_page=p,
                last_page=p,
                fmt="png",
                output_folder=tmp,
                paths_only=True,
                thread_count=1,
            )
            try:
                yield p, _partition_image(Path(image), p, opts)
            finally:
                os.unlink(image)
