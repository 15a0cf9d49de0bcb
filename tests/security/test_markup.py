"""XML entity expansion (billion laughs) and external entities (XXE), standalone and inside documents:
the document fails with a reason before any parser sees the DTD, whichever parser would have read it."""

from __future__ import annotations

import pytest

from tests.security.ends import assert_still_serving, failed, upload_and_settle
from tests.security.hostile import entity_xml, member, with_part
from tests.support import Api

ENTITIES = failed("declares entities", "<!ENTITY", "Remove the DOCTYPE")


def _in_docx(kind: str) -> bytes:
    return with_part("docx", member("word/document.xml", entity_xml(kind, root="w:document")))


BUILDERS = {"xml": lambda k: entity_xml(k), "docx": _in_docx}


# Both kinds standalone and in the main part of a docx (HTML and EPUB: tests/unit/test_guards.py).
CASES = [("laughs", "xml"), ("xxe", "xml"), ("laughs", "docx"), ("xxe", "docx")]


@pytest.mark.parametrize(("kind", "container"), CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_xml_declaring_entities_fails_with_a_reason(tenant: Api, kind: str, container: str) -> None:
    doc = upload_and_settle(tenant, f"{kind}.{container}", BUILDERS[container](kind), ENTITIES)
    assert "root:" not in doc["error"]  # /etc/passwd was never read into anything
    assert_still_serving(tenant)
