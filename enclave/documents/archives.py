"""Zip-based documents (Office, OpenDocument, EPUB) judged from their central directory alone.

Nothing is inflated here: the sizes, methods and flags each member declares are enough to refuse a zip
bomb before anyone reads it. Sniffing at upload and the parser's guards (ingest/guards.py) both call
`check_central_directory`; that a member really inflates to no more than it declares is checked by the
parser's guards, which stream it.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from enclave.settings import Settings

MB = 1024 * 1024
# A member this small cannot hurt whatever its ratio (the total limit still counts it), and small parts
# full of repeated markup (styles, empty rows) compress far better than whole documents.
RATIO_GRACE_BYTES = 1 * MB
# Stored and deflated are the only methods OOXML, ODF and EPUB (OCF) allow.
KNOWN_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# zipfile reads the whole central directory into memory and builds an object per entry before anyone can
# count them; a directory larger than this per allowed member (real entries take 50-200 bytes) is refused
# from the end record alone.
DIRECTORY_BYTES_PER_MEMBER = 512
_END = struct.Struct("<4s4H2LH")  # end of central directory record (APPNOTE 4.3.16)
_END64_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator (4.3.15)
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record (4.3.14)
_RESAVE = "Re-save the document from the application that made it and upload it again."


@dataclass(frozen=True)
class ArchiveLimits:
    max_uncompressed_mb: int = 512
    max_ratio: float = 200.0
    max_members: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        return cls(
            max_uncompressed_mb=settings.archive_max_uncompressed_mb,
            max_ratio=settings.archive_max_ratio,
            max_members=settings.archive_max_members,
        )


class ArchiveRefused(Exception):
    """The archive is refused; the message is a sentence for the user. `too_large` says whether it is a
    matter of size (HTTP 413) rather than of content (415)."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def _check_member(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    if info.flag_bits & 0x1:
        raise ArchiveRefused(
            f"Part {info.filename!r} of the file is encrypted. Remove the password protection and upload "
            "the document again."
        )
    if info.compress_type not in KNOWN_METHODS:
        raise ArchiveRefused(
            f"Part {info.filename!r} uses compression method {info.compress_type}, which Office, "
            f"OpenDocument and EPUB files never use; the file is damaged or not a document. {_RESAVE}"
        )
    if info.file_size > RATIO_GRACE_BYTES:
        ratio = info.file_size / max(1, info.compress_size)
        if ratio > limits.max_ratio:
            raise ArchiveRefused(
                f"Part {info.filename!r} is compressed {ratio:.0f} times (it unpacks from "
                f"{info.compress_size:,} to {info.file_size:,} bytes), more than the {limits.max_ratio:g} "
                "times this Enclave accepts (ENCLAVE_ARCHIVE_MAX_RATIO): files like this are built to "
                f"exhaust memory (a 'zip bomb'). {_RESAVE}"
            )


def _directory_extent(f: BinaryIO) -> tuple[int, int]:
    """(entries, bytes) of the central directory as the end record declares them."""
    size = f.seek(0, 2)
    tail_len = min(size, _END.size + 0xFFFF)  # the record, then a comment of at most 64 KiB
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        raise zipfile.BadZipFile("no end of central directory record")
    entries, directory_bytes = _END.unpack_from(tail, at)[4:6]
    if at >= _END64_LOCATOR.size and tail[at - _END64_LOCATOR.size : at].startswith(b"PK\x06\x07"):
        f.seek(_END64_LOCATOR.unpack_from(tail, at - _END64_LOCATOR.size)[2])
        record = f.read(_END64.size)
        if len(record) == _END64.size and record.startswith(b"PK\x06\x06"):
            entries, directory_bytes = _END64.unpack(record)[7:9]
    return entries, directory_bytes


def open_checked(path: Path, limits: ArchiveLimits) -> zipfile.ZipFile:
    """The archive, opened once its end record and central directory have passed the limits; the caller
    closes it. Raises ArchiveRefused, a damaged container included."""
    try:
        with path.open("rb") as f:
            entries, directory_bytes = _directory_extent(f)
        if entries > limits.max_members or directory_bytes > limits.max_members * DIRECTORY_BYTES_PER_MEMBER:
            raise ArchiveRefused(
                f"The file declares {entries:,} parts in a table of contents of {directory_bytes:,} bytes, "
                f"more than the {limits.max_members:,} parts this Enclave accepts "
                f"(ENCLAVE_ARCHIVE_MAX_MEMBERS). {_RESAVE}",
                too_large=True,
            )
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, struct.error) as exc:
        raise ArchiveRefused(
            f"The file's zip container is damaged and cannot be read ({exc}). Check that it opens, then "
            "re-save it and upload it again."
        ) from exc
    try:
        check_central_directory(z.infolist(), limits)
    except BaseException:
        z.close()
        raise
    return z


def check_central_directory(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Refuses an archive whose members, as declared, are too many, too big, too compressed, encrypted or
    packed with an unknown method. Reads nothing but the list it is given (`ZipFile.infolist()`)."""
    if len(infos) > limits.max_members:
        raise ArchiveRefused(
            f"The file holds {len(infos):,} parts, more than the {limits.max_members:,} this Enclave accepts "
            f"(ENCLAVE_ARCHIVE_MAX_MEMBERS). {_RESAVE}",
            too_large=True,
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_mb * MB:
        raise ArchiveRefused(
            f"The file unpacks to {total / MB:,.0f} MB, more than the {limits.max_uncompressed_mb} MB this "
            "Enclave accepts (ENCLAVE_ARCHIVE_MAX_UNCOMPRESSED_MB). Split the document or remove large "
            "embedded media, then upload it again.",
            too_large=True,
        )
    for info in infos:
        _check_member(info, limits)
