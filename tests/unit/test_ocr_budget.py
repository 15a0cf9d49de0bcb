"""The OCR page budget (ENCLAVE_OCR_MAX_PAGES) and OCR's own failures, through `open_document` (in
process: the parser child runs this same function)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from ingest.ocr import OcrOptions
from ingest.parse import DocumentError, open_document
from tests.scans import scanned_pdf

pytestmark = pytest.mark.skipif(not shutil.which("tesseract"), reason="Tesseract is not installed")
BUDGET = r"at least {n} pages.*at most 3 pages.*ENCLAVE_OCR_MAX_PAGES"


def _with_fonts(path: Path) -> None:
    """Gives every page a font resource, so only reading the text layer can tell that the page is a scan."""
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        font = pdf.make_indirect(pikepdf.Dictionary(Type="/Font", Subtype="/Type1", BaseFont="/Helvetica"))
        for page in pdf.pages:
            page.obj.Resources.Font = pikepdf.Dictionary(F1=font)
        pdf.save(path)


def test_a_scan_over_the_budget_fails_up_front_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "long-scan.pdf"
    path.write_bytes(scanned_pdf([[f"Page {i} of a long scan."] for i in range(1, 5)]))
    with pytest.raises(DocumentError, match=BUDGET.format(n=4)):
        open_document(path, "application/pdf", 2000, ocr=OcrOptions(("eng",), max_pages=3))
    pages, windows = open_document(path, "application/pdf", 2000, ocr=OcrOptions(("eng",), max_pages=4))
    blocks = [b for w in windows for b in w.blocks]
    assert pages == 4 and {b.page for b in blocks} == {1, 2, 3, 4}
    assert "Page 3 of a long scan" in " ".join(b.text for b in blocks if b.page == 3)


def test_scans_found_only_while_reading_count_against_the_budget_too(tmp_path: Path) -> None:
    path = tmp_path / "scan-with-fonts.pdf"
    path.write_bytes(scanned_pdf([[f"Page {i}."] for i in range(1, 5)]))
    _with_fonts(path)
    _, windows = open_document(path, "application/pdf", 2000, ocr=OcrOptions(("eng",), max_pages=3))
    with pytest.raises(DocumentError, match=BUDGET.format(n=4)):
        list(windows)


def test_a_blank_image_or_a_missing_language_fails_with_a_sentence_naming_ocr(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), "white").save(blank)
    _, windows = open_document(blank, "image/png", 2000, ocr=OcrOptions())
    with pytest.raises(DocumentError, match="OCR found no text in this image"):
        list(windows)
    _, windows = open_document(blank, "image/png", 2000, ocr=OcrOptions(("eng", "xyz")))
    with pytest.raises(DocumentError, match=r"OCR language xyz .*ENCLAVE_OCR_LANGUAGES.*tesseract-ocr-xyz"):
        list(windows)
