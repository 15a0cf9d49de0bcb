"""Checks before a parser sees a file, so that a hostile or merely unlucky file fails its own document with
a reason, in bounded memory and time, instead of exhausting the worker.

- zip-based documents: the central directory (enclave/documents/archives.py), then every member streamed
  through a bounded inflater that stops one byte past its declared size (a lying header is a bomb too);
- XML and HTML, standalone or inside those archives: no document type declaration with entities, so entity
  expansion (billion laughs) and external entities (XXE) cannot happen whatever parser runs next;
- JSON: no nesting deeper than a limit, found by a scan that does not recurse;
- text: mostly control characters (NUL …) means binary data, not text.
"""

from __future__ import annotations

import mmap
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from enclave.documents.archives import ArchiveLimits, ArchiveRefused, open_checked

if TYPE_CHECKING:
    from enclave.settings import Settings

ZIP_MEDIA_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/epub+zip",
}
JSON_MEDIA_TYPES = {"application/json", "application/x-ndjson"}
_MARKUP_LABELS = {"application/xml": "XML file", "text/html": "HTML file"}
PROLOG_CAP = 1024 * 1024  # XML declarations, comments and DOCTYPE must fit before the first element
BINARY_SHARE = 0.10  # more control bytes than this and a "text" file is binary data
_CHUNK = 1 << 16
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zip local file header (APPNOTE 4.3.7), 30 bytes
_RESAVE = "Re-save the document from the application that made it and upload it again."


class DocumentError(Exception):
    """A permanent problem with this document; retrying will not help."""


@dataclass(frozen=True)
class GuardLimits:
    archive: ArchiveLimits = field(default_factory=ArchiveLimits)
    json_max_depth: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> GuardLimits:
        return cls(ArchiveLimits.from_settings(settings), settings.json_max_depth)


def check_before_parsing(path: Path, media_type: str, limits: GuardLimits) -> None:
    """Raises DocumentError, with a sentence saying what is wrong and what to do, when the file must not
    reach a parser. Reads a bounded amount at a time. Text of any kind is checked for XML entities and
    JSON depth too: `unstructured` picks its parser from the content, so a .txt holding XML is read as XML."""
    if path.stat().st_size == 0:
        return  # open_document has its own sentence for an empty file
    if media_type in ZIP_MEDIA_TYPES:
        _check_zip(path, limits.archive)
        return
    if not _is_text(media_type):
        return
    _check_text_bytes(path)
    with path.open("rb") as f:
        head = f.read(PROLOG_CAP + 1)
    problem = _prolog_problem(head, complete=len(head) <= PROLOG_CAP, strict=media_type == "application/xml")
    if problem:
        label = _MARKUP_LABELS.get(media_type, "file, which holds XML,")
        raise DocumentError(f"The {label} {problem}")
    if media_type in JSON_MEDIA_TYPES or _decode_head(head[:64]).lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        _check_json_depth(path, limits.json_max_depth)


def _is_text(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in (*JSON_MEDIA_TYPES, "application/xml")


# --- zip-based documents ---------------------------------------------------------------------------


def _check_zip(path: Path, limits: ArchiveLimits) -> None:
    try:
        with open_checked(path, limits) as z:
            infos = z.infolist()
    except ArchiveRefused as exc:
        raise DocumentError(str(exc)) from exc
    with path.open("rb") as f:
        for info in infos:
            if info.is_dir():
                continue
            head = _inflate_bounded(f, info)
            problem = _prolog_problem(head, complete=len(head) <= PROLOG_CAP, strict=True)
            if problem:
                raise DocumentError(f"Part {info.filename!r} of the file is XML that {problem}")


def _member_data(f: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's stored (compressed) bytes, a chunk at a time, found through its local header."""
    f.seek(info.header_offset)
    header = f.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise DocumentError(f"Part {info.filename!r} of the file is missing or damaged. {_RESAVE}")
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
    f.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    left = info.compress_size
    while left > 0:
        data = f.read(min(_CHUNK, left))
        if not data:
            raise DocumentError(f"Part {info.filename!r} of the file is cut short (truncated). {_RESAVE}")
        left -= len(data)
        yield data


def _inflate(info: zipfile.ZipInfo, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Inflated output, never more than _CHUNK bytes at a time, however compressed the input."""
    if info.compress_type == zipfile.ZIP_STORED:
        yield from chunks
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for data in chunks:
            while data and not inflater.eof:
                out = inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
                # a full chunk may leave output pending inside zlib even when all input was taken
                while len(out) == _CHUNK and not data and not inflater.eof:
                    yield out
                    out = inflater.decompress(b"", _CHUNK)
                yield out
            if inflater.eof:
                return
    except zlib.error as exc:
        raise DocumentError(f"Part {info.filename!r} of the file is damaged ({exc}). {_RESAVE}") from exc


def _inflate_bounded(f: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """Streams one member, keeping only its first PROLOG_CAP + 1 bytes; refuses it as soon as it inflates
    past the size the central directory declared (which the archive limits have accepted)."""
    head, produced = bytearray(), 0
    for out in _inflate(info, _member_data(f, info)):
        produced += len(out)
        if produced > info.file_size:
            raise DocumentError(
                f"Part {info.filename!r} unpacks to more than the {info.file_size:,} bytes its header "
                f"declares: the file is damaged or built to exhaust memory (a 'zip bomb'). {_RESAVE}"
            )
        if len(head) <= PROLOG_CAP:
            head += out[: PROLOG_CAP + 1 - len(head)]
    return bytes(head)


# --- XML and HTML: no DOCTYPE with entities --------------------------------------------------------

_XML_ENCODINGS = (  # byte-order marks, then the first four bytes of "<?xm" (XML 1.0, appendix F)
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # EBCDIC
)


def _decode_head(head: bytes) -> str:
    for mark, encoding in _XML_ENCODINGS:
        if head.startswith(mark):
            return head.decode(encoding, "replace")
    sample = head[:64]
    if len(sample) >= 8 and not any(sample[1::2]):
        return head.decode("utf-16-le", "replace")
    if len(sample) >= 8 and not any(sample[0::2]):
        return head.decode("utf-16-be", "replace")
    return head.decode("latin-1")  # markup is ASCII; any other bytes only need to stay out of the way


def _skip_quoted(text: str, i: int) -> int:
    end = text.find(text[i], i + 1)
    return len(text) if end < 0 else end + 1


def _doctype_end(text: str, start: int) -> int:
    """Index just past the DOCTYPE declaration at `start`, quotes, comments and processing instructions in
    its internal subset respected; -1 when it does not end within `text`."""
    i, subset = start + len("<!DOCTYPE"), False
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _skip_quoted(text, i)
        elif subset and text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = len(text) if end < 0 else end + 3
        elif subset and text.startswith("<?", i):
            end = text.find("?>", i + 2)
            i = len(text) if end < 0 else end + 2
        elif c == "[" and not subset:
            subset, i = True, i + 1
        elif c == "]" and subset:
            subset, i = False, i + 1
        elif c == ">" and not subset:
            return i + 1
        else:
            i += 1
    return -1


_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)


def _prolog_problem(head: bytes, complete: bool, strict: bool) -> str | None:
    """Why the markup in `head` (a file's first bytes; `complete` when that is the whole file) must not be
    parsed, as the end of a sentence; None when it may. Walks the prolog up to the first element. `strict`
    (XML) also refuses a prolog that does not end within PROLOG_CAP; HTML parsers read no DTD."""
    text, i = _decode_head(head), 0
    if not text.lstrip("\ufeff \t\r\n").startswith("<"):
        return None  # not markup at all (an image in an archive, plain text named .html)
    while (j := text.find("<", i)) >= 0:
        if text.startswith("<?", j):
            end = text.find("?>", j + 2)
            i = -1 if end < 0 else end + 2
        elif text.startswith("<!--", j):
            end = text.find("-->", j + 4)
            i = -1 if end < 0 else end + 3
        elif text[j : j + 9].upper() == "<!DOCTYPE":
            i = _doctype_end(text, j)
            # With an internal subset, searched to the end of what was read, not only to where the subset
            # seems to end; a misjudged end can then hide nothing.
            subset = "[" in text[j : i if i > 0 else len(text)]
            if _ENTITY.search(text, j, len(text) if subset or i < 0 else i):
                return (
                    "declares entities in a document type definition (<!ENTITY …>), which can expand "
                    "without bound or read files on the server, so Enclave does not read it. Remove the "
                    "DOCTYPE declaration and upload it again."
                )
        else:
            return None  # the first element: the prolog is over
        if i < 0:
            break
    if complete or not strict:
        return None
    return (
        f"has more than {PROLOG_CAP // 1024} KB of declarations and comments before its first element; "
        "Enclave does not read such XML. Remove them and upload it again."
    )


# --- JSON: depth without recursion -----------------------------------------------------------------

_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]', re.DOTALL)
_JSON_TOKENS_TEXT = re.compile(_JSON_TOKENS.pattern.decode(), re.DOTALL)
_WIDE = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
_WIDE_CODECS = ("utf-32", "utf-32", "utf-16", "utf-16")


def _check_json_depth(path: Path, max_depth: int) -> None:
    """Counts brackets outside strings (whole strings are one token each, matched by the regex engine)."""
    with path.open("rb") as f:
        bom = f.read(4)
        wide = next((c for m, c in zip(_WIDE, _WIDE_CODECS, strict=True) if bom.startswith(m)), None)
        if wide:
            body: bytes | str | mmap.mmap = path.read_text(encoding=wide)
            tokens = _JSON_TOKENS_TEXT
        else:
            body, tokens = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), _JSON_TOKENS
        try:
            depth, opening = 0, ("[", "{", ord("["), ord("{"))
            for m in tokens.finditer(body):  # type: ignore[arg-type]
                c = m.group()[0]
                if c in opening:
                    depth += 1
                    if depth > max_depth:
                        raise DocumentError(
                            f"The JSON is nested more than {max_depth} levels deep, more than this Enclave "
                            "reads (ENCLAVE_JSON_MAX_DEPTH). Flatten it or split it into smaller documents, "
                            "then upload it again."
                        )
                elif c not in ('"', ord('"')):
                    depth = max(0, depth - 1)
        finally:
            if isinstance(body, mmap.mmap):
                body.close()


# --- text: binary junk -----------------------------------------------------------------------------

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
_TEXT_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def _check_text_bytes(path: Path) -> None:
    """A text file that is mostly control characters is binary data under a text name; a few NULs are
    dropped by the parser instead (see parse._to_blocks)."""
    with path.open("rb") as f:
        if f.read(4).startswith(_WIDE):
            return  # UTF-16/32: NUL bytes are part of every character
        f.seek(0)
        total = control = 0
        while block := f.read(1 << 20):
            total += len(block)
            control += len(block.translate(None, _TEXT_BYTES))
    if total and control / total > BINARY_SHARE:
        raise DocumentError(
            f"This file has a text format's name, but {control / total:.0%} of its bytes are control "
            "characters such as NUL: it is binary data, not text. Upload the original document instead."
        )
