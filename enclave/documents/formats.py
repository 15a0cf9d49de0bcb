"""Content sniffing: what a file really is, from a bounded number of its bytes; the extension only breaks
ties for text. Zip-based documents are judged by their central directory (archives.py) before any member
is read."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from enclave.documents.archives import ArchiveLimits, ArchiveRefused, open_checked
from enclave.errors import EnclaveError, TooLarge, UnsupportedType

RECORD_MEDIA_TYPE = "application/vnd.enclave.record+json"


@dataclass(frozen=True)
class Format:
    media_type: str
    suffix: str  # what the parser keys on; chosen by us, never copied from the client


PDF = Format("application/pdf", ".pdf")
DOCX = Format("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
PPTX = Format("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")
XLSX = Format("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
ODT = Format("application/vnd.oasis.opendocument.text", ".odt")
EPUB = Format("application/epub+zip", ".epub")
RTF = Format("application/rtf", ".rtf")
MSG = Format("application/vnd.ms-outlook", ".msg")
DOC = Format("application/msword", ".doc")
PPT = Format("application/vnd.ms-powerpoint", ".ppt")
XLS = Format("application/vnd.ms-excel", ".xls")
ENCRYPTED_OFFICE = Format("application/x-encrypted-office", ".bin")
IMAGES = {
    b"\x89PNG": Format("image/png", ".png"),
    b"\xff\xd8\xff": Format("image/jpeg", ".jpg"),
    b"II*\x00": Format("image/tiff", ".tiff"),
    b"MM\x00*": Format("image/tiff", ".tiff"),
    b"BM": Format("image/bmp", ".bmp"),
}
TEXT_BY_EXT = {
    ".html": Format("text/html", ".html"),
    ".htm": Format("text/html", ".html"),
    ".xml": Format("application/xml", ".xml"),
    ".json": Format("application/json", ".json"),
    ".ndjson": Format("application/x-ndjson", ".ndjson"),
    ".csv": Format("text/csv", ".csv"),
    ".tsv": Format("text/tab-separated-values", ".tsv"),
    ".md": Format("text/markdown", ".md"),
    ".markdown": Format("text/markdown", ".md"),
    ".rst": Format("text/x-rst", ".rst"),
    ".org": Format("text/org", ".org"),
    ".eml": Format("message/rfc822", ".eml"),
    ".txt": Format("text/plain", ".txt"),
}
PLAIN = TEXT_BY_EXT[".txt"]
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


MIMETYPE_MAX_BYTES = 200  # ODF and EPUB begin with a member holding one short line


def _mimetype(z: zipfile.ZipFile) -> str:
    """The `mimetype` member of ODF and EPUB, read a bounded number of bytes, never inflated whole."""
    try:
        info = z.getinfo("mimetype")
    except KeyError:
        return ""
    if info.file_size > MIMETYPE_MAX_BYTES:
        raise UnsupportedType(
            f"The file's 'mimetype' entry is {info.file_size:,} bytes long, where an OpenDocument or EPUB "
            "file holds one short line; the file is damaged or not a document. Re-save it and upload again."
        )
    with z.open(info) as member:
        return member.read(MIMETYPE_MAX_BYTES).decode("ascii", "replace").strip()


def _zip_kind(path: Path, limits: ArchiveLimits) -> Format:
    try:
        z = open_checked(path, limits)
    except ArchiveRefused as exc:
        raise (TooLarge if exc.too_large else UnsupportedType)(str(exc)) from exc
    with z:
        mt = _mimetype(z)
        names = set(z.namelist())
    if mt == ODT.media_type:
        return ODT
    if mt == EPUB.media_type:
        return EPUB
    if "word/document.xml" in names:
        return DOCX
    if "ppt/presentation.xml" in names:
        return PPTX
    if "xl/workbook.xml" in names:
        return XLSX
    raise UnsupportedType(
        "Archives are not ingested as a whole; unpack the archive and upload the files inside."
    )


def _ole_kind(path: Path, ext: str) -> Format:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
    except OSError:
        streams = set()
    if "EncryptedPackage" in streams:
        return ENCRYPTED_OFFICE
    if any(s.startswith("__substg1.0_") for s in streams) or ext == ".msg":
        return MSG
    if "WordDocument" in streams:
        return DOC
    if "PowerPoint Document" in streams:
        return PPT
    if "Workbook" in streams or "Book" in streams:
        return XLS
    return {".doc": DOC, ".ppt": PPT, ".xls": XLS}.get(ext, MSG)


def _looks_textual(head: bytes) -> bool:
    if head.startswith(_BOMS) or head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the sample is still text; otherwise try cp1252.
        if e.start >= len(head) - 4:
            return True
        printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 160 for b in head)
        return printable / max(1, len(head)) > 0.9


def sniff(path: Path, filename: str, limits: ArchiveLimits | None = None) -> Format:
    """What the file is. Reads a bounded number of bytes whatever the file holds; every way it can fail
    is an UnsupportedType (415) or, for an archive that unpacks too large, TooLarge (413), with a reason.
    `limits` default to the settings' ENCLAVE_ARCHIVE_*."""
    if limits is None:
        from enclave.settings import get_settings

        limits = ArchiveLimits.from_settings(get_settings())
    try:
        return _sniff(path, filename, limits)
    except EnclaveError:
        raise
    except Exception as exc:  # a truncated, hostile or merely odd file: never a 500
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UnsupportedType(
            f"The file could not be examined ({type(exc).__name__}{': ' + detail if detail else ''}); it is "
            "damaged or not a document Enclave reads. Check that it opens, then upload it again."
        ) from exc


def _sniff(path: Path, filename: str, limits: ArchiveLimits) -> Format:
    ext = Path(filename).suffix.lower()
    with path.open("rb") as f:
        head = f.read(8192)
    if head.startswith(b"%PDF"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path, limits)
    if head.startswith(_OLE):
        return _ole_kind(path, ext)
    if head.startswith(b"{\\rtf"):
        return RTF
    for magic, fmt in IMAGES.items():
        if head.startswith(magic):
            return fmt
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return Format("image/heic", ".heic")
    if not head or _looks_textual(head):
        if ext in TEXT_BY_EXT:
            return TEXT_BY_EXT[ext]
        probe = head.lstrip()[:200].lower()
        if probe.startswith((b"<!doctype html", b"<html")):
            return TEXT_BY_EXT[".html"]
        if probe.startswith(b"<?xml"):
            return TEXT_BY_EXT[".xml"]
        return PLAIN
    raise UnsupportedType(
        f"Enclave cannot read this kind of file ({filename!r} is not a recognised document format). "
        "Supported: PDF, Office (docx, pptx, xlsx, and legacy doc/ppt/xls), OpenDocument, EPUB, RTF, "
        "HTML, XML, JSON, CSV/TSV, Markdown, e-mail (eml, msg) and plain text."
    )
