from pathlib import Path

import pytest

from enclave.documents.formats import sniff
from enclave.errors import UnsupportedType
from tests.support import DOCS


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("fake-memo.pdf", "application/pdf"),
        ("fake.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (
            "fake-power-point.pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        ("stanley-cups.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("simple.odt", "application/vnd.oasis.opendocument.text"),
        ("winter-sports.epub", "application/epub+zip"),
        ("fake-doc.rtf", "application/rtf"),
        ("fake-email.msg", "application/vnd.ms-outlook"),
        ("password_protected.xlsx", "application/x-encrypted-office"),
        ("fake-email.eml", "message/rfc822"),
        ("example-10k-1p.html", "text/html"),
        ("fake-text-utf-16.txt", "text/plain"),
        ("example.jpg", "image/jpeg"),
        ("DA-1p.heic", "image/heic"),
    ],
)
def test_sniffs_real_documents(name: str, media_type: str) -> None:
    assert sniff(DOCS / name, name).media_type == media_type


def test_content_wins_over_a_lying_extension(tmp_path: Path) -> None:
    pdf_as_txt = tmp_path / "x.txt"
    pdf_as_txt.write_bytes((DOCS / "fake-memo.pdf").read_bytes())
    assert sniff(pdf_as_txt, "notes.txt").media_type == "application/pdf"
    exe = tmp_path / "report.pdf"
    exe.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    with pytest.raises(UnsupportedType, match="cannot read this kind of file"):
        sniff(exe, "report.pdf")


def test_archives_are_refused_with_advice() -> None:
    with pytest.raises(UnsupportedType, match="unpack the archive"):
        sniff(DOCS / "simple.zip", "simple.zip")
