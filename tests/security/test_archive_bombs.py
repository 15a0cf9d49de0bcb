"""Zip bombs in every zip-based format Enclave reads: refused at upload from the central directory when the
directory tells (413/415), failed by the parser's guards when only inflating tells (a lying header)."""

from __future__ import annotations

import pytest

from tests.security.ends import End, assert_still_serving, failed, refused, upload_and_settle
from tests.security.hostile import MAIN_PARTS, bomb, lying, with_part
from tests.support import Api

CASES = [
    # a main part compressed ~1000 times: refused for its ratio (every format: tests/unit/test_formats.py)
    ("ratio-bomb.docx", "docx", "word/document.xml", 16, refused("compressed", "zip bomb", statuses=(415,))),
    # a main part that unpacks to a gigabyte: refused for its size
    *[(f"giga-bomb.{f}", f, MAIN_PARTS[f][1], 1024, refused("unpacks to", "512 MB", statuses=(413,)))
      for f in sorted(MAIN_PARTS)],
    # the member sniffing reads first
    ("mimetype-bomb.odt", "odt", "mimetype", 1024, refused("unpacks to", statuses=(413,))),
    ("mimetype-bomb.epub", "epub", "mimetype", 64, refused("'mimetype'", "zip bomb", statuses=(415,))),
]  # fmt: skip


@pytest.mark.parametrize(("filename", "fmt", "part", "mib", "end"), CASES, ids=[c[0] for c in CASES])
def test_a_zip_bomb_is_refused_at_upload(
    tenant: Api, filename: str, fmt: str, part: str, mib: int, end: End
) -> None:
    upload_and_settle(tenant, filename, with_part(fmt, bomb(part, mib)), end)
    assert_still_serving(tenant)


@pytest.mark.parametrize("fmt", ["docx", "odt"])
def test_a_part_lying_about_its_size_fails_its_document(tenant: Api, fmt: str) -> None:
    """The directory declares 1,000 bytes, so upload cannot tell; the parser's guards stream the part and
    stop one byte past what it declared (pandoc, which reads odt and epub, trusts the stream instead; the
    unit tests cover every format)."""
    data = with_part(fmt, lying(MAIN_PARTS[fmt][1], 256))
    upload_and_settle(tenant, f"liar.{fmt}", data, failed("unpacks to more than the 1,000 bytes", "zip bomb"))
    assert_still_serving(tenant)
