"""Documents made at test time for OCR: text drawn with PIL, saved as pictures (PNG, or PDF pages with no
text layer), and a one-page PDF with a real text layer."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def page_image(lines: list[str], size: tuple[int, int] = (1275, 1650)) -> Image.Image:
    """A letter page at 150 dpi with large clear type, as a flatbed scanner would give it."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 34) if Path(FONT).exists() else ImageFont.load_default(size=34)
    for i, line in enumerate(lines):
        draw.text((90, 120 + i * 60), line, fill="black", font=font)
    return img


def scanned_pdf(pages: list[list[str]]) -> bytes:
    out = io.BytesIO()
    first, *rest = [page_image(p) for p in pages]
    first.save(out, "PDF", resolution=150, save_all=True, append_images=rest)
    return out.getvalue()


def text_pdf_page(lines: list[str]) -> bytes:
    """A one-page PDF with a real text layer (Helvetica, one line each), written by hand."""
    shown = " T* ".join(f"({line}) Tj" for line in lines)
    stream = f"BT /F1 12 Tf 16 TL 72 720 Td {shown} ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    body += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def png(lines: list[str]) -> bytes:
    out = io.BytesIO()
    page_image(lines, size=(1600, 400)).save(out, "PNG")
    return out.getvalue()
