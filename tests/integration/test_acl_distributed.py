"""Document ACLs in distributed mode: PostgreSQL catalog, a real Celery worker process, and the FAKE
Qdrant REST server through the production QdrantServerIndex (set_payload by filter, wait=true)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_acl import _finds, _patcher, _secret, people
from tests.conftest import Stack
from tests.support import kill_group

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(stack: Stack) -> Iterator[Any]:
    proc = stack.start_worker(f"acl{uuid.uuid4().hex[:4]}", concurrency=1)
    yield proc
    kill_group(proc)


@pytest.mark.timeout(600)
def test_visibility_flips_on_the_next_request_through_a_worker_and_the_qdrant_server(
    stack: Stack, worker: Any
) -> None:
    admin = stack.api.with_key(stack.api.create_tenant(f"acl-{uuid.uuid4().hex[:6]}")["admin_key"])
    p = people(admin)
    doc = _secret(p.alice, {"users": [], "groups": [p.group_id]})  # indexed by the worker process
    assert _finds(p.alice, doc["id"]) and _finds(admin, doc["id"])
    assert not _finds(p.bob, doc["id"])
    assert p.bob.get("/v1/documents").json()["total"] == 0

    member = f"/v1/groups/{p.group_id}/members"
    assert admin.post(member, json={"user_id": p.bob_id}).status_code == 204
    assert _finds(p.bob, doc["id"])
    assert admin.delete(f"{member}/{p.bob_id}").status_code == 204
    assert not _finds(p.bob, doc["id"])

    patch = _patcher(p.alice, doc["id"])
    assert patch({"users": [p.bob_id], "groups": []}).status_code == 200  # the index payload first
    assert _finds(p.bob, doc["id"])
    assert patch({"users": [], "groups": []}).status_code == 200
    assert not _finds(p.bob, doc["id"])
    assert _finds(p.alice, doc["id"]) and _finds(admin, doc["id"])
    assert worker.poll() is None
