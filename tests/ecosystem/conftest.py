"""A running `enclave serve` (the session's `embedded_server`) with two tenants: tenant A holds the memo,
uploaded by a member; tenant B has a member key and nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.support import DOCS

QUESTION = "How many bottles of water, blankets and laptops were delivered?"


@dataclass(frozen=True)
class TenantKeys:
    url: str
    tenant_id: str
    admin_key: str
    member_key: str
    member_key_id: str
    memo_id: str | None = None


def _tenant(url: str, operator_key: str) -> tuple[str, str, str, str]:
    """(tenant id, admin key, member key, member key id) of a fresh tenant."""
    r = httpx.post(
        f"{url}/v1/admin/tenants",
        json={"name": f"eco-{uuid.uuid4().hex[:6]}"},
        headers={"Authorization": f"Bearer {operator_key}"},
        timeout=30,
    )
    r.raise_for_status()
    tenant = r.json()
    m = httpx.post(
        f"{url}/v1/keys",
        json={"name": "member", "role": "member"},
        headers={"Authorization": f"Bearer {tenant['admin_key']}"},
        timeout=30,
    )
    m.raise_for_status()
    return tenant["id"], tenant["admin_key"], m.json()["key"], m.json()["id"]


@pytest.fixture(scope="session")
def tenant_a(embedded_server) -> TenantKeys:  # type: ignore[no-untyped-def]
    from enclave_client import EnclaveClient

    tid, admin, member, member_id = _tenant(embedded_server.url, embedded_server.operator_key)
    with EnclaveClient(embedded_server.url, member) as client:
        doc = client.upload_file(DOCS / "fake-memo.pdf")[0]
        done = client.wait_until_ready([doc.id], timeout=300)
    assert done[doc.id].status == "ready", done[doc.id].error
    return TenantKeys(embedded_server.url, tid, admin, member, member_id, doc.id)


@pytest.fixture(scope="session")
def tenant_b(embedded_server) -> TenantKeys:  # type: ignore[no-untyped-def]
    tid, admin, member, member_id = _tenant(embedded_server.url, embedded_server.operator_key)
    return TenantKeys(embedded_server.url, tid, admin, member, member_id)


@pytest.fixture
def fresh_tenant(embedded_server) -> TenantKeys:  # type: ignore[no-untyped-def]
    """A tenant of its own for a test that loads documents, so tenant A keeps only the memo."""
    tid, admin, member, member_id = _tenant(embedded_server.url, embedded_server.operator_key)
    return TenantKeys(embedded_server.url, tid, admin, member, member_id)
