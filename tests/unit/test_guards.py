"""The guards before parsing (ingest/guards.py, enclave/documents/archives.py) on small synthetic files:
each hostile shape is refused with a sentence, in bounded memory, and every real test document passes."""

from __future__ import annotations

import contextlib
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from enclave.documents.archives import ArchiveLimits, ArchiveRefused, open_checked
from enclave.documents.formats import sniff
from enclave.errors import EnclaveError
from enclave.settings import Settings
from ingest.guards import PROLOG_CAP, GuardLimits, check_before_parsing
from ingest.parse import DocumentError, open_document
from tests.security.hostile import MAIN_PARTS, Member, bomb, entity_xml, lying, member, raw_zip, with_part
from tests.support import DOCS

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEDIA_TYPES = {
    "docx": DOCX,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "epub": "application/epub+zip",
}
LIMITS = GuardLimits()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    with contextlib.suppress(DocumentError, EnclaveError):
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / (1 << 20)


def test_the_limits_default_to_the_settings_defaults() -> None:
    assert GuardLimits.from_settings(Settings()) == GuardLimits()


def test_every_real_document_passes_with_margin_under_the_limits() -> None:
    """The defaults are far from what real documents need: the most compressed part of the test documents
    is tables-with-incomplete-rows.docx's word/webSettings.xml, 40 times; the deepest JSON 4 levels."""
    checked, worst_ratio = 0, 0.0
    for path in sorted(DOCS.iterdir()):
        try:
            fmt = sniff(path, path.name, LIMITS.archive)
        except EnclaveError:
            continue  # refused at upload for other reasons (simple.zip); covered in test_formats
        check_before_parsing(path, fmt.media_type, LIMITS)
        checked += 1
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                ratios = [i.file_size / max(1, i.compress_size) for i in z.infolist()]
            worst_ratio = max([worst_ratio, *ratios])
    assert checked > 90
    assert worst_ratio * 4 < LIMITS.archive.max_ratio


# --- archives: the central directory ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(MAIN_PARTS))
def test_a_highly_compressed_main_part_is_refused_from_the_directory(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path, f"bomb.{fmt}", with_part(fmt, bomb(MAIN_PARTS[fmt][1], 8)))
    with pytest.raises(DocumentError, match=r"compressed \d+ times .*zip bomb"):
        check_before_parsing(path, MEDIA_TYPES[fmt], LIMITS)
    with pytest.raises(ArchiveRefused) as refused:
        open_checked(path, LIMITS.archive)
    assert not refused.value.too_large


def test_a_part_that_unpacks_past_the_total_limit_is_refused_as_too_large(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.docx", with_part("docx", bomb("word/document.xml", 600)))
    with pytest.raises(ArchiveRefused, match="unpacks to 601 MB, more than the 512 MB") as refused:
        open_checked(path, LIMITS.archive)
    assert refused.value.too_large


def test_small_parts_however_compressible_are_not_bombs(tmp_path: Path) -> None:
    styles = member("word/styles.xml", b"<w:styles>" + b"<w:style/>" * 50_000 + b"</w:styles>")
    assert styles.file_size / len(styles.data) > 200  # more than the ratio limit, but under a MiB
    check_before_parsing(_write(tmp_path, "ok.docx", with_part("docx", styles)), DOCX, LIMITS)


def test_too_many_members_are_refused_before_the_directory_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "many.docx", raw_zip([member(f"p{i}.xml", b"<a/>") for i in range(30)]))
    small = GuardLimits(ArchiveLimits(max_members=20))
    with pytest.raises(DocumentError, match=r"declares 30 parts .* more than the 20 parts"):
        check_before_parsing(path, DOCX, small)


def test_a_directory_larger_than_its_member_count_needs_is_refused(tmp_path: Path) -> None:
    long_names = [member("x" * 4000 + str(i), b"") for i in range(10)]
    path = _write(tmp_path, "names.docx", raw_zip(long_names))
    with pytest.raises(ArchiveRefused, match="table of contents of 40,"):
        open_checked(path, ArchiveLimits(max_members=20))


@pytest.mark.parametrize(
    ("part", "words"),
    [
        (Member("word/document.xml", b"\x00" * 40, 0, 28, flags=0x1), "is encrypted"),
        (Member("word/document.xml", b"\x00" * 40, 0, 40, method=12), "compression method 12"),
        (Member("word/document.xml", b"\x00" * 40, 0, 40, method=99), "compression method 99"),
    ],
)
def test_encrypted_or_unknown_compression_is_refused(tmp_path: Path, part: Member, words: str) -> None:
    path = _write(tmp_path, "odd.docx", with_part("docx", part))
    with pytest.raises(DocumentError, match=words):
        check_before_parsing(path, DOCX, LIMITS)


@pytest.mark.parametrize("data", [b"PK\x03\x04" + b"\x00" * 100, (DOCS / "fake.docx").read_bytes()[:9000]])
def test_a_damaged_container_is_a_document_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(DocumentError, match="damaged"):
        check_before_parsing(_write(tmp_path, "cut.docx", data), DOCX, LIMITS)


# --- archives: streaming the members -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(MAIN_PARTS))
def test_a_part_inflating_past_its_declared_size_is_stopped_there(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path, f"liar.{fmt}", with_part(fmt, lying(MAIN_PARTS[fmt][1], 64)))
    open_checked(path, LIMITS.archive).close()  # the directory alone cannot tell
    with pytest.raises(DocumentError, match="unpacks to more than the 1,000 bytes its header declares"):
        check_before_parsing(path, MEDIA_TYPES[fmt], LIMITS)
    assert _peak_mib(lambda: check_before_parsing(path, MEDIA_TYPES[fmt], LIMITS)) < 4


def test_members_are_streamed_in_bounded_memory(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.docx", with_part("docx", bomb("word/document.xml", 64)))
    permissive = GuardLimits(ArchiveLimits(max_uncompressed_mb=4096, max_ratio=1e9))
    assert _peak_mib(lambda: check_before_parsing(path, DOCX, permissive)) < 4


def test_a_member_cut_short_is_a_document_error(tmp_path: Path) -> None:
    whole = member("word/document.xml", b"<w:document>" + bytes(range(256)) * 400 + b"</w:document>")
    cut = Member(whole.name, whole.data[:100], whole.crc, whole.file_size, compress_size=len(whole.data))
    path = _write(tmp_path, "cut.docx", raw_zip([cut]))
    with pytest.raises(DocumentError, match=r"damaged|cut short"):
        check_before_parsing(path, DOCX, LIMITS)


# --- XML and HTML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["laughs", "xxe"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_declaring_entities_is_refused(tmp_path: Path, kind: str, encoding: str) -> None:
    text = entity_xml(kind).decode().replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    path = _write(tmp_path, "evil.xml", text.encode(encoding))
    with pytest.raises(DocumentError, match=r"The XML file declares entities .*<!ENTITY"):
        check_before_parsing(path, "application/xml", LIMITS)


@pytest.mark.parametrize("fmt", sorted(MAIN_PARTS))
@pytest.mark.parametrize("kind", ["laughs", "xxe"])
def test_entities_inside_a_document_part_are_refused(tmp_path: Path, kind: str, fmt: str) -> None:
    name = MAIN_PARTS[fmt][1]
    path = _write(tmp_path, f"evil.{fmt}", with_part(fmt, member(name, entity_xml(kind, "doc"))))
    with pytest.raises(DocumentError, match=rf"Part '{name}' of the file is XML that declares entities"):
        check_before_parsing(path, MEDIA_TYPES[fmt], LIMITS)


@pytest.mark.parametrize("kind", ["laughs", "xxe"])
def test_an_html_page_declaring_entities_is_refused(tmp_path: Path, kind: str) -> None:
    page = entity_xml(kind, "html", "<body><p>Otters</p></body>").split(b"\n", 1)[1]  # no XML declaration
    with pytest.raises(DocumentError, match="The HTML file declares entities"):
        check_before_parsing(_write(tmp_path, "evil.html", page), "text/html", LIMITS)


@pytest.mark.parametrize(
    "prolog",
    [
        '<!-- <a> is not the root --><!DOCTYPE r [<!ENTITY x "y">]>',
        '<!DOCTYPE r [<!ATTLIST r a CDATA "]>"><!ENTITY x "y">]>',
        '<!DOCTYPE r [<!-- ]> --><!ENTITY x "y">]>',
        '<?pi ?> <!doctype r [<!entity x "y">]>',
    ],
)
def test_tricks_to_end_the_prolog_early_do_not_hide_an_entity(tmp_path: Path, prolog: str) -> None:
    path = _write(tmp_path, "t.xml", f'<?xml version="1.0"?>{prolog}<r>&x;</r>'.encode())
    with pytest.raises(DocumentError, match="declares entities"):
        check_before_parsing(path, "application/xml", LIMITS)


def test_an_xml_prolog_longer_than_the_cap_is_refused_but_html_is_not(tmp_path: Path) -> None:
    padded = b"<?xml version='1.0'?><!--" + b"x" * PROLOG_CAP + b"--><!DOCTYPE r [<!ENTITY a 'b'>]><r/>"
    with pytest.raises(DocumentError, match="before its first element"):
        check_before_parsing(_write(tmp_path, "pad.xml", padded), "application/xml", LIMITS)
    check_before_parsing(_write(tmp_path, "pad.html", padded), "text/html", LIMITS)


@pytest.mark.parametrize(
    "text",
    [
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/x.dtd">'
        "<html><body>fine</body></html>",
        "<!DOCTYPE html><html><body><pre><![CDATA[<!ENTITY shown as an example>]]></pre></body></html>",
        '<?xml version="1.0"?><r>&amp; &lt;!ENTITY x "y"&gt;</r>',
        "just words in a file named .html",
    ],
)
def test_doctypes_without_entities_and_entities_after_the_root_pass(tmp_path: Path, text: str) -> None:
    check_before_parsing(_write(tmp_path, "ok.html", text.encode()), "text/html", LIMITS)
    check_before_parsing(_write(tmp_path, "ok.xml", text.encode()), "application/xml", LIMITS)


# --- JSON --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_json_nested_200000_deep_is_refused_without_recursion(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path, "deep.json", ("[" * 200_000 + "]" * 200_000).encode(encoding))
    with pytest.raises(DocumentError, match="nested more than 100 levels"):
        check_before_parsing(path, "application/json", LIMITS)


def test_json_depth_counts_brackets_outside_strings_only(tmp_path: Path) -> None:
    at_limit = "[" * 100 + json.dumps('[[[ \\" {{{ ' * 1000) + "]" * 100
    check_before_parsing(_write(tmp_path, "ok.json", at_limit.encode()), "application/json", LIMITS)
    over = '{"a": ' * 101 + "1" + "}" * 101
    with pytest.raises(DocumentError, match="nested more than 100"):
        check_before_parsing(_write(tmp_path, "deep.json", over.encode()), "application/json", LIMITS)
    lines = "\n".join(json.dumps({"a": [[[i]]]}) for i in range(500))  # depth resets line by line
    check_before_parsing(_write(tmp_path, "ok.ndjson", lines.encode()), "application/x-ndjson", LIMITS)


# --- text --------------------------------------------------------------------------------------------


def test_text_that_is_mostly_control_bytes_is_binary(tmp_path: Path) -> None:
    path = _write(tmp_path, "junk.txt", b"readable start\n" + bytes(range(32)) * 4000)
    with pytest.raises(DocumentError, match=r"but \d+% of its bytes are control characters such as NUL"):
        check_before_parsing(path, "text/plain", LIMITS)


def test_a_few_nul_bytes_are_dropped_from_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "nul.txt", b"The heron\x00 nests\x00\x00 by the weir.\n" * 50)
    _, windows = open_document(path, "text/plain", 10)
    text = " ".join(b.text for w in windows for b in w.blocks)
    assert "heron nests by the weir" in text and "\x00" not in text


def test_utf16_text_is_not_mistaken_for_binary(tmp_path: Path) -> None:
    check_before_parsing(DOCS / "fake-text-utf-16.txt", "text/plain", LIMITS)
    check_before_parsing(DOCS / "fake-text-utf-32.txt", "text/plain", LIMITS)


# --- PDF ---------------------------------------------------------------------------------------------


def _tiny_pdf(declared_pages: int) -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % declared_pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_a_pdf_declaring_a_billion_pages_fails_before_its_page_tree_is_walked(tmp_path: Path) -> None:
    path = _write(tmp_path, "liar.pdf", _tiny_pdf(10**9))
    with pytest.raises(DocumentError, match="declares 1,000,000,000 pages; this Enclave accepts at most"):
        open_document(path, "application/pdf", 2000)
    pages, _ = open_document(_write(tmp_path, "one.pdf", _tiny_pdf(1)), "application/pdf", 2000)
    assert pages == 1


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "table.csv"])
def test_text_holding_xml_or_deep_json_is_checked_like_xml_and_json(tmp_path: Path, name: str) -> None:
    """unstructured chooses its parser from the content: a .txt holding XML is read as XML."""
    with pytest.raises(DocumentError, match="The file, which holds XML, declares entities"):
        check_before_parsing(_write(tmp_path, name, entity_xml("laughs")), "text/plain", LIMITS)
    with pytest.raises(DocumentError, match="nested more than 100 levels"):
        check_before_parsing(_write(tmp_path, name, b"[" * 5000 + b"]" * 5000), "text/plain", LIMITS)
    check_before_parsing(
        _write(tmp_path, name, b"[a link](http://example.com) and [another]\n"), "text/plain", LIMITS
    )
