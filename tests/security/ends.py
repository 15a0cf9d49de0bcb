"""How a hostile upload may end, and the check that the server is still well afterwards.

A hostile file ends one of three ways, each with a readable sentence: refused at upload (413/415), its
document `failed`, or its document `ready`. Whichever it is, the gateway still answers and a normal
document uploaded next becomes ready and searchable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.support import Api

TRACEBACK_MARKS = ("Traceback (most recent call", 'File "', '.py", line')


@dataclass(frozen=True)
class End:
    kind: str  # "refused" | "failed" | "ready"
    words: tuple[str, ...] = ()  # that the reason (or, for ready, the search hit) must contain
    statuses: tuple[int, ...] = (413, 415)


def refused(*words: str, statuses: tuple[int, ...] = (413, 415)) -> End:
    return End("refused", words, statuses)


def failed(*words: str) -> End:
    return End("failed", words)


def ready(*query_words: str) -> End:
    """Ready; when words are given, a search for them finds the document."""
    return End("ready", query_words)


def _readable(reason: str, words: tuple[str, ...]) -> None:
    assert reason and reason[0].isupper(), reason
    assert not any(mark in reason for mark in TRACEBACK_MARKS), reason
    for w in words:
        assert w.lower() in reason.lower(), f"{w!r} not in {reason!r}"


def upload_and_settle(
    api: Api, filename: str, data: bytes, expected: End, timeout: float = 90
) -> dict[str, Any]:
    """Uploads one file and checks that it ends as expected; returns the document (or the refusal body)."""
    r = api.post("/v1/documents", files=[("files", (filename, data))])
    if expected.kind == "refused":
        assert r.status_code in expected.statuses, (r.status_code, r.text[:500])
        body = r.json()
        _readable(body["detail"], expected.words)
        assert api.get("/v1/documents").json()["total"] == 0  # nothing half-stored
        assert not any((api.http.app.state.runtime.storage.root / "tmp").iterdir())
        return body
    assert r.status_code == 202, (r.status_code, r.text[:500])
    doc = api.wait_done([r.json()["documents"][0]["id"]], timeout=timeout)
    doc = next(iter(doc.values()))
    assert doc["status"] == expected.kind, (doc["status"], doc["error"])
    if expected.kind == "failed":
        _readable(doc["error"], expected.words)
    elif expected.words:
        hits = api.search(" ".join(expected.words), top_k=3)
        assert hits and hits[0]["document_id"] == doc["id"], hits[:1]
    return doc


def assert_still_serving(api: Api) -> None:
    """The gateway answers, and a normal document uploaded now becomes ready and searchable."""
    assert api.http.get("/healthz").status_code == 200
    marker = uuid.uuid4().hex[:8]
    text = f"The lighthouse keeper of Skerrymore, code {marker}, logs the tides every dawn.\n".encode()
    r = api.post("/v1/documents", files=[("files", (f"keeper-{marker}.txt", text))])
    assert r.status_code == 202, r.text
    doc_id = r.json()["documents"][0]["id"]
    done = api.wait_done([doc_id], timeout=60)[doc_id]
    assert done["status"] == "ready", done["error"]
    hits = api.search("lighthouse keeper of Skerrymore logs the tides", top_k=5)
    assert doc_id in [h["document_id"] for h in hits]
