"""Files that are hostile or merely unlucky for a parser: too many pages, one enormous line, absurd
nesting, binary junk under a document's name, NUL bytes in text, a PDF that is also a zip."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.security.ends import End, assert_still_serving, failed, ready, refused, upload_and_settle
from tests.security.hostile import MAIN_PARTS, blank_pdf, bomb, raw_zip, real_members, with_part
from tests.support import DOCS, Api

MB = 1 << 20
JUNK = random.Random(20240611).randbytes(64 * 1024)


def _pages(tmp: Path) -> bytes:
    return blank_pdf(tmp / "blank.pdf", 3000).read_bytes()


def _one_line_html_image(_: Path) -> bytes:
    # A saved web page: a paragraph and an 8 MB inline image, all on one line.
    image = "iVBORw0KGgo" + "A" * (8 * MB)
    return (
        "<!DOCTYPE html><html><head><title>Survey</title></head><body><p>The kestrels of Glen Affric "
        f'nest on the north cliffs.</p><img src="data:image/png;base64,{image}"></body></html>'
    ).encode()


def _one_line_html_tags(_: Path) -> bytes:
    # 8 MB of tags that never close, on one line, then the text.
    return b"<html><body>" + b"<b><i>" * (8 * MB // 6) + b"The kestrels of Glen Affric</body></html>"


def _deep_json(_: Path) -> bytes:
    return b'{"a":' * 200_000 + b"1" + b"}" * 200_000


def _text_then_nuls(_: Path) -> bytes:
    # Past the first 8 KB sniffing reads: a log file padded with NULs after a crash, say.
    line = b"The ferry to Inishmore leaves at nine from the west pier.\n"
    return line * 200 + b"\x00" * 500 + line * 10 + b"\x00\x00 tail\n"


def _text_then_binary(_: Path) -> bytes:
    return b"# Notes\n\nReadable at first.\n" * 400 + JUNK * 4


def _polyglot(_: Path) -> bytes:
    """A real PDF with a docx appended: zip readers find the archive at the end, PDF readers the PDF."""
    return (DOCS / "fake-memo.pdf").read_bytes() + raw_zip(real_members("fake.docx"))


def _polyglot_bomb(_: Path) -> bytes:
    return (DOCS / "fake-memo.pdf").read_bytes() + with_part("docx", bomb(MAIN_PARTS["docx"][1], 1024))


def _const(data: bytes) -> Callable[[Path], bytes]:
    return lambda _: data


MEMO = ready("how many bottles of water and blankets were delivered")
CASES: list[tuple[str, Callable[[Path], bytes], End]] = [
    ("thousands-of-pages.pdf", _pages, failed("3,000 pages", "at most 2,000", "ENCLAVE_MAX_PAGES")),
    ("one-line-image.html", _one_line_html_image, ready("kestrels of Glen Affric nest")),
    # the parser gives up on nesting that deep: nothing is left to index, and the document says so
    ("one-line-tags.html", _one_line_html_tags, failed("No text was found")),
    ("nested.json", _deep_json, failed("nested more than 100 levels", "ENCLAVE_JSON_MAX_DEPTH")),
    ("random.pdf", _const(JUNK), refused("cannot read this kind of file", statuses=(415,))),
    ("random.docx", _const(JUNK), refused("cannot read this kind of file", statuses=(415,))),
    ("pdf-header-then-junk.pdf", _const(b"%PDF-1.7\n" + JUNK), failed("PDF is damaged")),
    ("zip-header-then-junk.docx", _const(b"PK\x03\x04" + JUNK), refused("damaged", statuses=(415,))),
    ("nul-first.txt", _const(b"\x00\x00\x00hello\n" * 100), refused("cannot read", statuses=(415,))),
    ("nul-first.md", _const(b"# Title\n\x00\x00 body\n" * 100), refused("cannot read", statuses=(415,))),
    ("nul-later.txt", _text_then_nuls, ready("ferry to Inishmore leaves at nine")),
    ("nul-later.md", _text_then_nuls, ready("ferry to Inishmore leaves at nine")),
    ("binary-later.txt", _text_then_binary, failed("control characters", "binary data")),
    ("polyglot.pdf", _polyglot, MEMO),
    ("polyglot-bomb.pdf", _polyglot_bomb, MEMO),
]


@pytest.mark.parametrize(("filename", "build", "end"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_file_ends_with_a_reason_and_the_server_stays_up(
    tenant: Api, tmp_path: Path, filename: str, build: Callable[[Path], bytes], end: End
) -> None:
    doc = upload_and_settle(tenant, filename, build(tmp_path), end)
    if end.kind == "ready":
        hits = tenant.search(" ".join(end.words), top_k=3)
        assert all("\x00" not in h["text"] for h in hits)
        assert doc["chunks"] > 0
    assert_still_serving(tenant)
