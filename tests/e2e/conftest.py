"""Browser fixtures for the web UI tests: one headless Chromium, and a fresh tenant to act in.

The server itself comes from the `embedded_server` fixture in tests/conftest.py (an
`enclave serve` subprocess with the bundled models and an operator key).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("ENCLAVE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class Tenant:
    """A tenant made for one test module, with helpers to mint keys in it."""

    url: str
    name: str
    admin_key: str

    def create_key(self, role: str, name: str | None = None) -> tuple[str, str]:
        """Returns (key id, secret) of a new key with this role."""
        response = httpx.post(
            f"{self.url}/v1/keys",
            json={"name": name or f"{role}-{uuid.uuid4().hex[:6]}", "role": role},
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        return body["id"], body["key"]

    def revoke_key(self, key_id: str) -> None:
        response = httpx.delete(
            f"{self.url}/v1/keys/{key_id}", headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30
        )
        assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
def web_tenant(embedded_server) -> Tenant:  # type: ignore[no-untyped-def]
    index = httpx.get(f"{embedded_server.url}/", timeout=30)
    if index.status_code != 200 or 'id="app"' not in index.text:
        pytest.fail("The gateway serves no web UI. Build it: cd web && npm ci && npm run build")
    name = f"Web UI {uuid.uuid4().hex[:6]}"
    response = httpx.post(
        f"{embedded_server.url}/v1/admin/tenants",
        json={"name": name},
        headers={"Authorization": f"Bearer {embedded_server.operator_key}"},
        timeout=30,
    )
    response.raise_for_status()
    return Tenant(url=embedded_server.url, name=name, admin_key=response.json()["admin_key"])


@pytest.fixture()
def context(browser):  # type: ignore[no-untyped-def]
    """A fresh browser profile per test, so no sessionStorage leaks between them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture()
def page(context):  # type: ignore[no-untyped-def]
    return context.new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
