"""OCR through the API: scanned PDFs, mixed PDFs and images are read by Tesseract in the parser child, keep
their page numbers, and are found by search. The scans are made here: text drawn with PIL, pages saved as
pictures in a PDF without any text layer."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.scans import png, scanned_pdf, text_pdf_page
from tests.support import DOCS, Api

pytestmark = pytest.mark.skipif(not shutil.which("tesseract"), reason="Tesseract is not installed")

SCAN_SENTENCE = "The quarry ledger records eleven granite blocks shipped to Aberdeen"
# Enough text on the first page that its chunk ends there (tiny pages are packed together).
COVER = [f"The clerks kept this ledger in the year {1890 + i} with great care." for i in range(14)]
IMAGE_SENTENCE = "Our lighthouse keeper painted the lantern room turquoise"
MIXED_SENTENCE = "The orchard survey counted ninety pear trees beside the river"


def _mixed_pdf(tmp_path: Path) -> bytes:
    """Page 1 has a text layer, page 2 is a scan."""
    import pikepdf

    (tmp_path / "text.pdf").write_bytes(text_pdf_page(["Quarterly orchard report, typed page one.", *COVER]))
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf([["Orchard notes, scanned.", MIXED_SENTENCE + "."]]))
    with pikepdf.open(tmp_path / "text.pdf") as a, pikepdf.open(tmp_path / "scan.pdf") as b:
        a.pages.extend(b.pages)
        out = io.BytesIO()
        a.save(out)
    return out.getvalue()


def _upload(api: Api, name: str, data: bytes) -> str:
    r = api.post("/v1/documents", files=[("files", (name, data))])
    assert r.status_code == 202, r.text
    return r.json()["documents"][0]["id"]


def _hit_with(api: Api, sentence: str, words: str) -> dict:
    hits = api.search(sentence, top_k=5)
    found = [h for h in hits if words in h["text"].lower()]
    assert found, [h["text"][:120] for h in hits]
    return found[0]


def test_a_scanned_pdf_an_image_and_a_mixed_pdf_are_read_by_ocr_with_their_pages(
    tenant: Api, tmp_path: Path
) -> None:
    scan = scanned_pdf(
        [
            ["Aberdeen Stone Company", "Page one: the cover of the ledger.", *COVER],
            ["Shipping records", SCAN_SENTENCE + "."],
            ["Page three: signatures of the clerks."],
        ]
    )
    ids = {
        _upload(tenant, "ledger-scan.pdf", scan): "scan",
        _upload(tenant, "lighthouse.png", png([IMAGE_SENTENCE + "."])): "image",
        _upload(tenant, "orchard-mixed.pdf", _mixed_pdf(tmp_path)): "mixed",
    }
    done = {ids[i]: d for i, d in tenant.wait_done(list(ids), timeout=600).items()}
    assert {k: d["status"] for k, d in done.items()} == dict.fromkeys(("scan", "image", "mixed"), "ready"), (
        done
    )
    assert done["scan"]["pages"] == 3 and done["mixed"]["pages"] == 2

    scan_hit = _hit_with(tenant, SCAN_SENTENCE, "eleven granite blocks")
    assert (scan_hit["filename"], scan_hit["page"]) == ("ledger-scan.pdf", 2)
    image_hit = _hit_with(tenant, IMAGE_SENTENCE, "lantern room turquoise")
    assert (image_hit["filename"], image_hit["page"]) == ("lighthouse.png", 1)
    mixed_hit = _hit_with(tenant, MIXED_SENTENCE, "ninety pear trees")
    assert (mixed_hit["filename"], mixed_hit["page"]) == ("orchard-mixed.pdf", 2)
    typed = _hit_with(tenant, "Quarterly orchard report typed page one", "typed page one")
    assert (typed["filename"], typed["page"]) == ("orchard-mixed.pdf", 1)


SHARED_IMAGES = [
    "english-and-korean.png",
    "example.jpg",
    "bmp_24.bmp",
    "DA-1p.heic",
    "chi_sim_image.jpeg",
    "layout-parser-paper-with-table.jpg",
    "table-multi-row-column-cells.png",
]


def test_the_shared_images_end_ready_or_fail_naming_ocr(tenant: Api) -> None:
    docs = tenant.upload(*(DOCS / n for n in SHARED_IMAGES))
    done = tenant.wait_done([d["id"] for d in docs], timeout=900)
    by_name = {d["filename"]: d for d in done.values()}
    for name, d in by_name.items():
        assert d["status"] == "ready" or "OCR" in (d["error"] or ""), (name, d["error"])
    assert by_name["layout-parser-paper-with-table.jpg"]["status"] == "ready"
    hits = tenant.search("LayoutParser unified toolkit for deep learning based document image analysis")
    assert any(h["filename"] == "layout-parser-paper-with-table.jpg" for h in hits)
