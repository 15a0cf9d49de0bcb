import contextlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from enclave.documents.archives import ArchiveLimits
from enclave.documents.formats import sniff
from enclave.errors import EnclaveError, TooLarge, UnsupportedType
from tests.security.hostile import MAIN_PARTS, Member, bomb, lying, raw_zip, with_part
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


# --- sniffing reads a bounded number of bytes, and every failure is a 415 (or 413) with a reason ----------

ODT_TYPE = "application/vnd.oasis.opendocument.text"
PERMISSIVE = ArchiveLimits(max_uncompressed_mb=1 << 20, max_ratio=1e12, max_members=10**9)


def _peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    with contextlib.suppress(EnclaveError):
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / (1 << 20)


@pytest.mark.parametrize("fmt", ["odt", "epub"])
def test_a_mimetype_member_that_inflates_hugely_is_never_read_whole(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"bomb.{fmt}"
    path.write_bytes(with_part(fmt, bomb("mimetype", 256)))
    with pytest.raises(UnsupportedType, match="'mimetype' entry is 268,435,456 bytes long"):
        sniff(path, path.name, PERMISSIVE)
    assert _peak_mib(lambda: sniff(path, path.name, PERMISSIVE)) < 2
    with pytest.raises(UnsupportedType, match="Part 'mimetype' is compressed"):  # the default limits
        sniff(path, path.name)


def test_a_mimetype_member_that_lies_about_its_size_is_read_a_few_bytes_at_most(tmp_path: Path) -> None:
    path = tmp_path / "liar.odt"
    path.write_bytes(with_part("odt", lying("mimetype", 256, declared=len(ODT_TYPE))))
    assert _peak_mib(lambda: sniff(path, path.name)) < 2


@pytest.mark.parametrize("fmt", sorted(MAIN_PARTS))
def test_a_zip_bomb_is_refused_at_upload(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"bomb.{fmt}"
    path.write_bytes(with_part(fmt, bomb(MAIN_PARTS[fmt][1], 8)))
    with pytest.raises(UnsupportedType, match="zip bomb"):
        sniff(path, path.name)
    path.write_bytes(with_part(fmt, bomb(MAIN_PARTS[fmt][1], 1024)))
    with pytest.raises(TooLarge, match=r"unpacks to 1,02\d MB, more than the 512 MB"):
        sniff(path, path.name)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04" + b"\x00" * 200, "container is damaged"),
        ((DOCS / "fake.docx").read_bytes()[:20_000], "container is damaged"),
        (raw_zip([Member("mimetype", ODT_TYPE.encode(), 0, len(ODT_TYPE), 0, flags=1)]), "is encrypted"),
        (raw_zip([Member("mimetype", b"\x00" * 20, 0, len(ODT_TYPE), method=14)]), "compression method 14"),
        (raw_zip([Member("mimetype", b"\xff" * 20, 0, len(ODT_TYPE))]), "could not be examined"),
    ],
)
def test_every_failure_while_sniffing_is_a_415_with_a_reason(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "odd.odt"
    path.write_bytes(data)
    with pytest.raises(UnsupportedType, match=words) as refused:
        sniff(path, path.name)
    assert "Traceback" not in str(refused.value)


def test_an_unexpected_error_inside_a_sniffer_is_a_415(monkeypatch: pytest.MonkeyPatch) -> None:
    import olefile

    def broken(*_: object, **__: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(olefile, "OleFileIO", broken)
    with pytest.raises(UnsupportedType, match=r"could not be examined \(RecursionError"):
        sniff(DOCS / "fake.doc", "fake.doc")
