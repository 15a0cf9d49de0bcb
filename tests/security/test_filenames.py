"""File names that try to mislead: control characters, a right-to-left override that disguises the
extension, and one 900 characters long. The name is display text only, kept printable and bounded; the
content alone decides the format."""

from __future__ import annotations

import unicodedata

import pytest

from tests.security.ends import assert_still_serving, ready, upload_and_settle
from tests.support import Api

TEXT = b"The salt marsh at Aberlady floods twice a day in spring.\n"
NAMES = {
    "control": "tides\x01\x07\x1b[31m\x7f\tnotes.txt",
    "rtl-override": "invoice-\u202etxt.exe",  # shows as "invoice-exe.txt"
    "900-chars": "marsh-" + "a" * 890 + ".txt",
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_a_misleading_filename_is_kept_printable_and_bounded(tenant: Api, name: str) -> None:
    doc = upload_and_settle(tenant, NAMES[name], TEXT, ready("salt marsh at Aberlady floods"))
    shown = doc["filename"]
    assert shown and len(shown) <= 300
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in shown), ascii(shown)
    assert doc["media_type"] == "text/plain"  # the bytes decided, not the name
    assert tenant.get(f"/v1/documents/{doc['id']}/file").status_code == 200
    assert_still_serving(tenant)
