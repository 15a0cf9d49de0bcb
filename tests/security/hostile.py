"""Builders of hostile files, made at test time (nothing large is committed): zip bombs and lying zip
headers written member by member, XML with entity declarations, PDFs with many pages."""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.support import DOCS

MIB = 1 << 20
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes  # as stored in the archive (compressed when method is 8)
    crc: int
    file_size: int  # what the headers declare
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    compress_size: int | None = None  # what the headers declare, when not len(data)


def member(name: str, content: bytes, method: int = zipfile.ZIP_DEFLATED) -> Member:
    if method == zipfile.ZIP_STORED:
        return Member(name, content, zlib.crc32(content), len(content), method)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return Member(name, c.compress(content) + c.flush(), zlib.crc32(content), len(content))


@cache
def _spaces(mib: int) -> tuple[bytes, int]:
    # After a full flush the compressor starts afresh, so every 1 MiB unit compresses to the same bytes:
    # a gigabyte of deflate stream costs one unit of work and a CRC.
    unit = b" " * MIB
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(unit, crc)
    return block * mib + c.flush(), crc


def bomb(name: str, mib: int) -> Member:
    """A member that inflates to `mib` MiB of spaces from about 1 KiB per MiB, declared honestly."""
    data, crc = _spaces(mib)
    return Member(name, data, crc, mib * MIB)


def lying(name: str, mib: int, declared: int = 1000) -> Member:
    """A member that inflates to `mib` MiB while its headers declare `declared` bytes (and a CRC that
    matches nothing): parsers that trust the compressed stream rather than the header inflate it all."""
    data, crc = _spaces(mib)
    return Member(name, data, crc, declared)


def raw_zip(members: list[Member]) -> bytes:
    out, central = bytearray(), bytearray()
    for m in members:
        name, size = m.name.encode(), len(m.data) if m.compress_size is None else m.compress_size
        offset = len(out)
        out += _LOCAL.pack(
            b"PK\x03\x04", 20, 0, m.flags, m.method, 0, 0x21, m.crc, size, m.file_size, len(name), 0
        )
        out += name + m.data
        central += _CENTRAL.pack(
            b"PK\x01\x02", 20, 0, 20, 0, m.flags, m.method, 0, 0x21, m.crc, size, m.file_size,
            len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    end = _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def real_members(name: str) -> list[Member]:
    """The members of a real document in ../shared/data/docs, re-packed the way they were stored."""
    with zipfile.ZipFile(DOCS / name) as z:
        return [member(i.filename, z.read(i), i.compress_type) for i in z.infolist()]


# The main part and the file of each zip-based format (odt and epub also sniff their `mimetype` member).
MAIN_PARTS = {
    "docx": ("fake.docx", "word/document.xml"),
    "xlsx": ("stanley-cups.xlsx", "xl/worksheets/sheet1.xml"),
    "pptx": ("fake-power-point.pptx", "ppt/slides/slide1.xml"),
    "odt": ("simple.odt", "content.xml"),
    "epub": ("eng_spa_mult.epub", "GoogleDoc/Untitleddocument.xhtml"),
}


def with_part(fmt: str, part: Member) -> bytes:
    base, _ = MAIN_PARTS[fmt]
    by_name = {part.name: part}
    return raw_zip([by_name.pop(m.name, m) for m in real_members(base)] + list(by_name.values()))


def entity_xml(kind: str, root: str = "doc", body: str = "") -> bytes:
    """XML whose DTD declares entities: 'laughs' (exponential expansion) or 'xxe' (a file on the server)."""
    if kind == "laughs":
        decls = ['<!ENTITY lol0 "lol">'] + [
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
        ]
        ref = "&lol9;"
    else:
        decls, ref = ['<!ENTITY xxe SYSTEM "file:///etc/passwd">'], "&xxe;"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {root} [\n  {chr(10).join(decls)}\n]>\n'
        f"<{root}>{body}{ref}</{root}>\n"
    ).encode()


def blank_pdf(path: Path, pages: int) -> Path:
    import pikepdf

    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page()
        pdf.save(path)
    return path
